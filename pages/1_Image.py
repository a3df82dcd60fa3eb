"""Image page: every face in one photo, boxed and labelled, with its probabilities."""

from pathlib import Path

import streamlit as st

from emodetect.app import charts, image_page, model, page
from emodetect.app.samples import sample_images
from emodetect.detector import face_limit_note
from emodetect.draw import HOW_TO_READ, annotate
from emodetect.errors import InputError
from emodetect.labels import EMOTIONS
from emodetect.limits import MAX_UPLOAD_MB

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif"]
LAST_READ = "image_last_read"  # session-state key: (bytes, name) of the last picture that could be read

page.setup_page("Image")
st.title("Emotions in a photo")
st.write("Upload a photo (or pick a sample): each face gets a box, its most likely emotion and a chart of all of them.")
labels = model.reading_picker(st, key="image-reading")
st.caption(model.door_caption("photo", labels))

samples = sample_images()
upload_col, sample_col = st.columns([2, 1]) if samples else (st.container(), None)
upload = upload_col.file_uploader("Upload a photo", type=IMAGE_TYPES, max_upload_size=MAX_UPLOAD_MB)
sample = None
if sample_col is not None:
    sample = sample_col.selectbox("…or try a sample picture", list(samples), index=None,
                                  placeholder="Choose a sample picture",
                                  help="An uploaded photo is shown instead while there is one.")
classes = st.radio("Classes", ["7 emotions", "3 valences"], horizontal=True,
                   help="3 valences groups happy as positive; angry, disgust, fear and sad as negative; "
                        "neutral and surprise as neutral.")
valence = classes == "3 valences"
explain = st.toggle("Show what the model looked at",
                    help="Tints each face by how much covering each part of it changes the model's answer.")

if upload is not None:
    data, name = upload.getvalue(), upload.name
elif sample is not None:
    data, name = samples[sample].read_bytes(), samples[sample].name
else:
    st.info("Upload a photo or choose a sample picture to start.")
    st.stop()

try:
    image, faces = image_page.detect_image(data, name, labels)
    st.session_state[LAST_READ] = data, name
except InputError as e:
    st.error(page.plain(str(e), quoted=name))
    if LAST_READ not in st.session_state:
        st.stop()
    # The session's earlier picture stays on screen (from the cache), said to be the earlier one.
    data, name = st.session_state[LAST_READ]
    image, faces = image_page.detect_image(data, name, labels)
    st.caption(f"Below: {page.plain(name)}, the last picture that could be read.")

ids = list(range(1, len(faces) + 1))
annotated = annotate(image, faces, valence=valence, ids=ids)
st.subheader(image_page.faces_found(len(faces)))
if note := face_limit_note(len(faces), model.detector(labels).max_faces):
    st.warning(note)

picture_col, faces_col = st.columns([3, 2], gap="large")
with picture_col:
    st.image(image_page.for_display(annotated), width="stretch")
    stem = Path(name).stem
    download_png, download_json = st.columns(2)
    download_png.download_button("Download annotated PNG", data=lambda: image_page.to_png(annotated),
                                 file_name=f"{stem}_emotions.png", mime="image/png", on_click="ignore")
    download_json.download_button("Download results (JSON)", data=image_page.results_json(name, image, faces, labels),
                                  file_name=f"{stem}_emotions.json", mime="application/json", on_click="ignore")

with faces_col:
    if not faces:
        st.caption("The detector looks for real, roughly frontal human faces; drawings and faces seen "
                   "from the side or very small are often missed.")
    if explain and faces:
        st.caption(HOW_TO_READ)
    for face_id, face in zip(ids, faces):
        label, probs = (face.valence, face.valence_probs) if valence else (face.label, face.probs)
        thumb_col, chart_col = st.columns([2 if explain else 1, 4], vertical_alignment="center")
        x, y, w, h = face.box
        if w and h:
            thumb_col.image(image[y:y + h, x:x + w], width="stretch")
        if explain:
            emotion = thumb_col.selectbox("Emotion to explain", EMOTIONS, index=EMOTIONS.index(face.label),
                                          key=f"explain-{name}-{face_id}")
            thumb_col.image(model.relevance_overlay(face.crop, emotion, labels), width="stretch")
        chart_col.markdown(f"**Face {face_id}**: {label} ({probs.max():.0%})")
        chart_col.plotly_chart(charts.probability_bars(face.probs, valence=valence), key=f"face-{face_id}",
                               config={"displayModeBar": False})
