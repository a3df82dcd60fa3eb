"""What the Streamlit pages share: page set-up, the cached model, the model card and cached results.

Pages only arrange widgets; everything they cache or compute lives here, once.
The model is loaded only when a page first asks for it, so the home page (which
reads the card alone) opens quickly; serving the app never imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pandas as pd
import streamlit as st

from emodetect import roots
from emodetect.data import (
    DatasetError,
    FerPlus,
    Split,
    ferplus_for,
    load_csv_bytes,
    load_fer2013,
    load_ferplus_votes,
    votes_text,
)
from emodetect.imageio import read_image
from emodetect.labels import DEFAULT_READING, EMOTIONS, READINGS
from emodetect.limits import (
    DEFAULT_MAX_ANALYSES,
    DEFAULT_WEBCAM_FPS,
    MAX_FACES,
    MAX_VIDEO_SECONDS,
    MAX_WEBCAM_FPS,
    duration_text,
)
from emodetect.paths import FERPLUS_VOTES, MODEL_CARD, default_data_dir
from emodetect.slots import AnalysisSlots

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from emodetect.detector import EmotionDetector, FaceResult
    from emodetect.video import Progress, VideoAnalysis


@dataclass(frozen=True)
class Page:
    file: str  # relative to the project root
    title: str  # in the sidebar and the tab
    icon: str  # Material Symbols: shipped with Streamlit, unlike emoji fonts
    about: str  # on the home page


PAGES = [
    Page("pages/0_Home.py", "Home", ":material/home:", "What the demo does and how good the model is."),
    Page("pages/1_Image.py", "Image", ":material/image:",
         "Upload a photo or pick a sample: every face is boxed and labelled, with a chart of its probabilities. "
         "Switch between 7 emotions and 3 valences, see what the model looked at in each face; download the picture "
         "and the results."),
    Page("pages/2_Video.py", "Video", ":material/movie:",
         "Upload a short clip and follow the emotions of each face over time."),
    Page("pages/3_Webcam.py", "Webcam", ":material/videocam:", "Live emotions from your camera, in the browser."),
    Page("pages/4_Dataset_explorer.py", "Dataset explorer", ":material/bar_chart:",
         "How the model was trained and how it does on FER-2013: class balance, confusion matrices, per-class scores, "
         "training curves and calibration. Point it at your copy of FER-2013 to see the faces themselves."),
    Page("pages/5_Batch_results.py", "Batch results", ":material/table_chart:",
         "Browse the results of `python -m emodetect batch` that the operator keeps on the server: each clip's share "
         "of time per emotion, one clip's timeline, and the files that could not be analysed."),
]


def setup_page(title: str) -> None:
    """The same tab title, icon and wide layout on every page (must be a page's first Streamlit call).

    A page URL opened before the server has run app.py once (a tab reloaded after a restart) finds
    Streamlit still in its `pages/`-folder mode, which runs the page alone under a sidebar of its own
    (listing app.py as "app"). Leaving that mode and rerunning sends the visit through app.py's
    `st.navigation`, which serves the same page (same URL, same page hash) with the app's sidebar.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False  # what st.navigation itself does once app.py has run
        st.rerun()
    st.set_page_config(page_title=f"{title} · emodetect", page_icon="🙂", layout="wide")


# ASCII punctuation: CommonMark lets a backslash make each of these a literal character.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text: str, quoted: str | None = None) -> str:
    """Markdown that Streamlit shows as exactly `text`: for every title, caption, alert or label that
    carries a visitor's words (a file name, a CSV's name, an error quoting either).

    Streamlit renders those as Markdown with HTML, LaTeX, emoji, colour directives and bare-URL links.
    The visitor's words go in a code span, the one construct nothing inside is interpreted in (a
    backslash escape still leaves `http://…` to become a link): all of `text` by default, or each
    occurrence of `quoted` in a message of ours, whose own words are backslash-escaped.
    """
    if quoted is None:
        return _code_span(text)
    if not quoted:
        return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    return _code_span(quoted).join(_MARKDOWN_PUNCTUATION.sub(r"\\\1", part) for part in text.split(quoted))


def _code_span(text: str) -> str:
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    # CommonMark drops one space from each end of a span whose content starts and ends with one.
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text.replace(chr(10), ' ')}{pad}{fence}"


