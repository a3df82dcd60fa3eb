"""Dataset explorer: what the model card says about FER-2013 and the model, and the faces themselves."""

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from emodetect import app_support, charts
from emodetect.data import DatasetError
from emodetect.draw import HOW_TO_READ
from emodetect.evaluate import detailed_metrics
from emodetect.labels import EMOTIONS, VALENCES
from emodetect.paths import default_data_dir

SAMPLES_PER_CLASS = 12
MISTAKES_SHOWN = 24
CLASS_OPTIONS = ["7 emotions", "3 valences"]


def confusion_pair(matrix: list, valence_matrix: list, key: str) -> None:
    """A "Classes" switch and the chosen confusion matrix twice: counts, and shares of each true class."""
    valence = st.radio("Classes", CLASS_OPTIONS, horizontal=True, key=key) == CLASS_OPTIONS[1]
    matrix, labels = (valence_matrix, VALENCES) if valence else (matrix, EMOTIONS)
    counts_col, rates_col = st.columns(2)
    counts_col.plotly_chart(charts.confusion_heatmap(matrix, labels, title="Faces"), key=f"{key}-counts")
    rates_col.plotly_chart(charts.confusion_heatmap(matrix, labels, normalize=True, title="Share of each true class"),
                           key=f"{key}-rates")


app_support.setup_page("Dataset explorer")
card = app_support.model_card()
private = card["private_test"]
training = card["training"]

st.title("FER-2013 and the model")
default_path = str(default_data_dir())
path = st.sidebar.text_input(
    "FER-2013 folder or CSV", value=default_path,
    help="The image-folder layout (train/ and test/ with one folder per emotion) or the original fer2013.csv. "
         "Only read, never written. Defaults to $EMODETECT_DATA.").strip()
card_tab, data_tab = st.tabs(["Model card", "Faces in your copy of FER-2013"])

with card_tab:
    st.caption("Every number here comes from the model card shipped with the model (models/model_card.json).")

    st.subheader("Class balance")
    share = st.radio("Show", ["Images", "Share of each split"], horizontal=True) != "Images"
    st.plotly_chart(charts.class_counts(card["class_counts"], share=share), key="class-counts")
    train_counts = card["class_counts"]["Training"]
    rarest = min(train_counts, key=train_counts.get)
    st.caption(f"Only {train_counts[rarest] / sum(train_counts.values()):.1%} of the training faces show {rarest}: "
               "too few to learn it well, as the scores below show.")

    st.subheader("PrivateTest confusion matrix")
    confusion_pair(private["confusion_matrix"], private["valence_confusion_matrix"], key="card-confusion")

    st.subheader("Scores per emotion (PrivateTest)")
    scores = pd.DataFrame.from_dict(private["per_class"], orient="index")
    st.dataframe(scores, width="content", column_config={
        "precision": st.column_config.NumberColumn("Precision", format="%.3f",
                                                   help="Of the faces called this emotion, the share that were."),
        "recall": st.column_config.NumberColumn("Recall", format="%.3f",
                                                help="Of the faces showing this emotion, the share found."),
        "f1": st.column_config.NumberColumn("F1", format="%.3f"),
        "support": st.column_config.NumberColumn("Faces", format="%d"),
    })

    st.subheader("Training")
    members = training["members"]
    if len(members) > 1:
        st.caption(f"The shipped model averages the probabilities of {len(members)} networks trained separately "
                   f"({training['cpu_hours']:.1f} CPU hours in all):")
    for i, member in enumerate(members, 1):
        averaged = member.get("averaged_epochs")
        st.plotly_chart(charts.training_curves(member["history"], member["chosen_epoch"], averaged),
                        key=f"training-{i}")
        shipped = (f"the mean of the weights after epochs {averaged[0]}–{averaged[1]} (shaded), which beat the best "
                   f"single epoch on PublicTest" if averaged else
                   f"from epoch {member['chosen_epoch']} (dotted line), chosen on PublicTest")
        st.caption(f"{member['epochs']} epochs, {member['cpu_hours']:.1f} CPU hours; the shipped weights are "
                   f"{shipped}. Command: `{member['command']}`")
    if not members:
        st.caption("The model card has no training history.")

    st.subheader("Calibration (PrivateTest)")
    chart_col, text_col = st.columns([2, 1])
    chart_col.plotly_chart(charts.reliability_diagram(private["calibration"]["bins"]), key="calibration")
    text_col.metric("Expected calibration error", f"{private['calibration']['ece']:.1%}")
    text_col.write("How far the model's confidence is from its accuracy, on average over faces. A face shown "
                   "with 80% confidence is right about 80% of the time when the bars follow the diagonal.")
    if any(m["temperature"] != 1.0 for m in members):
        whose = "each network's logits are divided by its" if len(members) > 1 else "the logits are divided by the"
        temperatures = ", ".join(f"{m['temperature']:.2f}" for m in members)
        text_col.caption(f"Calibrated when exported: {whose} temperature fitted on PublicTest ({temperatures}).")

