"""Reading images from files or uploaded bytes into RGB uint8 arrays, upright.

Pillow handles what people actually upload: EXIF-rotated phone photos, RGBA
and palette PNGs, 16-bit and grayscale PNGs, CMYK JPEGs, WebP, BMP and GIF.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from emodetect.errors import InputError
from emodetect.limits import MAX_IMAGE_PIXELS

Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, with our own message


# How the formats we read begin: a file that starts like one but fails to decode is damaged, not "not an image".
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM", b"II*\0", b"MM\0*")


def read_image(source: str | os.PathLike | bytes, name: str | None = None) -> np.ndarray:
    """Decode an image file (path or bytes) to an upright RGB uint8 H×W×3 array.

    Raises `InputError` with a one-sentence reason naming the file for anything
    that is not a readable image within `MAX_IMAGE_PIXELS`; the size is checked
    from the header, before any pixel is decoded.
    """
    if isinstance(source, bytes | bytearray):
        name = name or "upload"
        data = bytes(source)
    else:
        path = Path(source)
        name = name or path.name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"{name} does not exist") from None
        except IsADirectoryError:
            raise InputError(f"{name} is a folder, not an image") from None
        except OSError as e:
            raise InputError(f"{name} cannot be read ({e.strerror})") from None
    if not data:
        raise InputError(f"{name} is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
            _check_pixels(name, *image.size)
            image.load()
            image = ImageOps.exif_transpose(image)
            return to_rgb(image)
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        if isinstance(e, UnidentifiedImageError) and not _looks_like_image(data):
            raise InputError(f"{name} is not an image file") from None
        raise InputError(f"{name} is damaged or incomplete, so it cannot be decoded") from None


def _looks_like_image(data: bytes) -> bool:
    return data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _check_pixels(name: str, width: int, height: int) -> None:
    """The decompression-bomb guard: refuse more than MAX_IMAGE_PIXELS, saying what the limit is."""
    if width * height > MAX_IMAGE_PIXELS:
        raise InputError(f"{name} is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
                         f"pictures up to {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels can be analysed")


def to_rgb(image: Image.Image) -> np.ndarray:
    """Any Pillow mode → RGB uint8; transparency is composited over white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if array.max() > 255 else 255.0
        gray = np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode == "F":
        gray = np.clip(np.asarray(image), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(image.convert("RGB"))


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An array from the API (H×W gray, H×W×3 RGB or H×W×4 RGBA, uint8) → RGB uint8 H×W×3."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise InputError(f"images must be uint8 arrays, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = to_rgb(Image.fromarray(image, "RGBA"))
    elif image.ndim == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif not (image.ndim == 3 and image.shape[2] == 3):
        raise InputError(f"images must be H×W, H×W×3 or H×W×4, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError("the image is empty (0 pixels)")
    _check_pixels("the image", image.shape[1], image.shape[0])
    return np.ascontiguousarray(image)