def setting(env_name: str, secret_name: str) -> str | list | None:
    """An operator's setting: the environment variable if set, else the entry in .streamlit/secrets.toml."""
    value = os.environ.get(env_name)
    if value is None and st.secrets.load_if_toml_exists():  # False (no error) without a secrets.toml
        value = st.secrets.get(secret_name)
    return value


def data_roots() -> list[roots.Root]:
    """The FER-2013 copies (folders or CSV files) the explorer may read: $EMODETECT_DATA and the
    `data_roots` secret; with neither, the shared copy beside the project."""
    paths = roots.split_setting(os.environ.get("EMODETECT_DATA"))
    if st.secrets.load_if_toml_exists():
        paths += roots.split_setting(st.secrets.get("data_roots"))
    return roots.roots_from(paths or [default_data_dir()])


def results_root() -> roots.Root | None:
    """The folder of batch outputs the Batch results page may read ($EMODETECT_RESULTS or the
    `results_root` secret), or None when the operator configured none."""
    paths = roots.split_setting(setting("EMODETECT_RESULTS", "results_root"))
    return roots.roots_from(paths[:1])[0] if paths else None


@st.cache_resource
def analysis_slots() -> AnalysisSlots:
    """The server's one line for video analyses: $EMODETECT_MAX_ANALYSES (or the `max_analyses` secret)
    at once, by default `limits.DEFAULT_MAX_ANALYSES`."""
    value = setting("EMODETECT_MAX_ANALYSES", "max_analyses")
    return AnalysisSlots(int(value) if value not in (None, "") else DEFAULT_MAX_ANALYSES)


def waiting_text(ahead: int, slots: int) -> str:
    """ "Waiting for a free slot: this server runs 1 analysis at a time; 2 are ahead of you." """
    at_once = f"{slots} analys{'i' if slots == 1 else 'e'}s at a time"
    line = "you are next" if ahead == 0 else f"{ahead} {'is' if ahead == 1 else 'are'} ahead of you"
    return f"Waiting for a free slot: this server runs {at_once}; {line}."


def smoothing_slider(where: DeltaGenerator) -> float:
    """The Video and Webcam pages' "Smoothing (seconds)" control, starting at `video.Tracker`'s default."""
    from emodetect.video import Tracker

    return float(where.slider("Smoothing (seconds)", min_value=0.0, max_value=3.0, value=Tracker.smoothing_s, step=0.1,
                              help="Averages each face's emotions over about this much time, so single-frame "
                                   "flickers do not dominate. 0 turns smoothing off."))


def model_card() -> dict:
    """The shipped model card (`models/model_card.json`), the only source of numbers about the models.

    Read with `json` alone: `evaluate.load_model_card` would import scikit-learn.
    """
    return json.loads(MODEL_CARD.read_text())


def reading_card(labels: str = DEFAULT_READING) -> dict:
    """The model card's part for the reading `labels` (`labels.READINGS`)."""
    return model_card()["readings"][labels]


READING_NAMES = {"ferplus": "Most people's reading", "fer2013": "FER-2013's label"}


def reading_picker(where: DeltaGenerator, key: str) -> str:
    """The one-click choice of reading on a page (the Image and Video pages, the explorer), starting at
    `labels.DEFAULT_READING`, each option said in plain words; returns its `labels.READINGS` key."""
    choice = where.segmented_control(
        "Reading", list(READINGS), default=DEFAULT_READING, key=key, format_func=READING_NAMES.get,
        help=" ".join(f"{READING_NAMES[r]}: {meaning}." for r, meaning in READINGS.items())
        + " Each is a model trained for that truth.")
    return choice or DEFAULT_READING  # a click on the chosen option clears it: keep a reading


def door_caption(door: str, labels: str = DEFAULT_READING) -> str:
    """Which classifier configuration this page (the door `door` of `detector.DOOR_VIEWS`) runs in the reading
    `labels`, and how it scores, from the model card: "Most people's reading (what most of 10 people would
    say), each face classified four ways (…): 82.1% of PrivateTest faces as most FER+ annotators chose them,
    62.0% as FER-2013 labels them; 69.2% of real photos right."""
    card, reading = model_card(), reading_card(labels)
    config = reading["doors"][door]
    on_votes = (f"{config['ferplus_accuracy']['PrivateTest']:.1%} of PrivateTest faces as most FER+ annotators "
                "chose them")
    on_labels = f"{config['accuracy']['PrivateTest']:.1%} as FER-2013 labels them"
    scores = f"{on_votes}, {on_labels}" if labels == "ferplus" else f"{on_labels}, {on_votes}"
    return (f"{READING_NAMES[labels]} ({reading['meaning']}), {card['tta_views'][config['views']]}: {scores}; "
            f"{reading['wild'][door]['accuracy']:.1%} of real photos right (model card).")


