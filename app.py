"""Home page of the emodetect demo. Run with `streamlit run app.py`; the other pages live in pages/."""

from pathlib import Path

import streamlit as st

from emodetect import app_support

# (page file, title, what it is for); a page whose file is not there yet is described without a link.
PAGES = [
    ("pages/1_Image.py", "Image", "Upload a photo or pick a sample: every face is boxed and labelled, with a chart "
     "of its probabilities. Switch between 7 emotions and 3 valences; download the picture and the results."),
    ("pages/2_Video.py", "Video", "Upload a short clip and follow the emotions of each face over time."),
    ("pages/3_Webcam.py", "Webcam", "Live emotions from your camera, in the browser."),
    ("pages/4_Dataset_explorer.py", "Dataset explorer",
     "How the model was trained and how it does on FER-2013: class balance, confusion matrices, per-class scores, "
     "training curves and calibration. Point it at your copy of FER-2013 to see the faces themselves."),
]

app_support.setup_page("Home")
card = app_support.model_card()
tta = "flip_tta" if card["app_uses_flip_tta"] else "plain"
private = card["metrics"]["PrivateTest"][tta]
counts = card["class_counts"]["PrivateTest"]

st.title("emodetect: emotions in faces")
st.write(
    "This demo finds every face in a photo, a video or your webcam and guesses its emotion: "
    f"one of **{', '.join(card['emotions'])}**, or grouped into **{', '.join(card['valences'])}**. "
    "A face detector (BlazeFace) finds the faces; a small convolutional network trained on FER-2013 "
    "(48×48 gray face crops) reads each one."
)

st.subheader("The model")
cols = st.columns(5)
cols[0].metric("PrivateTest accuracy", f"{private['accuracy']:.1%}",
               help=f"7 emotions, {sum(counts.values()):,} test faces never used for training or tuning"
                    + (", each also classified mirrored (as the app does)" if tta == "flip_tta" else "") + ".")
cols[1].metric("Macro F1", f"{private['macro_f1']:.3f}", help="F1 averaged over the 7 emotions, each counting equally.")
cols[2].metric("3-valence accuracy", f"{card['private_test']['valence_accuracy']:.1%}",
               help="Positive / negative / neutral on the same PrivateTest faces.")
cols[3].metric("Parameters", f"{card['parameters']:,}")
cols[4].metric("Model size", f"{card['model_bytes'] / 1e6:.1f} MB")
st.caption(
    f"Architecture `{card['architecture']}`, input {card['input']['size'][0]}×{card['input']['size'][1]} "
    f"{card['input']['color']}. "
    f"Always answering the most common class would score {max(counts.values()) / sum(counts.values()):.1%}."
)

weak = [e for e, s in card["private_test"]["per_class"].items() if s["f1"] < 0.2]
st.info(
    "FER-2013 is hard: its faces are small, low-resolution and often ambiguous even to people, so expect "
    "mistakes. Use this as a demo, not to judge how anyone feels."
    + (f" The model rarely gets **{', '.join(weak)}** right (see the Dataset explorer)." if weak else "")
)

st.subheader("Pages")
for file, title, text in PAGES:
    if (Path(__file__).parent / file).is_file():
        st.page_link(file, label=f"**{title}**")
    else:
        st.markdown(f"**{title}**")
    st.caption(text)
