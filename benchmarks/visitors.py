"""Many visitors at once on one server: some analysing a clip on the Video page, some on the Webcam page.

Every analysis must complete with one row per frame and no page may show an exception; the webcams must
keep receiving annotated frames while the analyses run (the server limits analyses running at once,
`EMODETECT_MAX_ANALYSES`, and the others wait in line). Reports each webcam's frames analysed per
second during the analyses, each analysis's wall time, and the server's peak memory. Loopback only,
bounded by the browser waits (EMODETECT_BROWSER_TIMEOUT_S each). tests/test_concurrency.py runs
`visit` with 2 + 2 sessions on the 15 s clip in CI; this script runs 4 + 4 on a 1-minute clip:

    python -m benchmarks.visitors [--analyses 4] [--webcams 4] [--seconds 60] [--per-second]   (project root)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from emodetect.labels import EMOTIONS
from emodetect.paths import PROJECT_DIR
from tests.browser_support import (
    OUTPUT,
    TIMEOUT_MS,
    AppServer,
    app_server,
    assert_no_error,
    frames_analysed,
    launch_chromium,
    new_page,
    parent_pids,
    screenshot,
    start_webcam,
    wait_for_live_chart,
    wait_for_live_face,
    wait_idle,
    webcam_streaming,
    write_looped_clip,
    write_y4m,
)

MEDIA = PROJECT_DIR.parent / "shared" / "data" / "media"


@dataclass
class Visit:
    """What the sessions saw: per webcam, frames analysed and seconds over the analyses, and whether its
    stream was still live when the last analysis ended; per analysis, its timeline (from the page's CSV
    download) and wall seconds from Analyse to its results."""

    webcam_started: list[bool] = field(default_factory=list)
    webcam_frames: list[int] = field(default_factory=list)
    webcam_live: list[bool] = field(default_factory=list)
    webcam_seconds: float = 0.0
    timelines: list[pd.DataFrame] = field(default_factory=list)
    analysis_seconds: list[float] = field(default_factory=list)
    webcam_rates: list[tuple[str, str, str]] = field(default_factory=list)  # the rate line before, during, after
    peak_rss_mb: float = 0.0
    server_log: str = ""

    def webcam_fps(self) -> list[float]:
        return [frames / self.webcam_seconds for frames in self.webcam_frames]


def visit(server: AppServer, browser: Any, camera_browser: Any, clip: Path, analyses: int, webcams: int,
          shots: str = "visitors", per_second: bool = False) -> Visit:
    """Open `webcams` Webcam sessions (streaming) and `analyses` Video sessions, press Analyse on every
    Video page at once (every frame, or with `per_second` the page's default frames per second), wait
    for every result; AssertionError if a page shows an error or a live webcam lost its face. A webcam
    that never starts is recorded as such (`webcam_started`) and left out of the rest."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect

    log_start = server.log.stat().st_size
    cams = [new_page(camera_browser) for _ in range(webcams)]  # one fake camera, a context each: own sessions
    videos = [new_page(browser) for _ in range(analyses)]
    result = Visit()
    try:
        for page, path in zip(cams + videos, ["Webcam"] * webcams + ["Video"] * analyses):
            page.goto(f"{server.url}/{path}")  # all at once, so first loads of the detectors overlap too
        for page in cams + videos:
            wait_idle(page)
        for page in cams:
            result.webcam_started.append(_started(page, start_webcam, PlaywrightError))
        result.webcam_started = [started and _started(page, wait_for_live_face, PlaywrightError)
                                 for page, started in zip(cams, result.webcam_started)]
        for page in videos:
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(clip)
            expect(page.get_by_role("button", name="Analyse", exact=True)).to_be_enabled(timeout=TIMEOUT_MS)
            if per_second:
                page.locator('[data-testid="stRadio"]').get_by_text("Frames per second").click()
            wait_idle(page)

        frames_before = [frames_analysed(page) or 0 for page in cams]
        rates_before = [_rate_line(page) for page in cams]
        started = time.monotonic()
        for page in videos:
            page.get_by_role("button", name="Analyse", exact=True).click()
        done: dict[int, float] = {}  # page index → seconds from the clicks to its results, in whatever order
        rates_during = [""] * len(cams)  # each page's rate line once it counted an analysis
        while len(done) < len(videos):
            if time.monotonic() - started > TIMEOUT_MS / 1000 * len(videos):
                raise AssertionError(f"analyses unfinished after {time.monotonic() - started:.0f} s: "
                                     f"{len(done)} of {len(videos)} done; see {screenshot(videos[0], shots)}")
            for i, page in enumerate(videos):
                if i not in done and page.get_by_text(f"Results: {clip.name}").count():
                    done[i] = time.monotonic() - started
            for i, page in enumerate(cams):
                if result.webcam_started[i] and "video analys" not in rates_during[i]:
                    rates_during[i] = _rate_line(page)
            result.peak_rss_mb = max(result.peak_rss_mb, _rss_mb_with_children(server.pid))
            videos[0].wait_for_timeout(250)
        result.analysis_seconds = [done[i] for i in range(len(videos))]
        result.webcam_seconds = time.monotonic() - started
        result.webcam_frames = [(frames_analysed(page) or 0) - before for page, before in zip(cams, frames_before)]
        result.webcam_live = [started and webcam_streaming(page) for page, started in zip(cams, result.webcam_started)]
        result.webcam_rates = [(before, during, _rate_line(page))
                               for page, before, during in zip(cams, rates_before, rates_during)]

        for i, (page, live) in enumerate(zip(cams, result.webcam_live), 1):
            if live:  # an ended stream is reported as such, not waited on
                assert wait_for_live_face(page)["Faces"] == "1", f"webcam {i} lost the face"
                chart = wait_for_live_chart(page)
                assert [t["name"] for t in chart] == list(EMOTIONS), f"webcam {i}: {chart}"
                assert all(t["y"] > 0 for t in chart), f"webcam {i}: a chart line without a face: {chart}"
            assert_no_error(page)
            screenshot(page, f"{shots}-webcam-{i}")
        for i, page in enumerate(videos, 1):
            wait_idle(page)
            assert_no_error(page)
            with page.expect_download() as download:
                page.get_by_role("button", name="Download timeline (CSV)").click()
            result.timelines.append(pd.read_csv(download.value.path()))
            screenshot(page, f"{shots}-video-{i}")
        result.peak_rss_mb = max(result.peak_rss_mb, _peak_rss_mb(server.pid))
        with server.log.open("rb") as log:
            log.seek(log_start)
            result.server_log = log.read().decode(errors="replace")
        return result
    finally:
        for page in cams + videos:
            page.context.close()


def _started(page: Any, wait: Any, errors: type[Exception]) -> bool:
    """`wait(page)` (START pressed, a face named), False if it timed out or failed instead."""
    try:
        wait(page)
    except (AssertionError, errors):
        return False
    return True


def _rate_line(page: Any) -> str:
    """The Webcam page's line on the frame rate the visitor gets ("" if not shown)."""
    return page.evaluate(r"() => (document.body.innerText.match(/The server analyses up to [^\n]*/) || [''])[0]")


def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    return _status_mb(pid, "VmHWM")


def _rss_mb_with_children(pid: int) -> float:
    """The resident memory now of the server and its children (the analysis processes), in MiB."""
    total = _status_mb(pid, "VmRSS")
    for child in [child for child, parent in parent_pids().items() if parent == pid]:
        try:
            total += _status_mb(child, "VmRSS")
        except (FileNotFoundError, ProcessLookupError, RuntimeError):
            pass  # it ended in the meantime
    return total


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"process {pid} reports no {field}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--analyses", type=int, default=4)
    parser.add_argument("--webcams", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60, help="length of the analysed clip")
    parser.add_argument("--per-second", action="store_true",
                        help="analyse the page's default frames per second, not every frame (for slow machines)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with (tempfile.TemporaryDirectory(prefix="visitors-") as tmp,
          app_server(OUTPUT / "visitors-server.log") as server,
          sync_playwright() as playwright):
        clip = write_looped_clip(MEDIA / "talking_woman.mp4", Path(tmp) / f"talking_{args.seconds:g}s.mp4",
                                 args.seconds)
        browser = launch_chromium(playwright)
        camera_browser = launch_chromium(playwright, camera=write_y4m(MEDIA / "talking_woman.mp4",
                                                                      Path(tmp) / "camera.y4m"))
        alone = visit(server, browser, camera_browser, clip, 1, 0, shots="visitors-alone", per_second=args.per_second)
        seen = visit(server, browser, camera_browser, clip, args.analyses, args.webcams, per_second=args.per_second)
    frames = {len(t) for t in seen.timelines}
    alone_s = alone.analysis_seconds[0]
    bound = 1.5 * args.analyses * alone_s
    print(f"{args.analyses} analyses of a {args.seconds:g} s clip and {args.webcams} webcams at once, one server "
          f"on this machine, loopback only; first one analysis alone on the same server\n")
    print("| session | what | result |")
    print("|---|---|---|")
    how = "5 frames per second" if args.per_second else "every frame"
    print(f"| video alone | analysis, {how}, nothing else running | {len(alone.timelines[0])} rows, "
          f"done after {alone_s:.1f} s |")
    for i, seconds in enumerate(seen.analysis_seconds, 1):
        print(f"| video {i} | analysis, {how} | {len(seen.timelines[i - 1])} rows, done after {seconds:.1f} s |")
    for i, (started, fps, live, (before, during, after)) in enumerate(
            zip(seen.webcam_started, seen.webcam_fps(), seen.webcam_live, seen.webcam_rates), 1):
        if not started:
            print(f"| webcam {i} | stream | never started (no face named within {TIMEOUT_MS / 1000:.0f} s of START) |")
            continue
        print(f"| webcam {i} | frames analysed while the analyses ran | {fps:.1f} per second, stream "
              f"{'still live' if live else 'ended'} at the end; the page said before: \"{before}\" "
              f"during: \"{during}\" after: \"{after}\" |")
    last = max(seen.analysis_seconds)
    print(f"\nLast analysis done after {last:.1f} s: {last / (args.analyses * alone_s):.2f} × {args.analyses} "
          f"analyses alone ({'within' if last <= bound else 'over'} the 1.5 × bound, {bound:.0f} s). "
          f"Streams started: {sum(seen.webcam_started)} of {args.webcams}; live at the end: "
          f"{sum(seen.webcam_live)}. Server peak memory (its VmHWM, or with its analysis process every 0.25 s if "
          f"more): {seen.peak_rss_mb:,.0f} MiB. Rows per analysis: {sorted(frames)}. "
          f"Tracebacks in the server log: {seen.server_log.count('Traceback')}.")


if __name__ == "__main__":
    main()