DOORS_TABLE_COLUMNS = {
    name: st.column_config.NumberColumn(name, format="percent", help=about) for name, about in (
        ("FER+ PrivateTest", "Share of PrivateTest faces given the emotion most of their 10 FER+ annotators chose."),
        ("FER-2013 PrivateTest", "Share of PrivateTest faces given their FER-2013 label."),
        ("Real photos: face found", "Share of the labelled real photos in which the door finds a face."),
        ("Real photos: right", "Share of the real photos whose largest face gets the photo's label (a miss is "
                               "wrong)."),
        ("Real photos: macro recall", "The share right in each emotion, averaged over emotions: rare ones count as "
                                      "much as happy."))
}


def doors_table(card: dict) -> pd.DataFrame:
    """Every door's scores in both readings against both truths and on the real photos, from the card."""
    rows = []
    for labels, reading in card["readings"].items():
        for door, config in reading["doors"].items():
            wild = reading["wild"][door]
            rows.append({"Reading": READING_NAMES[labels], "Door": door.capitalize(), "Views": config["views"],
                         "FER+ PrivateTest": config["ferplus_accuracy"]["PrivateTest"],
                         "FER-2013 PrivateTest": config["accuracy"]["PrivateTest"],
                         "Real photos: face found": wild["faces_found"], "Real photos: right": wild["accuracy"],
                         "Real photos: macro recall": wild["macro_recall"]})
    return pd.DataFrame(rows)


def doors_table_caption(card: dict) -> str:
    """What `doors_table`'s columns count, and why the default reading is the default."""
    default = card["default_reading"]
    other = next(r for r in card["readings"] if r != default)
    recall = {r: card["readings"][r]["wild"]["photo"]["macro_recall"] for r in (default, other)}
    reading = card["readings"][default]
    return (f"FER+: the {reading['ferplus']['faces']['PrivateTest']:,} PrivateTest faces whose 10 annotators "
            f"mostly chose one of the seven emotions; FER-2013: all "
            f"{sum(card['class_counts']['PrivateTest'].values()):,}. Real photos: {card['wild_photos']['photos']:,} "
            f"labelled photos of real people, never trained on; macro recall over "
            f"{', '.join(card['wild_photos']['macro_recall_over'])}. The app starts in "
            f"{READING_NAMES[default].lower()}: its macro recall on the real photos through the photo door is "
            f"{recall[default]:.1%}, against {recall[other]:.1%} for {READING_NAMES[other].lower()}.")


@st.cache_resource(show_spinner="Loading the emotion model…")
def detector(labels: str = DEFAULT_READING) -> EmotionDetector:
    """One photo detector per reading and server process, shared by all pages and sessions (it is thread-safe)."""
    from emodetect.detector import EmotionDetector

    return EmotionDetector.load(labels=labels)


@st.cache_resource(show_spinner="Loading the emotion model…")
def webcam_detector() -> EmotionDetector:
    """One fast detector (preset "webcam") per server process, shared by every webcam stream.

    The page fetches it on the script thread; the WebRTC worker threads then share it safely
    (the classifier is a tf.function and each thread gets its own LiteRT interpreter).
    """
    from emodetect.detector import EmotionDetector

    return EmotionDetector.load(preset="webcam")


def webcam_fps() -> int:
    """Frames per second the Webcam page asks each camera for: $EMODETECT_WEBCAM_FPS (or the `webcam_fps`
    secret), by default `limits.DEFAULT_WEBCAM_FPS`. Raises ValueError (one line) when malformed."""
    value = setting("EMODETECT_WEBCAM_FPS", "webcam_fps")
    if value in (None, ""):
        return DEFAULT_WEBCAM_FPS
    try:
        fps = int(value)
    except (TypeError, ValueError):
        fps = 0
    if not 1 <= fps <= MAX_WEBCAM_FPS:
        raise ValueError(f"EMODETECT_WEBCAM_FPS must be a whole number of frames per second from 1 to "
                         f"{MAX_WEBCAM_FPS}, not {value!r}")
    return fps


