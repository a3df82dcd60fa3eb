"""Video page: the emotions of each face in a clip, over time, with the annotated clip to watch and download."""

import time
from pathlib import Path

import streamlit as st

from emodetect.app import charts, model, page, settings, video_page
from emodetect.app.samples import sample_videos
from emodetect.detector import face_limit_note
from emodetect.errors import InputError
from emodetect.labels import EMOTIONS
from emodetect.limits import MAX_UPLOAD_MB, MAX_VIDEO_SECONDS, duration_text
from emodetect.video import SMOOTH_PREFIX

VIDEO_TYPES = ["mp4", "mov", "avi", "mkv", "webm"]
RESULT = "video_result"  # session-state key of the last successful analysis
CANCELLED = "video_left_line"  # session-state key: the visitor pressed Cancel while waiting for a slot
EVERY_FRAME, PER_SECOND = "Every frame", "Frames per second"

page.setup_page("Video")
st.title("Emotions in a video")
st.write("Upload a short clip (or pick a sample) and press **Analyse**: every face is followed through the clip "
         "and its emotions are charted over time.")
labels = model.reading_picker(st, key="video-reading")
st.caption(model.door_caption("video", labels))

samples = sample_videos()
upload_col, sample_col = st.columns([2, 1]) if samples else (st.container(), None)
upload = upload_col.file_uploader(f"Upload a clip (up to {duration_text(MAX_VIDEO_SECONDS)})",
                                  type=VIDEO_TYPES, max_upload_size=MAX_UPLOAD_MB)
sample = None
if sample_col is not None:
    sample = sample_col.selectbox("…or try a sample clip", list(samples), index=None,
                                  placeholder="Choose a sample clip",
                                  help="An uploaded clip is analysed instead while there is one.")

sampling_col, fps_col, smoothing_col = st.columns(3)
sampling = sampling_col.radio("Frames to analyse", [EVERY_FRAME, PER_SECOND], horizontal=True,
                              help="Analysing a few frames per second finishes much sooner on long clips.")
fps = fps_col.number_input(PER_SECOND, min_value=1, max_value=30, value=5, disabled=sampling == EVERY_FRAME)
smoothing = page.smoothing_slider(smoothing_col)

if upload is not None:
    name, data, path = upload.name, upload.getvalue(), None
elif sample is not None:
    name, data, path = samples[sample].name, None, samples[sample]
else:
    name = None
start = st.button("Analyse", type="primary", disabled=name is None)
if name is None and RESULT not in st.session_state:
    st.info("Upload a clip or choose a sample clip, then press Analyse.")

if st.session_state.pop(CANCELLED, False):
    st.info("You left the line; press Analyse to try again.")
if start:
    slot = st.empty()
    slots = settings.analysis_slots()

    waiting_ui = {}  # drawn on the first wait only (widget keys are unique): the place in line, a Cancel button

    def leave_line() -> None:
        st.session_state[CANCELLED] = True

    def show_place(ahead: int) -> None:
        if not waiting_ui:
            with slot.container():
                waiting_ui["place"] = st.empty()
                st.button("Cancel", key="leave-line", on_click=leave_line,
                          help="Leave the line; nothing has been analysed yet.")
        waiting_ui["place"].info(settings.waiting_text(ahead, slots.slots))

    last_shown = [0.0]

    try:
        with slots.slot(waiting=show_place):
            bar = slot.progress(0.0, text="Opening the clip…")

            def show_progress(done: int, total: int, elapsed: float) -> None:
                """Move the bar at most a few times a second: every update is a message to the browser."""
                if done == total or time.monotonic() - last_shown[0] > 0.25:
                    last_shown[0] = time.monotonic()
                    bar.progress(min(1.0, done / total), text=video_page.progress_text(done, total, elapsed))

            st.session_state[RESULT] = video_page.analyse_clip(
                name, data=data, path=path, fps=None if sampling == EVERY_FRAME else float(fps),
                smoothing_s=smoothing, progress=show_progress, labels=labels)
    except InputError as e:
        st.error(page.plain(str(e), quoted=Path(name).name))
    finally:
        slot.empty()

result: video_page.VideoResult | None = st.session_state.get(RESULT)
if result is None:
    st.stop()

analysis, info = result.analysis, result.analysis.info
st.subheader(f"Results: {page.plain(result.name)}")
st.caption(f"{duration_text(info.duration_s)}, {info.width}×{info.height} at {info.fps:.3g} fps; "
           f"{analysis.frames_analyzed} frames analysed ({result.settings}) in "
           f"{duration_text(analysis.seconds)}.")

if note := face_limit_note(analysis.most_faces_in_a_frame, result.max_faces):
    st.warning(note)
tracks = video_page.face_tracks(analysis.timeline)
if not tracks:
    st.warning("No face was found in this clip. The detector looks for real, roughly frontal human faces; "
               "faces seen from the side, very small or in the dark are often missed.")
else:
    face_ids = list(tracks)
    face = face_ids[0]
    if len(face_ids) > 1:
        face = st.selectbox("Face", face_ids, format_func=lambda i: f"Face {i}",
                            help="Faces are numbered in the order they first appear, as in the annotated clip.")
    track = tracks[face]
    st.plotly_chart(charts.emotion_timeline(track["time_s"], track[[SMOOTH_PREFIX + e for e in EMOTIONS]],
                                            title=f"Face {face}: emotions over time"), key="timeline")
    times = next(iter(tracks.values()))["time_s"]
    st.plotly_chart(charts.dominant_strip(times, {f"Face {i}": t["smooth_label"] for i, t in tracks.items()}),
                    key="dominant", config={"displayModeBar": False})
    st.caption("Top: each emotion's probability (smoothed). Bottom: the most likely emotion of each face over "
               "time; blank while the face is not seen.")

    st.markdown("**Share of time per emotion**")
    st.dataframe(analysis.summary(), hide_index=True, column_config={
        "face_id": st.column_config.NumberColumn("Face", format="%d"),
        "frames": st.column_config.NumberColumn("Frames", format="%d", help="Analysed frames showing this face."),
        "first_s": st.column_config.NumberColumn("From (s)", format="%.1f"),
        "last_s": st.column_config.NumberColumn("To (s)", format="%.1f"),
        **{e: st.column_config.ProgressColumn(e, format="percent", min_value=0.0, max_value=1.0) for e in EMOTIONS},
        "dominant": st.column_config.TextColumn("Most of the time"),
    })

video_col, download_col = st.columns([3, 1])
if result.mp4:
    video_col.video(result.mp4, format="video/mp4")
stem = Path(result.name).stem
download_col.download_button("Download timeline (CSV)", data=result.csv, file_name=f"{stem}_emotions.csv",
                             mime="text/csv", on_click="ignore",
                             help="One row per analysed frame and face: box, raw and smoothed probabilities.")
if result.mp4:
    download_col.download_button("Download annotated clip (MP4)", data=result.mp4,
                                 file_name=f"{stem}_emotions.mp4", mime="video/mp4", on_click="ignore")
