"""Dataset explorer: what the model card says about FER-2013 and the model, and the faces themselves."""

import numpy as np
import pandas as pd
import streamlit as st

from emodetect.app import charts, explorer, model, page, settings
from emodetect.app.roots import REFUSAL
from emodetect.data import DatasetError, votes_text
from emodetect.draw import HOW_TO_READ
from emodetect.labels import EMOTIONS, VALENCES
from emodetect.limits import MAX_UPLOAD_MB
from emodetect.training.evaluate import detailed_metrics

SAMPLES_PER_CLASS = 12
MISTAKES_SHOWN = 24
CLASS_OPTIONS = ["7 emotions", "3 valences"]
UPLOAD = "Upload your fer2013.csv"
DATASET_PARAM = "dataset"  # ?dataset=NAME in the page's URL picks a configured copy, so links can share it


def confusion_pair(matrix: list, valence_matrix: list, key: str) -> None:
    """A "Classes" switch and the chosen confusion matrix twice: counts, and shares of each true class."""
    valence = st.radio("Classes", CLASS_OPTIONS, horizontal=True, key=key) == CLASS_OPTIONS[1]
    matrix, labels = (valence_matrix, VALENCES) if valence else (matrix, EMOTIONS)
    counts_col, rates_col = st.columns(2)
    counts_col.plotly_chart(charts.confusion_heatmap(matrix, labels, title="Faces"), key=f"{key}-counts")
    rates_col.plotly_chart(charts.confusion_heatmap(matrix, labels, normalize=True, title="Share of each true class"),
                           key=f"{key}-rates")


page.setup_page("Dataset explorer")
card = model.model_card()

st.title("FER-2013 and the model")
labels = model.reading_picker(st, key="explorer-reading")
reading = card["readings"][labels]
private, training = reading["private_test"], reading["training"]
# Visitors pick one of the copies the operator configured, by name (never a server path), or upload a CSV.
copies = [root.label for root in settings.data_roots()]
options = copies + [UPLOAD]
if DATASET_PARAM in st.query_params and st.query_params[DATASET_PARAM] not in copies:
    st.error(REFUSAL)  # the same words whatever was asked: nothing about what exists
if "dataset_choice" not in st.session_state:
    st.session_state["dataset_choice"] = st.query_params.get(DATASET_PARAM) if (
        st.query_params.get(DATASET_PARAM) in copies) else options[0]
choice = st.sidebar.selectbox(
    "FER-2013 data", options, key="dataset_choice",
    help="A copy of FER-2013 on this server, or your own fer2013.csv (read in memory, never stored).")
if choice == UPLOAD:
    st.query_params.pop(DATASET_PARAM, None)
    upload = st.sidebar.file_uploader("fer2013.csv", type=["csv"], max_upload_size=MAX_UPLOAD_MB,
                                      help="The original challenge CSV (emotion,pixels,Usage), or some of its rows.")
else:
    st.query_params[DATASET_PARAM] = choice
card_tab, data_tab = st.tabs(["Model card", "Faces in your copy of FER-2013"])

