"""Home: what the demo does, the model's numbers from its card, and the other pages."""

import streamlit as st

from emodetect import app_support

app_support.setup_page("Home")
card = app_support.model_card()
photo_door = card["doors"]["photo"]
private = card["metrics"]["PrivateTest"][photo_door["views"]]
counts = card["class_counts"]["PrivateTest"]
networks = len(card["training"]["members"])
on_votes = any(member["config"].get("soft_labels") for member in card["training"]["members"])

st.title("emodetect: emotions in faces")
st.write(
    "This demo finds every face in a photo, a video or your webcam and guesses its emotion: "
    f"one of **{', '.join(card['emotions'])}**, or grouped into **{', '.join(card['valences'])}**. "
    "A face detector (BlazeFace) finds the faces; "
    + ("a small convolutional network" if networks == 1 else f"{networks} small convolutional networks")
    + " trained on FER-2013 (48×48 gray face crops"
    + (", partly on its FER+ annotators' votes) " if on_votes else ") ")
    + ("reads each one." if networks == 1 else "read each one, and their answers are averaged.")
)

st.subheader("The model")
cols = st.columns(6)
cols[0].metric("PrivateTest accuracy", f"{private['accuracy']:.1%}",
               help=f"7 emotions, {sum(counts.values()):,} test faces never used for training or tuning"
                    f", {card['tta_views'][photo_door['views']]}, as the Image page does. Video and webcam, "
                    f"{card['tta_views'][card['doors']['webcam']['views']]}: "
                    f"{card['doors']['webcam']['accuracy']['PrivateTest']:.1%}.")
if "ferplus_accuracy" in photo_door:
    cols[5].metric("Against FER+", f"{photo_door['ferplus_accuracy']['PrivateTest']:.1%}",
                   help="The same PrivateTest faces, scored against what most of 10 FER+ annotators chose "
                        f"({card['ferplus']['faces']['PrivateTest']:,} faces with one most-voted emotion).")
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
for page in app_support.PAGES[1:]:
    st.page_link(page.file, label=f"**{page.title}**")
    st.caption(page.about)
