"""Every case of tests/corpus.py through the three doors: the Python API, the CLI and the pages.

A bad input is refused at each door with the same one-sentence `InputError`
message naming the file (CLI: exit 2 and one `error:` line; page: one
`st.error`, with the session's earlier result still shown); an odd but good
one works with the right number of faces, upright. The last test writes the
case × door table to test-output/corpus_table.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from emodetect import cli
from emodetect.app import image_page, video_page
from emodetect.detector import EmotionDetector
from emodetect.errors import InputError
from emodetect.imageio import read_image
from emodetect.limits import MAX_FACES, MAX_UPLOAD_MB
from emodetect.paths import PROJECT_DIR
from emodetect.video import analyze_video
from tests import corpus
from tests.corpus import CASES, IMAGE_CASES, VIDEO_CASES, Case
from tests.markdown_text import shown

IMAGE_PAGE = PROJECT_DIR / "pages" / "1_Image.py"
VIDEO_PAGE = PROJECT_DIR / "pages" / "2_Video.py"
EXPLORER = PROJECT_DIR / "pages" / "4_Dataset_explorer.py"
TABLE = PROJECT_DIR / "test-output" / "corpus_table.md"
DOORS = ("API", "CLI", "page")

# case name → door → (outcome in a few words, the refusal message or None); filled by the tests, read by the table
OUTCOMES: dict[str, dict[str, tuple[str, str | None]]] = {}


def ids(cases: list[Case]) -> list[str]:
    return [case.name for case in cases]


def record(case: Case, door: str, outcome: str, message: str | None = None) -> None:
    OUTCOMES.setdefault(case.name, {})[door] = outcome, message


def assert_refusal(case: Case, message: str) -> None:
    """One sentence on one line, naming the file first, with the case's phrase."""
    assert case.error is not None, f"{case.name} should work but was refused: {message}"
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"{case.name} "), message
    assert case.error in message, message


def faces_text(count: int) -> str:
    return f"{count} face{'' if count == 1 else 's'}"


@pytest.fixture(scope="module")
def made(media_dir, tmp_path_factory) -> dict[str, Path]:
    """Every case's file, written once for the module (outside the project)."""
    folder = tmp_path_factory.mktemp("corpus")
    return {case.name: case.make(folder) for case in CASES}


@pytest.fixture(scope="module")
def detectors() -> dict[str, EmotionDetector]:
    return {"image": EmotionDetector.load(), "video": EmotionDetector.load(preset="video")}


# --- door 1: the Python API ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_api(case, made, detectors):
    path = made[case.name]
    start = time.perf_counter()
    try:
        if case.kind == "image":
            result = read_image(path)
            faces = len(detectors["image"].detect(result))
        else:
            result = analyze_video(path, detectors["video"])
            faces = len(result.face_ids)
    except InputError as e:
        record(case, "API", "InputError", str(e))
        assert_refusal(case, str(e))
        assert time.perf_counter() - start < 2.0  # refused from the header, before any real decoding
        return
    record(case, "API", faces_text(faces))
    assert case.error is None, f"{case.name} should be refused ({case.error}) but gave {faces_text(faces)}"
    assert faces == case.faces
    if case.check is not None:
        case.check(result)


# --- door 2: the command line ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_cli(case, made, capsys, tmp_path):
    """`python -m emodetect image|video ...`, run in-process (test_cli_subprocess runs the real thing)."""
    csv = tmp_path / "timeline.csv"
    argv = ["image", str(made[case.name])] if case.kind == "image" else ["video", str(made[case.name]), "--csv",
                                                                          str(csv)]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    if code == 2:
        message = err.removeprefix("error: ").removesuffix("\n")
        record(case, "CLI", "exit 2, one line", message)
        assert err == f"error: {message}\n" and not out
        assert_refusal(case, message)
        assert not csv.exists()
        return
    found = sum(line.startswith("face ") for line in out.splitlines())
    limit_note = "note: Only the" in out
    record(case, "CLI", f"exit {code}, {faces_text(found)}" + (" + limit note" if limit_note else ""))
    assert code == 0 and case.error is None, (code, err)
    assert found == case.faces
    assert limit_note == (case.faces == MAX_FACES)
    if case.kind == "video":
        assert len(pd.read_csv(csv)) >= 1


def test_cli_subprocess_refuses_with_one_line_and_no_traceback(made, tmp_path):
    """The real `python -m emodetect`, both commands at once."""
    runs = {name: subprocess.Popen([sys.executable, "-m", "emodetect", command, str(made[name]), *extra],
                                   cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name, command, extra in [("bomb.png", "image", []),
                                         ("voice_memo.mp4", "video", ["--csv", str(tmp_path / "t.csv")])]}
    for name, process in runs.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 2 and not out
        assert err.count("\n") == 1 and err.startswith(f"error: {name} ") and "Traceback" not in err


# --- door 3: the pages ---------------------------------------------------------------------------------------
# One visitor's session per page for all its cases, as someone trying file after file: a refused file must
# leave what the page showed before exactly as it was.

def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, data, "application/octet-stream"))
    return run(at)


