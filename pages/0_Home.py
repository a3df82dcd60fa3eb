"""Home: what the demo does, the model's numbers from its card, and the other pages."""

import streamlit as st

from emodetect.app import model, page

page.setup_page("Home")
card = model.model_card()
default = card["readings"][card["default_reading"]]
photo_door = default["doors"]["photo"]
counts = card["class_counts"]["PrivateTest"]
networks = {labels: len(reading["training"]["members"]) for labels, reading in card["readings"].items()}

st.title("emodetect: emotions in faces")
st.write(
    "This demo finds every face in a photo, a video or your webcam and guesses its emotion: "
    f"one of **{', '.join(card['emotions'])}**, or grouped into **{', '.join(card['valences'])}**. "
    "A face detector (BlazeFace) finds the faces; small convolutional networks trained on FER-2013 (48×48 gray "
    "face crops) read each one, in one of two readings: "
    + "; ".join(f"**{model.in_sentence(labels)}**, {reading['meaning']} "
                f"({networks[labels]} network{'s' if networks[labels] > 1 else ''})"
                for labels, reading in card["readings"].items())
    + ". The Image and Video pages and the Dataset explorer switch between them in one click."
)

st.subheader("The model")
cols = st.columns(4)
cols[0].metric("Real photos right", f"{default['wild']['photo']['accuracy']:.1%}",
               help=f"{model.READING_NAMES[card['default_reading']]}, the app's first choice, through the "
                    f"photo door: {card['wild_photos']['photos']:,} labelled photos of real people, never trained on.")
cols[1].metric("Against FER+", f"{photo_door['ferplus_accuracy']['PrivateTest']:.1%}",
               help="PrivateTest faces given what most of their 10 FER+ annotators chose "
                    f"({default['ferplus']['faces']['PrivateTest']:,} faces with one most-voted emotion).")
fer2013 = card["readings"]["fer2013"]["doors"]["photo"]
cols[2].metric("FER-2013 PrivateTest", f"{fer2013['accuracy']['PrivateTest']:.1%}",
               help=f"{model.READING_NAMES['fer2013']}: the {sum(counts.values()):,} PrivateTest faces "
                    "given their FER-2013 label, never used for training or tuning.")
cols[3].metric("Model size", f"{default['runtime']['bytes'] / 1e6:.1f} MB",
               help=f"{default['parameters']:,} parameters, `{default['architecture']}`, input "
                    f"{card['input']['size'][0]}×{card['input']['size'][1]} {card['input']['color']}.")
st.dataframe(model.doors_table(card), hide_index=True, width="content",
             column_config=model.DOORS_TABLE_COLUMNS)
st.caption(model.doors_table_caption(card)
           + f" Always answering the most common class would score {max(counts.values()) / sum(counts.values()):.1%} "
             "on FER-2013 PrivateTest.")

st.info(
    "FER-2013 is hard: its faces are small, low-resolution and often ambiguous even to people, so expect "
    "mistakes. Use this as a demo, not to judge how anyone feels."
)

st.subheader("Pages")
for other in page.PAGES[1:]:
    st.page_link(other.file, label=f"**{other.title}**")
    st.caption(other.about)
