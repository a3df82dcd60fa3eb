"""Webcam page: live emotions from the visitor's camera, over WebRTC (streamlit-webrtc).

The browser streams its camera to this server. `callback` runs on a WebRTC worker thread, draws
on each frame it gets and hands a small record to the page through a queue; the page reads the
queue once a second (`live.REFRESH_S`) to update the chart. ICE servers: see `emodetect.app.live`.
"""

import queue
import time

import av
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from emodetect.app import charts, consent, live, model, page, settings

CHART_POINTS = 150  # per line: 30 s at 5 fps; more only makes each refresh heavier

page.setup_page("Webcam")
st.title("Live emotions from your webcam")
st.write("Click **START** and allow the camera. Each face gets a box and its most likely emotion, smoothed "
         f"over time; the chart follows the largest face over the last {live.WINDOW_S:.0f} seconds. Frames are "
         "analysed on the server and never stored.")
st.caption(model.door_caption("webcam"))

try:
    rtc_configuration = settings.rtc_configuration()
    camera_fps = settings.webcam_fps()
except ValueError as e:
    st.error(str(e))
    st.stop()

live.quiet_frame_drops()
consent.use_rfc7675_consent()  # a browser that answers late keeps its stream
if "webcam_records" not in st.session_state:
    st.session_state.webcam_records = live.new_queue()
    st.session_state.webcam_analyser = live.FrameAnalyser(model.webcam_detector())
    st.session_state.webcam_stats = live.LiveStats()
    st.session_state.webcam_playing = False
records: queue.Queue[live.LiveRecord] = st.session_state.webcam_records
stats: live.LiveStats = st.session_state.webcam_stats
analyser: live.FrameAnalyser = st.session_state.webcam_analyser


def callback(frame: av.VideoFrame) -> av.VideoFrame:
    """Analyse, draw and report one frame. Runs on a WebRTC worker thread, so no `st.*` calls here.

    With async_processing, streamlit-webrtc gives it only the newest frame and skips those that
    arrived meanwhile, so a slow frame never makes the video lag.
    """
    live.yield_to_network()  # the network loop that carries every stream comes first
    start = time.perf_counter()
    image = frame.to_ndarray(format="rgb24")
    now = time.time()
    faces = analyser(image, now)
    out = av.VideoFrame.from_ndarray(image, format="rgb24")
    live.offer(records, live.LiveRecord.from_faces(faces, now, (time.perf_counter() - start) * 1000))
    return out


video_col, panel_col = st.columns(2, gap="large")
with video_col:
    ctx = webrtc_streamer(
        key="webcam",
        mode=WebRtcMode.SENDRECV,
        video_frame_callback=callback,
        media_stream_constraints=live.camera_constraints(camera_fps),
        async_processing=True,
        rtc_configuration=rtc_configuration,
    )
    analyser.smoothing_s = page.smoothing_slider(st)
playing = ctx.state.playing
if playing and not st.session_state.webcam_playing:  # a new stream: start the chart afresh
    stats.drain(records)
    stats.clear()
st.session_state.webcam_playing = playing


@st.fragment(run_every=live.REFRESH_S if playing else None)
def live_panel() -> None:
    """The numbers and the chart, refreshed from the queue without rerunning the page (or the video)."""
    stats.drain(records)
    latest = stats.latest
    if latest is None:
        if playing:
            st.caption("Waiting for the first frames…")
        else:
            st.info("Click START to begin. Nothing is sent until you do.")
        return
    now = time.time() if playing else None
    emotion_col, faces_col, fps_col = st.columns([3, 2, 3])  # room for "surprise" and "Processing FPS"
    emotion_col.metric("Emotion", latest.labels[0] if latest.labels else "no face",
                       help="The largest face's most likely emotion in the latest analysed frame, after smoothing.")
    faces_col.metric("Faces", len(latest.labels))
    fps_col.metric("Processing FPS", f"{stats.fps(now):.1f}",
                   help="Frames analysed per second over the last few seconds. Frames that arrive while the "
                        "server is busy are skipped, so the video stays live.")
    st.plotly_chart(charts.live_emotions(stats.window(now, max_rows=CHART_POINTS), live.WINDOW_S), key="live-emotions",
                    config={"displayModeBar": False})
    st.caption(f"{stats.mean_ms(now):.0f} ms per analysed frame · {stats.frames:,} frames analysed"
               + ("" if playing else " · stopped"))


with panel_col:
    live_panel()
