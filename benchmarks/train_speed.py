"""Training throughput (images/s) per architecture and precision on this machine.

Each configuration runs in a fresh process (the Keras precision policy is
global), trains 4 warm-up steps, then times 40 steps on random inputs (12 steps
varied by up to 2x between runs here).

    python -m benchmarks.train_speed [--arch seed resnet_narrow ...]     (from the project root)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from emodetect.paths import PROJECT_DIR
from emodetect.training.models import ARCHITECTURES

_ONE = """
import json, sys, time
import numpy as np
from emodetect._tensorflow import keras
from emodetect.training import models
arch, policy, batch, jit = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
keras.mixed_precision.set_global_policy(policy)
model = models.build(arch)
model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="categorical_crossentropy",
              jit_compile={"on": True, "off": False}[jit])
warmup, timed = 4, 40
x = np.random.default_rng(0).random((batch * (warmup + timed), 48, 48, 1), dtype=np.float32)
y = keras.utils.to_categorical(np.arange(batch * (warmup + timed)) % 7, 7)
model.fit(x[: batch * warmup], y[: batch * warmup], batch_size=batch, verbose=0)
start = time.perf_counter()
model.fit(x[batch * warmup:], y[batch * warmup:], batch_size=batch, verbose=0)
print(json.dumps({"images_per_s": batch * timed / (time.perf_counter() - start), "params": model.count_params()}))
"""


def measure(arch: str, policy: str, batch: int, jit: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _ONE, arch, policy, str(batch), jit], cwd=PROJECT_DIR,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", nargs="+", default=sorted(ARCHITECTURES))
    parser.add_argument("--policy", nargs="+", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--xla", nargs="+", default=["off", "on"], choices=["off", "on"],
                        help="Keras jit_compile (XLA) off and/or on")
    args = parser.parse_args()
    print("| architecture | parameters | precision | XLA | batch | training images/s | s per FER-2013 epoch |")
    print("|---|---|---|---|---|---|---|")
    for arch in args.arch:
        for policy in args.policy:
            for jit in args.xla:
                r = measure(arch, policy, args.batch, jit)
                print(f"| {arch} | {r['params']:,} | {policy} | {jit} | {args.batch} | {r['images_per_s']:.0f} | "
                      f"{28709 / r['images_per_s']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
