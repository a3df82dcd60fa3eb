"""CNN architectures by name. `build(name)` returns an uncompiled Keras model
taking float32 N×48×48×1 in [0, 1] and returning N×7 softmax probabilities.

Keras is imported by the builders, not here, so the command line can list the
architectures without loading TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from emodetect.labels import EMOTIONS
from emodetect.preprocess import INPUT_SIZE

if TYPE_CHECKING:
    from emodetect._tensorflow import keras

INPUT_SHAPE = (INPUT_SIZE, INPUT_SIZE, 1)


def seed() -> keras.Model:
    """The reference CNN of the founding report, layer for layer (../shared/seed_cnn.md)."""
    keras, layers = _keras()
    inputs = keras.Input(INPUT_SHAPE)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    for filters, kernel in [(64, 3), (128, 5)] + [(512, 3)] * 5:
        x = layers.Conv2D(filters, kernel, padding="same", activation="relu")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(2, padding="same")(x)
        x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    for units in (256, 512, 512, 512, 512):
        x = layers.Dense(units, activation="relu", kernel_initializer="he_normal")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Dropout(0.25)(x)
    outputs = layers.Dense(len(EMOTIONS), activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="seed")


def resnet(widths: tuple[int, ...] = (32, 64, 128, 256), blocks: int = 2, dropout: float = 0.3,
           name: str = "resnet") -> keras.Model:
    """A ResNet-18-style net for 48×48 faces: a 3×3 stem at full resolution (no
    early downsampling, the faces are already small), then one stage per width
    of `blocks` basic residual blocks, halving the resolution between stages."""
    keras, layers = _keras()
    inputs = keras.Input(INPUT_SHAPE)
    x = _conv_bn_relu(inputs, widths[0], 3)
    for stage, width in enumerate(widths):
        for block in range(blocks):
            x = _basic_block(x, width, stride=2 if stage > 0 and block == 0 else 1)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(len(EMOTIONS), activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def average(members: Sequence[keras.Model], name: str) -> keras.Model:
    """Trained models as one: the mean of their probabilities (an ensemble that ships as one file)."""
    keras, layers = _keras()
    inputs = keras.Input(INPUT_SHAPE)
    outputs = layers.Average(dtype="float32")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name=name)


def divide_logits(model: keras.Model, temperature: float) -> None:
    """Make `model` (an ensemble's members included) answer softmax(logits / temperature), in place, by
    scaling the weights of its softmax layers: a calibrated model that stays plain layers, costs
    nothing more to run, and gives calibrated answers wherever its file goes (the app, a student)."""
    keras, _ = _keras()
    found = False
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.Dense) and layer.get_config()["activation"] == "softmax":
            layer.set_weights([w / temperature for w in layer.get_weights()])
            found = True
    if not found:
        raise ValueError(f"{model.name} has no softmax layer to calibrate")


def _all_layers(model: keras.Model) -> list:
    """Every layer of `model`, inside nested models too."""
    return [inner for layer in model.layers
            for inner in ([layer] if not hasattr(layer, "layers") else _all_layers(layer))]


def _keras():
    from emodetect._tensorflow import keras

    return keras, keras.layers


def _conv_bn_relu(x, filters: int, kernel: int, stride: int = 1):
    _, layers = _keras()
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                      kernel_initializer="he_normal")(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def _basic_block(x, filters: int, stride: int):
    _, layers = _keras()
    shortcut = x
    y = _conv_bn_relu(x, filters, 3, stride)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(y)
    y = layers.BatchNormalization(gamma_initializer="zeros")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, kernel_initializer="he_normal")(x)
        shortcut = layers.BatchNormalization()(shortcut)
    return layers.ReLU()(layers.Add()([y, shortcut]))


ARCHITECTURES: dict[str, Callable[[], keras.Model]] = {
    "seed": seed,
    "resnet": resnet,
    "resnet_narrow": lambda: resnet(widths=(16, 32, 64, 128), name="resnet_narrow"),
}
DEFAULT_ARCH = "resnet_narrow"
DEFAULT_EPOCHS = 50


def build(name: str = DEFAULT_ARCH) -> keras.Model:
    """Build a fresh, uncompiled model by architecture name."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; choose from {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name]()
