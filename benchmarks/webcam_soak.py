"""Webcam soak: one viewer streaming for many minutes. Does the server keep up, and does its memory stay flat?

Starts the app as the browser tests do (tests/browser_support.py: 127.0.0.1, a free port, stopped by
PID), opens the Webcam page in Debian's Chromium with a fake camera playing talking_woman.mp4, presses
START, and every `--every` seconds records the frames the callback has analysed (the panel's
"N frames analysed", counted on the server since START) and the server process's RSS. Prints a table
and the verdict: the last RSS sample within 10% of the one at minute 2 (after warm-up), and at least
`MIN_FPS` frames analysed per second in every interval (the camera sends 30; a visitor alone gets them
all). Exit status 1 when either fails. Not a test and not in CI: run it on a quiet machine.

    python -m benchmarks.webcam_soak [--minutes 10] [--every 30]     (from the project root)
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

from emodetect.paths import PROJECT_DIR
from tests.browser_support import (
    OUTPUT,
    app_server,
    frames_analysed,
    launch_chromium,
    new_page,
    open_page,
    start_webcam,
    wait_for_live_face,
    write_y4m,
)

CLIP = PROJECT_DIR.parent / "shared" / "data" / "media" / "talking_woman.mp4"
BASELINE_S = 120.0  # memory is compared with this sample: by then the models, caches and codecs are warm
TOLERANCE = 0.10
MIN_FPS = 24.0  # frames analysed per second in every interval, of the camera's 30


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MiB (psutil when installed, else /proc/PID/status)."""
    try:
        import psutil
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"process {pid} reports no VmRSS") from None
    return psutil.Process(pid).memory_info().rss / 2**20


def soak(minutes: float, every_s: float) -> list[tuple[float, int, float, float]]:
    """Stream for `minutes`; one (seconds since the first face, frames analysed, fps since last sample, RSS MiB) per
    sample."""
    from playwright.sync_api import sync_playwright

    samples: list[tuple[float, int, float, float]] = []
    with (tempfile.TemporaryDirectory(prefix="webcam-soak-") as tmp,
          app_server(OUTPUT / "webcam-soak-server.log") as server,
          sync_playwright() as playwright):
        browser = launch_chromium(playwright, camera=write_y4m(CLIP, Path(tmp) / "camera.y4m"))
        try:
            page = new_page(browser)
            open_page(page, server.url, "Webcam")
            start_webcam(page)
            wait_for_live_face(page)
            start = time.monotonic()
            print(f"server PID {server.pid}, log {server.log}; sampling every {every_s:g} s for {minutes:g} min")
            print(f"{'time':>6}  {'frames':>8}  {'fps':>6}  {'RSS MB':>8}", flush=True)
            last_t, last_frames = 0.0, frames_analysed(page) or 0
            for k in range(1, math.floor(minutes * 60 / every_s) + 1):
                page.wait_for_timeout(max(0.0, start + k * every_s - time.monotonic()) * 1000)
                t, frames, rss = time.monotonic() - start, frames_analysed(page) or 0, rss_mb(server.pid)
                fps = (frames - last_frames) / (t - last_t)
                samples.append((t, frames, fps, rss))
                print(f"{_clock(t):>6}  {frames:>8,}  {fps:>6.1f}  {rss:>8.0f}", flush=True)
                last_t, last_frames = t, frames
        finally:
            browser.close()
    return samples


def verdict(samples: list[tuple[float, int, float, float]]) -> tuple[bool | None, str]:
    """(passed, one line): the last RSS against the sample at minute 2; None when the run was too short."""
    baseline = next((s for s in samples if s[0] >= BASELINE_S - 1), None)
    if baseline is None or baseline is samples[-1]:
        return None, f"too short to judge: needs samples at and after {_clock(BASELINE_S)}"
    growth = samples[-1][3] / baseline[3] - 1
    passed = abs(growth) <= TOLERANCE
    return passed, (f"{'PASS' if passed else 'FAIL'}: RSS {samples[-1][3]:.0f} MB at {_clock(samples[-1][0])} vs "
                    f"{baseline[3]:.0f} MB at {_clock(baseline[0])} ({growth:+.1%}; limit ±{TOLERANCE:.0%})")


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to stream (default 10)")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples (default 30)")
    args = parser.parse_args(argv)
    samples = soak(args.minutes, args.every)
    slow = [s for s in samples if s[2] < MIN_FPS]
    print(f"{'FAIL' if slow else 'PASS'}: {len(slow)} of {len(samples)} intervals under {MIN_FPS:g} frames analysed "
          f"per second (slowest {min(s[2] for s in samples):.1f})")
    passed, line = verdict(samples)
    print(line)
    return 1 if passed is False or slow else 0


if __name__ == "__main__":
    sys.exit(main())
