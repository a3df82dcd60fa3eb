"""The operator's settings (environment variables or Streamlit secrets) and the server-wide resources they size: data
folders, the results folder, the analysis line, the webcam's rate and ICE servers."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import streamlit as st

from emodetect.app import roots
from emodetect.app.slots import AnalysisSlots
from emodetect.limits import (
    DEFAULT_MAX_ANALYSES,
    DEFAULT_WEBCAM_FPS,
    MAX_WEBCAM_FPS,
)
from emodetect.paths import default_data_dir

if TYPE_CHECKING:
    from emodetect.app.room import Room  # imports streamlit-webrtc: only the Webcam page needs it


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


@st.cache_resource
def webcam_room() -> Room:
    """The server's one frame budget for webcam streams, capped at `webcam_fps()` and shrinking while video
    analyses run (`emodetect.app.room`). Raises ValueError when the cap is malformed."""
    from emodetect.app.room import Room

    slots = analysis_slots()
    return Room(webcam_fps(), lambda: slots.state()[0])


def webcam_fps() -> int:
    """The most frames per second a webcam stream gets (a visitor alone on the server gets this many):
    $EMODETECT_WEBCAM_FPS (or the `webcam_fps` secret), by default `limits.DEFAULT_WEBCAM_FPS`. Raises
    ValueError (one line) when malformed."""
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
    the `ice_servers` secret, else none (enough on localhost; see `emodetect.app.live`).

    Raises ValueError (one line) when the setting is malformed.
    """
    from emodetect.app import live

    value = os.environ.get(live.ICE_SERVERS_ENV)
    if value is None and st.secrets.load_if_toml_exists():  # False (no error) without a secrets.toml
        value = st.secrets.get(live.ICE_SERVERS_SECRET)
    # An explicit empty list: with None, streamlit-webrtc would fetch public STUN/TURN servers itself.
    return {"iceServers": live.parse_ice_servers(value)}