def rtc_configuration() -> dict:
    """The WebRTC configuration for streamlit-webrtc: ICE servers from $EMODETECT_ICE_SERVERS, else from
    the `ice_servers` secret, else none (enough on localhost; see `emodetect.live`).

    Raises ValueError (one line) when the setting is malformed.
    """
    from emodetect import live

    value = os.environ.get(live.ICE_SERVERS_ENV)
    if value is None and st.secrets.load_if_toml_exists():  # False (no error) without a secrets.toml
        value = st.secrets.get(live.ICE_SERVERS_SECRET)
    # An explicit empty list: with None, streamlit-webrtc would fetch public STUN/TURN servers itself.
    return {"iceServers": live.parse_ice_servers(value)}


@st.cache_data(max_entries=16, show_spinner="Finding faces…")
def detect_image(data: bytes, name: str, labels: str = DEFAULT_READING) -> tuple[np.ndarray, list[FaceResult]]:
    """Decode a picture and find its faces, once per file and reading: widget changes then cost nothing.

    Raises `InputError` (one sentence naming `name`) for anything that is not a usable image.
    """
    image = read_image(data, name=name)
    return image, detector(labels).detect(image)


def faces_found(count: int) -> str:
    """ "No face found", "1 face found", "6 faces found"."""
    if count == 0:
        return "No face found"
    return f"{count} face{'' if count == 1 else 's'} found"


# The widest picture Streamlit shows. It shrinks wider ones itself, but a thin strip then comes out
# 0 px high and st.image raises.
DISPLAY_WIDTH = 1460


def for_display(image: np.ndarray) -> np.ndarray:
    """The picture at most DISPLAY_WIDTH wide and at least 1 px high, for st.image."""
    h, w = image.shape[:2]
    if w <= DISPLAY_WIDTH:
        return image
    return cv2.resize(image, (DISPLAY_WIDTH, max(1, round(h * DISPLAY_WIDTH / w))), interpolation=cv2.INTER_AREA)


def to_png(image: np.ndarray) -> bytes:
    """An RGB uint8 image as PNG bytes, for download buttons."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("PNG encoding failed")
    return encoded.tobytes()


def results_json(name: str, image: np.ndarray, faces: Sequence[FaceResult], labels: str) -> str:
    """The detections of one picture as JSON text, the same document as `python -m emodetect image --json`."""
    from emodetect.detector import results_document

    return json.dumps(results_document(name, image, faces, labels), indent=2)


# Datasets are cached as resources, not as data: `cache_data` would copy their ~80 MB of images on
# every rerun. Nothing modifies the arrays.
@st.cache_resource(max_entries=2, show_spinner="Reading FER-2013…")
def dataset(label: str) -> dict[str, Split]:
    """The configured FER-2013 copy named `label` (`data_roots`), read once. Raises `NotAvailable` for
    any other name, and `DatasetError` with a one-line reason that names the copy, not its server path."""
    root = roots.by_label(data_roots(), label)
    try:
        return load_fer2013(root.path)
    except DatasetError as e:
        raise DatasetError(str(e).replace(str(root.path), label)) from None


def upload_key(data: bytes) -> str:
    """The cache key of an uploaded file's contents."""
    return "upload:" + hashlib.sha256(data).hexdigest()


@st.cache_resource(max_entries=2, show_spinner="Reading your CSV…")
def uploaded_dataset(key: str, name: str, _data: bytes) -> dict[str, Split]:
    """A visitor's `fer2013.csv`, read in memory once per contents (`key` from `upload_key`; the bytes
    themselves are not hashed again). Never written to disk."""
    return load_csv_bytes(_data, name)


@st.cache_data(max_entries=8, show_spinner="Classifying every face of the split…")
def split_probs(key: str, split: str, labels: str, _splits: dict[str, Split]) -> np.ndarray:
    """N×7 probabilities in the reading `labels` for one split of the dataset cached under `key` (a `data_roots`
    label or an `upload_key`), with the views the model was exported for: as the card's headline numbers
    score it."""
    from emodetect.classifier import recorded_views
    from emodetect.paths import lite_model

    return detector(labels).classifier.with_views(recorded_views(lite_model(labels))).predict(_splits[split].images)


