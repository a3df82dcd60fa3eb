"""Webcam page: live emotions from the visitor's camera, over WebRTC (streamlit-webrtc).

The browser streams its camera to this server. `callback` runs on a WebRTC worker thread, draws
on each frame it gets and hands a small record to the page through a queue; the page reads the
queue once a second (`live.REFRESH_S`) to update the chart. How many frames per second a stream
gets follows the server's load (`emodetect.app.room`). ICE servers: see `emodetect.app.live`.
"""

import queue
import time

import av
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from emodetect.app import charts, consent, live, model, page, room, settings

CHART_POINTS = 150  # per line: 30 s at 5 fps; more only makes each refresh heavier

page.setup_page("Webcam")
st.title("Live emotions from your webcam")
st.write("Click **START** and allow the camera. Each face gets a box and its most likely emotion, smoothed "
         f"over time; the chart follows the largest face over the last {live.WINDOW_S:.0f} seconds. Frames are "
         "analysed on the server and never stored.")
st.caption(model.door_caption("webcam"))

try:
    rtc_configuration = settings.rtc_configuration()
    server_room = settings.webcam_room()
except ValueError as e:
    st.error(str(e))
    st.stop()

live.quiet_frame_drops()
consent.use_rfc7675_consent()  # a browser that answers late keeps its stream
room.use_room(server_room)
if "webcam_records" not in st.session_state:
    st.session_state.webcam_records = live.new_queue()
    st.session_state.webcam_analyser = live.FrameAnalyser(model.webcam_detector())
    st.session_state.webcam_stats = live.LiveStats()
    st.session_state.webcam_playing = False
    st.session_state.webcam_stream = None  # the last stream's room.Stream: its rate, and how it ended
    st.session_state.webcam_camera_fps = server_room.cap
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


if not st.session_state.webcam_playing:  # the camera is opened at the rate a new stream gets now
    st.session_state.webcam_camera_fps = server_room.rate_for_new_stream()
# "Start again" after a dropped stream: the component is told to play (to stop first, if it still thinks it plays).
restart = st.session_state.pop("webcam_restart", None)
if restart == "stop":
    st.session_state.webcam_restart = "start"  # once the component has stopped, it reruns the page: start then
video_col, panel_col = st.columns(2, gap="large")
with video_col:
    ctx = webrtc_streamer(
        key="webcam",
        mode=WebRtcMode.SENDRECV,
        video_frame_callback=callback,
        media_stream_constraints=live.camera_constraints(st.session_state.webcam_camera_fps),
        async_processing=True,
        rtc_configuration=rtc_configuration,
        desired_playing_state={"start": True, "stop": False}.get(restart),
    )
    analyser.smoothing_s = page.smoothing_slider(st)
playing = ctx.state.playing
if playing and not st.session_state.webcam_playing:  # a new stream: start the chart afresh
    stats.drain(records)
    stats.clear()
st.session_state.webcam_playing = playing
stream = getattr(ctx.output_video_track, "stream", None)
if stream is not None and stream is not st.session_state.webcam_stream:
    script = get_script_run_ctx()
    stream.session = script.session_id if script else ""
    st.session_state.webcam_stream = stream


def ended_notice(stream: room.Stream | None) -> bool:
    """Say why a stream the visitor did not stop has ended, with one click to start again; True if it has."""
    if stream is None or not stream.dropped or (playing and stream.ended is None):
        return False
    st.warning(f"Your video stream ended: nothing came from your browser for {stream.silent_s:.0f} s (the network "
               "dropped, or the browser stopped answering, as a sleeping laptop does).")
    if st.button("Start again", type="primary"):
        st.session_state.webcam_restart = "stop" if playing else "start"
        st.session_state.webcam_stream = None
        st.rerun()  # the whole page, so the component below gets the new state
    return True


@st.fragment(run_every=live.REFRESH_S if playing else None)
def live_panel() -> None:
    """The numbers and the chart, refreshed from the queue without rerunning the page (or the video)."""
    stats.drain(records)
    if ended_notice(st.session_state.webcam_stream):
        return
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
    stream = st.session_state.webcam_stream
    if playing and stream is not None:
        st.caption(rate_text(stream))


def rate_text(stream: room.Stream) -> str:
    """What frame rate the visitor gets and why: "The server analyses up to 15 of the 30 frames per second your
    camera sends; it shares its cores with 3 other webcams. Alone on it, a stream gets 30." """
    camera, rate = stream.received_fps(), server_room.rate()
    line = (f"The server analyses up to {min(rate, camera):.0f} of the {camera:.0f} frames per second your "
            f"camera sends; it shares its cores with {server_room.load_text()}.")
    if rate < server_room.cap:
        line += f" Alone on it, a stream gets {server_room.cap}."
    if stream.silent_s >= room.STALL_S:
        line += f" Nothing has come from your browser for {stream.silent_s:.0f} s."
    return line


with panel_col:
    live_panel()
