"""Batch results page: browse what `python -m emodetect batch` wrote, read-only, from the operator's results root."""

import streamlit as st

from emodetect.app import batch_results, charts, page, settings, video_page
from emodetect.app.roots import REFUSAL, NotAvailable
from emodetect.labels import EMOTIONS
from emodetect.video import SMOOTH_PREFIX

BATCH_PARAM = "batch"  # ?batch=NAME in the page's URL picks a batch, so links can share it

page.setup_page("Batch results")
st.title("Batch results")
st.write("The results of `python -m emodetect batch` kept on this server: each clip's share of time per emotion, "
         "a clip's timeline, and the files that could not be analysed. This page only reads them.")

root = settings.results_root()
if root is None:
    st.info("No results folder is configured. The operator sets EMODETECT_RESULTS (or `results_root` in "
            ".streamlit/secrets.toml) to a folder of batch outputs (`--out`).")
    st.stop()
names = batch_results.batch_folders(root)
if BATCH_PARAM in st.query_params and st.query_params[BATCH_PARAM] not in names:
    st.error(REFUSAL)  # the same words whatever was asked: nothing about what exists
if not names:
    st.info("No batch results here yet: run `python -m emodetect batch INPUT --out FOLDER` with FOLDER inside the "
            "results folder.")
    st.stop()
if "batch_choice" not in st.session_state or st.session_state["batch_choice"] not in names:
    asked = st.query_params.get(BATCH_PARAM)
    st.session_state["batch_choice"] = asked if asked in names else names[0]
name = st.selectbox("Batch", names, key="batch_choice",
                    help="The batch outputs in the results folder the operator configured.")
st.query_params[BATCH_PARAM] = name
try:
    folder = batch_results.batch_folder(root, name)
except NotAvailable:  # removed since the list was made
    st.error(REFUSAL)
    st.stop()
view = batch_results.batch_results(str(folder), batch_results.results_stamp(folder))
if view.counts is None:
    st.info("This batch has not finished (it is running, or it was stopped): rerun the same command to finish it.")
    st.stop()

counts = view.counts
for column, (label, value) in zip(st.columns(5), [("Files", counts["files"]), ("Clips", counts["clips"]),
                                                  ("Photos", counts["photos"]), ("Done", counts["done"]),
                                                  ("Failed", counts["failed"])]):
    column.metric(label, value)

st.subheader("Summary")
st.caption("One row per clip and face, and per photo and face (file names shown as written).")
st.dataframe(view.summary, hide_index=True)
st.download_button("Download summary.csv", view.summary_csv, file_name="summary.csv", mime="text/csv")

faces = batch_results.clip_faces(view.summary)
if len(faces):
    st.subheader("Share of time per emotion")
    st.plotly_chart(charts.emotion_shares(faces["label"].tolist(), faces[list(EMOTIONS)].to_numpy()))

    st.subheader("A clip's timeline")
    clip = st.selectbox("Clip", sorted(faces["file"].unique()))
    try:
        tracks = video_page.face_tracks(batch_results.batch_timeline(folder, clip))
    except NotAvailable:
        st.error(REFUSAL)
        st.stop()
    for face_id, track in tracks.items():
        st.text(f"{clip}, face {face_id}")
        st.plotly_chart(charts.emotion_timeline(track["time_s"], track[[SMOOTH_PREFIX + e for e in EMOTIONS]]),
                        key=f"timeline-{face_id}")

st.subheader("Files that could not be analysed")
if view.errors.empty:
    st.text("None: every file was analysed.")
else:
    st.dataframe(view.errors, hide_index=True)