def confident_mistakes(probs: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` wrongly classified faces with the highest top probability, most confident first."""
    wrong = np.flatnonzero(probs.argmax(axis=1) != labels)
    return wrong[np.argsort(-probs[wrong].max(axis=1), kind="stable")][:count]


@st.cache_data(max_entries=512, show_spinner="Working out what the model looked at…")
def relevance_overlay(crop: np.ndarray, emotion: str, labels: str = DEFAULT_READING) -> np.ndarray:
    """The uint8 48×48 `crop` tinted by its occlusion map for `emotion` (`explain.occlusion` on the networks of
    the reading `labels`, the face seen once as cropped, the blurred face as baseline): one model call per face,
    cached per face and emotion, so switching one face's emotion recomputes that face alone."""
    from emodetect import draw
    from emodetect.explain import occlusion
    from emodetect.preprocess import to_input

    # The face as cropped: what occlusion covers.
    one_view = detector(labels).classifier.with_views("plain").predict_inputs
    relevance = occlusion(to_input(crop[None]), one_view, target=EMOTIONS.index(emotion))
    return draw.relevance_overlay(crop, relevance[0])


@st.cache_resource(show_spinner="Reading the FER+ votes…")
def ferplus_votes() -> dict[str, dict[str, int]]:
    """The FER+ votes of the shared data (`data.load_ferplus_votes`), read once; empty where the file is absent."""
    return load_ferplus_votes(FERPLUS_VOTES) if FERPLUS_VOTES.is_file() else {}


def face_votes(key: str, split: Split, index: int) -> dict[str, int] | None:
    """One face's FER+ votes, most first, for the dataset cached under `key`; None where FER+ has none for it:
    only faces of a configured FER-2013 folder laid out like the shared copy have votes (not a CSV's rows)."""
    root = next((r.path for r in data_roots() if r.label == key), None)
    try:
        return ferplus_votes().get(Path(split.sources[index]).relative_to(root).as_posix()) if root else None
    except ValueError:  # not a file under the folder: a CSV's row
        return None


@st.cache_data(max_entries=8, show_spinner=False)
def split_ferplus(key: str, split: str, _splits: dict[str, Split]) -> FerPlus | None:
    """The FER+ annotators' distributions and pluralities for one split of the dataset cached under `key`
    (`data.ferplus_for`); None where no face of it has a plurality to score against."""
    root = next((r.path for r in data_roots() if r.label == key), None)
    if root is None:
        return None
    matched = ferplus_for(_splits[split], root, ferplus_votes())
    return matched if matched.scored.any() else None


def mistake_caption(split: Split, index: int, probs: np.ndarray, key: str) -> str:
    """ "sad → neutral 91% · FER+ votes: neutral 6, sad 3, angry 1" under one mistake's map (`face_votes`)."""
    caption = f"{EMOTIONS[split.labels[index]]} → {EMOTIONS[int(probs.argmax())]} {probs.max():.0%}"
    votes = face_votes(key, split, index)
    return f"{caption} · FER+ votes: {votes_text(votes)}" if votes else caption


@dataclass(frozen=True)
class VideoResult:
    """One analysed clip, all in memory: the video page keeps it in st.session_state and no file outlives the run."""

    name: str
    settings: str  # how it was analysed, in words
    analysis: VideoAnalysis
    csv: str  # the timeline, as `VideoAnalysis.to_csv` writes it
    mp4: bytes  # the annotated clip, H.264 MP4
    max_faces: int  # faces classified per frame (the largest); the page says so when a frame had more


VIDEO_MAX_FACES = MAX_FACES  # what `analyse_clip` analyses per frame


def analyse_clip(name: str, smoothing_s: float, data: bytes | None = None, path: Path | None = None,
                 fps: float | None = None, progress: Progress | None = None,
                 labels: str = DEFAULT_READING) -> VideoResult:
    """Analyse an uploaded clip (`data`) or a file on disk (`path`) in a process of its own
    (`emodetect.video_process`: the webcam streams of this server keep their share of the cores).

    The upload and the outputs live in a temporary folder removed on return, so
    the server keeps nothing on disk. A file that is not a video, or a clip over
    MAX_VIDEO_SECONDS, raises `InputError` before any frame is analysed.
    """
    from emodetect.video_process import analyze_video_apart

    with tempfile.TemporaryDirectory(prefix="emodetect-video-") as tmp:
        folder = Path(tmp)
        if path is None:
            if data is None:
                raise ValueError("give the clip's bytes or its path")
            file_name = Path(name).name  # errors name the file as the visitor knows it
            path = folder / (file_name if file_name not in ("", ".", "..") else "clip")
            path.write_bytes(data)
        annotated = folder / "annotated.mp4"
        analysis = analyze_video_apart(path, fps=fps, smoothing_s=smoothing_s, annotated_path=annotated,
                                       progress=progress, max_seconds=MAX_VIDEO_SECONDS, max_faces=VIDEO_MAX_FACES,
                                       labels=labels)
        csv = analysis.csv_text()
        mp4 = annotated.read_bytes() if annotated.is_file() else b""
    sampling = "every frame" if fps is None else f"{fps:g} frames per second"
    smoothing = f"smoothing {smoothing_s:g} s" if smoothing_s > 0 else "no smoothing"
    reading = READING_NAMES[labels].lower()
    return VideoResult(name, f"{sampling}, {smoothing}, {reading}", dataclasses.replace(analysis, annotated_path=None),
                       csv, mp4, VIDEO_MAX_FACES)


def progress_text(done: int, total: int, elapsed: float) -> str:
    """ "57 / 115 frames · about 4 s left", estimated from the pace so far."""
    left = elapsed / done * max(0, total - done) if done else 0.0
    return f"{done} / {total} frames · about {duration_text(left)} left"


def face_tracks(timeline: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """Per face id, one row per analysed frame, empty (NaN) where that face is not seen.

    Charts then show gaps while a face is away instead of drawing lines across them.
    """
    frames = timeline.drop_duplicates("frame")[["frame", "time_s"]]
    faces = timeline.dropna(subset=["face_id"])
    return {int(face_id): frames.merge(rows.drop(columns="time_s"), on="frame", how="left")
            for face_id, rows in faces.groupby("face_id")}


# --- batch results (read-only: the server never runs a batch) -------------------------------------------------

def batch_folders(root: roots.Root) -> list[str]:
    """The batch outputs under the results root (folders holding a batch.json), as relative paths; none that
    a symlink leads out of the root."""
    return roots.folders_inside(root.path, "batch.json") if root.path.is_dir() else []


def batch_folder(root: roots.Root, name: str) -> Path:
    """The batch output `name` (a visitor's pick, or ?batch= in the page's URL) as a folder under the root;
    `NotAvailable` for anything that is not one of `batch_folders(root)`, whatever the reason."""
    if name not in batch_folders(root):
        raise roots.NotAvailable
    return roots.inside(root.path, name)


def results_stamp(folder: Path) -> float:
    """When the folder's results last changed (the newest unit record or batch.json), to key the cache."""
    records = [folder / "batch.json", *(folder / "units").rglob("*.json")]
    return max((p.stat().st_mtime for p in records if p.is_file()), default=0.0)


@dataclass(frozen=True)
class BatchView:
    """What the Batch results page shows of one batch folder."""

    counts: dict | None  # files, clips, photos, done, failed, ignored; None while the batch has not finished
    summary: pd.DataFrame  # summary.csv
    errors: pd.DataFrame  # errors.csv: file, reason
    summary_csv: bytes  # for the download button


@st.cache_data(max_entries=8, show_spinner="Reading the batch results…")
def batch_results(folder: str, stamp: float) -> BatchView:
    """A batch folder's tables, read once per folder and `results_stamp` (a resumed batch is read again)."""
    folder_path = Path(folder)
    counts = json.loads((folder_path / "batch.json").read_text()).get("counts")
    if counts is None or not (folder_path / "summary.csv").is_file():
        return BatchView(None, pd.DataFrame(), pd.DataFrame(), b"")
    summary_csv = (folder_path / "summary.csv").read_bytes()
    return BatchView(counts, pd.read_csv(folder_path / "summary.csv", keep_default_na=False, na_values=[""]),
                     pd.read_csv(folder_path / "errors.csv", keep_default_na=False, na_values=[""]), summary_csv)


def clip_faces(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary's clip rows with a face, labelled "file · face N", for the shares chart."""
    faces = summary[(summary["kind"] == "clip") & summary["face_id"].notna()].copy()
    faces["label"] = [f"{file} · face {int(i)}" for file, i in zip(faces["file"], faces["face_id"])]
    return faces


def batch_timeline(folder: Path, source: str) -> pd.DataFrame:
    """A clip's timeline from a batch folder; `NotAvailable` if `source` leads out of its timelines."""
    from emodetect.batch import timeline_path

    path = timeline_path(folder, source).resolve()
    if not path.is_relative_to(folder / "timelines") or not path.is_file():
        raise roots.NotAvailable
    return pd.read_csv(path)
