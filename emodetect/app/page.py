"""The page list, each page's set-up, and visitor text shown as plain text: what every page does first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator


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


def smoothing_slider(where: DeltaGenerator) -> float:
    """The Video and Webcam pages' "Smoothing (seconds)" control, starting at `video.Tracker`'s default."""
    from emodetect.video import Tracker

    return float(where.slider("Smoothing (seconds)", min_value=0.0, max_value=3.0, value=Tracker.smoothing_s, step=0.1,
                              help="Averages each face's emotions over about this much time, so single-frame "
                                   "flickers do not dominate. 0 turns smoothing off."))