def analyse(at: AppTest, name: str, data: bytes) -> AppTest:
    upload(at, name, data).button[0].click()
    return run(at)


def bar_charts(at: AppTest) -> int:
    """The probability charts on the image page, one per face."""
    return sum(json.loads(chart.proto.spec)["data"][0]["type"] == "bar" for chart in at.get("plotly_chart"))


def image_results(at: AppTest) -> tuple:
    return [h.value for h in at.subheader], bar_charts(at), [m.value for m in at.markdown if "**Face" in m.value]


def video_results(at: AppTest) -> tuple:
    return [h.value for h in at.subheader], at.dataframe[0].value.to_dict() if at.dataframe else None


@pytest.fixture(scope="module")
def image_session() -> AppTest:
    at = run(AppTest.from_file(IMAGE_PAGE, default_timeout=120))
    return upload(at, "smiling_man.jpg", corpus.media_bytes("smiling_man.jpg"))


@pytest.fixture(scope="module")
def good_clip(tmp_path_factory) -> Path:
    """Ten frames of the smiling man."""
    path = tmp_path_factory.mktemp("good") / "good.mp4"
    corpus.face_clip(path)
    return path


@pytest.fixture(scope="module")
def video_session(good_clip) -> AppTest:
    return analyse(run(AppTest.from_file(VIDEO_PAGE, default_timeout=120)), "good.mp4", good_clip.read_bytes())


@pytest.mark.parametrize("case", IMAGE_CASES, ids=ids(IMAGE_CASES))
def test_image_page(case, made, image_session):
    at = image_session
    assert Path(case.name).suffix in at.file_uploader[0].allowed_type  # a browser would send it
    before = image_results(at)
    upload(at, case.name, made[case.name].read_bytes())
    if at.error:
        (message,) = [shown(e.value) for e in at.error]
        record(case, "page", "st.error, earlier picture kept", message)
        assert_refusal(case, message)
        assert image_results(at) == before
        assert any(shown(c.value).endswith(", the last picture that could be read.") for c in at.caption)
        return
    warnings = [w.value for w in at.warning]
    record(case, "page", image_page.faces_found(bar_charts(at)) + (" + limit warning" if warnings else ""))
    assert case.error is None
    assert [h.value for h in at.subheader] == [image_page.faces_found(case.faces)] and bar_charts(at) == case.faces
    assert warnings == ([f"Only the {MAX_FACES} largest faces are analysed in each picture or frame; smaller ones "
                         "may be left out."] if case.faces == MAX_FACES else [])