with data_tab:
    if not path or (path == default_path and not Path(path).exists()):  # no data here: not an error
        st.info("To see the faces themselves, enter the path of a FER-2013 folder or fer2013.csv in the sidebar.")
        st.stop()
    try:
        splits = app_support.dataset(path)
    except DatasetError as e:
        st.error(str(e))
        st.stop()

    names = list(splits)
    split_name = st.selectbox("Split", names, index=names.index("PrivateTest") if "PrivateTest" in names else 0)
    split = splits[split_name]
    st.caption(f"{len(split):,} faces in {split_name}, read from {path}")

    st.subheader("Sample faces per class")
    if st.button("Show other faces"):
        st.session_state["sample_seed"] = st.session_state.get("sample_seed", 0) + 1
    rng = np.random.default_rng(st.session_state.get("sample_seed", 0))
    for index, emotion in enumerate(EMOTIONS):
        members = np.flatnonzero(split.labels == index)
        name_col, faces_col = st.columns([1, 8], vertical_alignment="center")
        name_col.markdown(f"**{emotion}**  \n{len(members):,} faces")
        if len(members):
            picked = rng.choice(members, min(SAMPLES_PER_CLASS, len(members)), replace=False)
            faces_col.image([split.images[i] for i in picked], width=64)

    probs = app_support.split_probs(path, split_name)
    predicted = probs.argmax(axis=1)

    st.subheader("Most confidently misclassified")
    mistakes = app_support.confident_mistakes(probs, split.labels, MISTAKES_SHOWN)
    if len(mistakes):
        st.caption("True class → what the model said, with its confidence. Some labels are themselves debatable.")
        st.image([split.images[i] for i in mistakes], width=96,
                 caption=[f"{EMOTIONS[split.labels[i]]} → {EMOTIONS[predicted[i]]} {probs[i].max():.0%}"
                          for i in mistakes])
    else:
        st.caption("The model classifies every face of this split correctly.")
    if len(mistakes) and st.toggle("Show what the model looked at in these mistakes", key="explain-mistakes"):
        st.caption(f"{HOW_TO_READ} Each map explains the model's answer. Where FER+ has votes for a face "
                   "(10 people each), they show whether the model or the label is wrong.")
        st.image([app_support.relevance_overlay(split.images[i], EMOTIONS[predicted[i]]) for i in mistakes],
                 width=144, caption=[app_support.mistake_caption(split, i, probs[i], path) for i in mistakes])

    live = detailed_metrics(probs, split.labels)
    st.subheader(f"Confusion matrix on {split_name}, computed now")
    st.metric("Accuracy", f"{np.mean(predicted == split.labels):.1%}",
              help="7 emotions, with the app's classifier and test-time views, as in the model card.")
    confusion_pair(live["confusion_matrix"], live["valence_confusion_matrix"], key="live-confusion")