with card_tab:
    st.caption("Every number here comes from the model card shipped with the models (models/model_card.json).")

    st.subheader("Every door, both readings")
    st.dataframe(model.doors_table(card), hide_index=True, width="content",
                 column_config=model.DOORS_TABLE_COLUMNS)
    st.caption(model.doors_table_caption(card))

    st.subheader("Class balance")
    share = st.radio("Show", ["Images", "Share of each split"], horizontal=True) != "Images"
    st.plotly_chart(charts.class_counts(card["class_counts"], share=share), key="class-counts")
    train_counts = card["class_counts"]["Training"]
    rarest = min(train_counts, key=train_counts.get)
    st.caption(f"Only {train_counts[rarest] / sum(train_counts.values()):.1%} of the training faces show {rarest}: "
               "too few to learn it well, as the scores below show.")

    reading_name = model.in_sentence(labels)
    st.subheader(f"PrivateTest confusion matrix against FER-2013's labels ({reading_name})")
    confusion_pair(private["confusion_matrix"], private["valence_confusion_matrix"], key="card-confusion")

    st.subheader("Scores per emotion (PrivateTest, against FER-2013's labels)")
    scores = pd.DataFrame.from_dict(private["per_class"], orient="index")
    st.dataframe(scores, width="content", column_config={
        "precision": st.column_config.NumberColumn("Precision", format="%.3f",
                                                   help="Of the faces called this emotion, the share that were."),
        "recall": st.column_config.NumberColumn("Recall", format="%.3f",
                                                help="Of the faces showing this emotion, the share found."),
        "f1": st.column_config.NumberColumn("F1", format="%.3f"),
        "support": st.column_config.NumberColumn("Faces", format="%d"),
    })

    if ferplus := reading.get("ferplus"):
        st.subheader("Against the FER+ annotators (PrivateTest)")
        faces, total = ferplus["faces"]["PrivateTest"], sum(card["class_counts"]["PrivateTest"].values())
        st.caption(f"Microsoft's FER+ had 10 people vote on each FER-2013 face. Here a face counts as right when "
                   f"the model says what most of them chose: {faces:,} of the {total:,} PrivateTest faces have one "
                   f"most-voted emotion among these seven, and on those FER-2013's own label agrees with the "
                   f"annotators only {ferplus['agreement_with_fer2013']['PrivateTest']:.0%} of the time.")
        door_cols = st.columns(len(reading["doors"]))
        for col, (door, config) in zip(door_cols, reading["doors"].items()):
            col.metric(f"{door.capitalize()} door, FER+", f"{config['ferplus_accuracy']['PrivateTest']:.1%}",
                       help=f"{card['tta_views'][config['views']].capitalize()}. Against FER-2013's labels: "
                            f"{config['accuracy']['PrivateTest']:.1%}.")
        st.plotly_chart(charts.confusion_heatmap(ferplus["private_test"]["confusion_matrix"], EMOTIONS,
                                                 normalize=True, title="Share of each FER+ plurality"),
                        key="ferplus-confusion")
        st.caption("Rows: what most annotators chose; columns: what the model said "
                   f"({card['tta_views'][reading['app_tta']]}). Recall per emotion: "
                   + ", ".join(f"{e} {s['recall']:.2f}" for e, s in ferplus["private_test"]["per_class"].items())
                   + ".")

    st.subheader("Training")
    members = training["members"]
    if len(members) > 1:
        st.caption(f"This reading's model averages the probabilities of {len(members)} networks trained separately "
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

    st.subheader(f"Calibration (PrivateTest, against the {reading['own_truth']})")
    chart_col, text_col = st.columns([2, 1])
    chart_col.plotly_chart(charts.reliability_diagram(reading["calibration"]["bins"]), key="calibration")
    text_col.metric("Expected calibration error", f"{reading['calibration']['ece']:.1%}")
    text_col.write("How far the model's confidence is from its accuracy, on average over faces. A face shown "
                   "with 80% confidence is right about 80% of the time when the bars follow the diagonal.")
    if any(m["temperature"] != 1.0 for m in members):
        whose = "each network's logits are divided by its" if len(members) > 1 else "the logits are divided by the"
        temperatures = ", ".join(f"{m['temperature']:.2f}" for m in members)
        text_col.caption(f"Calibrated when exported: {whose} temperature fitted on PublicTest against the "
                         f"{reading['own_truth']} ({temperatures}).")

with data_tab:
    try:
        if choice == UPLOAD:
            if upload is None:
                st.info("Upload a fer2013.csv in the sidebar to see its faces.")
                st.stop()
            key, source = explorer.upload_key(upload.getvalue()), page.plain(upload.name)
            splits = explorer.uploaded_dataset(key, upload.name, upload.getvalue())
        else:
            key, source = choice, page.plain(choice)
            splits = explorer.dataset(choice)
    except DatasetError as e:
        st.error(page.plain(str(e), quoted=upload.name if choice == UPLOAD else choice))
        st.stop()

    names = list(splits)
    split_name = st.selectbox("Split", names, index=names.index("PrivateTest") if "PrivateTest" in names else 0)
    split = splits[split_name]
    st.caption(f"{len(split):,} faces in {split_name}, read from {source}")

    ferplus = explorer.split_ferplus(key, split_name, splits)  # None: no FER+ votes for these faces
    overruled = ferplus.scored & (ferplus.plurality != split.labels) if ferplus else np.zeros(len(split), bool)

    st.subheader("Sample faces per class")
    if ferplus:
        st.caption(f"Under a face: what most FER+ annotators chose where they overruled its FER-2013 label "
                   f"({overruled.sum():,} of the {len(split):,} faces of {split_name}).")
    if st.button("Show other faces"):
        st.session_state["sample_seed"] = st.session_state.get("sample_seed", 0) + 1
    rng = np.random.default_rng(st.session_state.get("sample_seed", 0))
    for index, emotion in enumerate(EMOTIONS):
        members = np.flatnonzero(split.labels == index)
        name_col, faces_col = st.columns([1, 8], vertical_alignment="center")
        name_col.markdown(f"**{emotion}**  \n{len(members):,} faces")
        if len(members):
            picked = rng.choice(members, min(SAMPLES_PER_CLASS, len(members)), replace=False)
            captions = ([f"FER+: {EMOTIONS[ferplus.plurality[i]]}" if overruled[i] else " " for i in picked]
                        if ferplus else None)  # a blank caption keeps an overruled face's row aligned
            faces_col.image([split.images[i] for i in picked], width=64, caption=captions)

    probs = explorer.split_probs(key, split_name, labels, splits)
    predicted = probs.argmax(axis=1)

    st.subheader("One face up close")
    number = st.number_input(f"Face number in {split_name}", min_value=1, max_value=len(split), value=1, step=1)
    face_col, about_col = st.columns([1, 3])
    face_col.image(split.images[number - 1], width=144)
    about_col.markdown(f"FER-2013 label: **{EMOTIONS[split.labels[number - 1]]}**  \n"
                       f"The model: **{EMOTIONS[predicted[number - 1]]}** {probs[number - 1].max():.0%}")
    if votes := explorer.face_votes(key, split, number - 1):
        about_col.markdown(f"FER+ votes (10 people): {votes_text(votes)}")
        if overruled[number - 1]:
            about_col.warning(f"The annotators overruled this face's label: most chose "
                              f"{EMOTIONS[ferplus.plurality[number - 1]]}.")
    elif ferplus:
        about_col.caption("FER+ has no votes for this face.")

    st.subheader("Most confidently misclassified")
    mistakes = explorer.confident_mistakes(probs, split.labels, MISTAKES_SHOWN)
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
        st.image([model.relevance_overlay(split.images[i], EMOTIONS[predicted[i]], labels) for i in mistakes],
                 width=144, caption=[explorer.mistake_caption(split, i, probs[i], key) for i in mistakes])

    st.subheader(f"Confusion matrix on {split_name}, computed now ({reading_name})")
    truths = ["FER-2013 labels"] + ([f"FER+ plurality ({ferplus.scored.sum():,} faces)"] if ferplus else [])
    by_annotators = st.radio("Truth", truths, horizontal=True, key="live-truth") != truths[0]
    scored = ferplus.scored if by_annotators else np.ones(len(split), bool)
    truth = ferplus.plurality[scored] if by_annotators else split.labels
    live = detailed_metrics(probs[scored], truth)
    st.metric("Accuracy", f"{np.mean(predicted[scored] == truth):.1%}",
              help="7 emotions, with the chosen reading's classifier and the views it was exported for, as in the "
                   "model card"
                   + (" (FER+: on the faces whose most-voted emotion is one of the seven)." if by_annotators else "."))
    confusion_pair(live["confusion_matrix"], live["valence_confusion_matrix"], key="live-confusion")