@pytest.mark.parametrize("case", VIDEO_CASES, ids=ids(VIDEO_CASES))
def test_video_page(case, made, video_session, tmp_path, monkeypatch):
    """Either way, the page's temporary folder is gone afterwards."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the page's temporary folder goes
    at = video_session
    assert Path(case.name).suffix in at.file_uploader[0].allowed_type
    before = video_results(at)
    analyse(at, case.name, made[case.name].read_bytes())
    assert not list(tmp_path.iterdir())  # the upload and the outputs were removed
    if at.error:
        (message,) = [shown(e.value) for e in at.error]
        record(case, "page", "st.error, earlier analysis kept", message)
        assert_refusal(case, message)
        assert video_results(at) == before
        return
    tracks = len(at.dataframe[0].value) if at.dataframe else 0
    record(case, "page", f"results, {faces_text(tracks)}")
    assert case.error is None
    assert [shown(h.value) for h in at.subheader] == [f"Results: {case.name}"]
    assert tracks == case.faces
    assert bool(at.warning) == (case.faces == 0)  # "No face was found in this clip"
    assert at.download_button[0].label == "Download timeline (CSV)"


def test_after_a_refusal_the_image_page_still_works(made):
    at = run(AppTest.from_file(IMAGE_PAGE, default_timeout=120))
    upload(at, "smiling_man.jpg", corpus.media_bytes("smiling_man.jpg"))
    upload(at, "half.jpg", made["half.jpg"].read_bytes())
    assert "Below: smiling_man.jpg, the last picture that could be read." in [shown(c.value) for c in at.caption]
    at.radio[0].set_value("3 valences")
    run(at)
    assert len(at.error) == 1 and "positive" in at.get("plotly_chart")[0].proto.spec
    upload(at, "cmyk.jpg", made["cmyk.jpg"].read_bytes())
    assert not at.error and [h.value for h in at.subheader] == ["1 face found"]


def test_after_a_refusal_the_video_page_still_works(made, good_clip):
    at = analyse(run(AppTest.from_file(VIDEO_PAGE, default_timeout=120)), "good.mp4", good_clip.read_bytes())
    analyse(at, "voice_memo.mp4", made["voice_memo.mp4"].read_bytes())
    assert len(at.error) == 1 and [shown(h.value) for h in at.subheader] == ["Results: good.mp4"]
    at.slider[0].set_value(1.0)  # settings move without recomputing; the earlier results stay
    run(at)
    assert not at.error and [shown(h.value) for h in at.subheader] == ["Results: good.mp4"]
    analyse(at, "vfr.mp4", made["vfr.mp4"].read_bytes())
    assert not at.error and [shown(h.value) for h in at.subheader] == ["Results: vfr.mp4"]
    assert any("smoothing 1 s" in c.value for c in at.caption)


# --- limits ------------------------------------------------------------------------------------------------------

def test_uploaders_enforce_the_upload_limit():
    """Streamlit refuses larger files in the browser with "File must be 200MB or smaller" and shows the limit
    under each uploader; both get it from limits.py (.streamlit/config.toml agrees, see test_repo)."""
    for page in (IMAGE_PAGE, VIDEO_PAGE):
        at = run(AppTest.from_file(page, default_timeout=120))
        assert at.file_uploader[0].proto.max_upload_size_mb == MAX_UPLOAD_MB


def test_faces_per_frame_limit_is_shown_on_the_video_page(media_dir, tmp_path, monkeypatch):
    """A clip of six faces analysed with a limit of three: three per frame, and the page says why."""
    clip = tmp_path / "six.mp4"
    corpus.write_clip(clip, [np.asarray(corpus.face_grid(6, 3))] * 3)
    monkeypatch.setattr(video_page, "VIDEO_MAX_FACES", 3)
    at = run(AppTest.from_file(VIDEO_PAGE, default_timeout=120))
    analyse(at, "six.mp4", clip.read_bytes())
    assert not at.error and len(at.dataframe[0].value) == 3
    assert [w.value for w in at.warning] == ["Only the 3 largest faces are analysed in each picture or frame; "
                                             "smaller ones may be left out."]


# --- the dataset explorer's data ---------------------------------------------------------------------------------

def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize(("layout", "phrase"), [
    ("holiday photos", "no split folders"),
    ("photos by year", "no class folders"),
    ("notes.txt", "missing column"),
    ("archive.zip", "not a FER-2013 folder or CSV"),
    ("absent", "no such file or folder"),
])
def test_explorer_data_that_is_not_fer2013_is_only_read(made, tmp_path, monkeypatch, layout, phrase):
    """Whatever the operator pointed it at, the card stays, one error names the copy (never its server
    path), and nothing there is written."""
    target = tmp_path / layout
    if layout == "holiday photos":
        target.mkdir()
        for name in ("photo.webp", "cmyk.jpg", "faces_30.jpg"):
            (target / name).write_bytes(made[name].read_bytes())
    elif layout == "photos by year":
        (target / "2023").mkdir(parents=True)
        (target / "2023" / "beach.jpg").write_bytes(made["exif_6.jpg"].read_bytes())
    elif layout == "notes.txt":
        target.write_text("shopping list\neggs\n")
    elif layout == "archive.zip":
        target.write_bytes(corpus.zip_of("smiling_man.jpg"))
    monkeypatch.setenv("EMODETECT_DATA", str(target))
    before = snapshot(tmp_path)
    at = run(AppTest.from_file(EXPLORER, default_timeout=120))
    (message,) = [shown(e.value) for e in at.error]
    assert message.startswith(target.name) and phrase in message and "\n" not in message
    assert str(tmp_path) not in message
    assert at.get("plotly_chart")  # the model card part is still there
    assert snapshot(tmp_path) == before


# --- the table ---------------------------------------------------------------------------------------------------

def test_every_door_says_the_same_and_the_table_is_written():
    """One message per refused case, whichever door; writes test-output/corpus_table.md."""
    for name, doors in OUTCOMES.items():
        messages = {message for _, message in doors.values() if message is not None}
        assert len(messages) <= 1, (name, messages)
    rows = ["| case | input | expected | " + " | ".join(DOORS) + " | message |", "|---" * (len(DOORS) + 4) + "|"]
    for case in CASES:
        doors = OUTCOMES.get(case.name, {})
        cells = [doors[door][0] if door in doors else "not run" for door in DOORS]
        message = next((m for _, m in doors.values() if m is not None), "")
        rows.append(f"| `{case.name}` | {case.what} | {case.expected} | " + " | ".join(cells) + f" | {message} |")
    TABLE.parent.mkdir(exist_ok=True)
    TABLE.write_text(f"# Bad and odd inputs × doors ({len(CASES)} cases)\n\n"
                     "Written by `python -m pytest tests/test_corpus.py`; the cases are in `tests/corpus.py`.\n\n"
                     + "\n".join(rows) + "\n")
