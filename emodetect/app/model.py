"""The models and their card, as the pages share them: one cached detector per reading and door, the reading picker,
and every number about the models (from the card, never typed in)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from emodetect.labels import DEFAULT_READING, EMOTIONS, READINGS
from emodetect.paths import MODEL_CARD

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from emodetect.detector import EmotionDetector


def model_card() -> dict:
    """The shipped model card (`models/model_card.json`), the only source of numbers about the models.

    Read with `json` alone: `evaluate.load_model_card` would import scikit-learn.
    """
    return json.loads(MODEL_CARD.read_text())


READING_NAMES = {"ferplus": "Most people's reading", "fer2013": "FER-2013's label"}


def in_sentence(labels: str) -> str:
    """A reading's name inside a sentence: "most people's reading", "FER-2013's label"."""
    name = READING_NAMES[labels]
    return name[0].lower() + name[1:] if name[1:2].islower() else name


def reading_picker(where: DeltaGenerator, key: str) -> str:
    """The one-click choice of reading on a page (the Image and Video pages, the explorer), starting at
    `labels.DEFAULT_READING`, each option said in plain words; returns its `labels.READINGS` key."""
    choice = where.segmented_control(
        "Reading", list(READINGS), default=DEFAULT_READING, key=key, format_func=READING_NAMES.get,
        help=" ".join(f"{READING_NAMES[r]}: {meaning}." for r, meaning in READINGS.items())
        + " Each is a model trained for that truth.")
    return choice or DEFAULT_READING  # a click on the chosen option clears it: keep a reading


def door_caption(door: str, labels: str = DEFAULT_READING) -> str:
    """Which classifier configuration this page (the door `door` of `detector.DOOR_VIEWS`) runs in the reading
    `labels`, and how it scores, from the model card: "Most people's reading (what most of 10 people would
    say), each face classified four ways (…): 82.1% of PrivateTest faces as most FER+ annotators chose them,
    62.0% as FER-2013 labels them; 69.2% of real photos right."""
    card = model_card()
    reading = card["readings"][labels]
    config = reading["doors"][door]
    on_votes = (f"{config['ferplus_accuracy']['PrivateTest']:.1%} of PrivateTest faces as most FER+ annotators "
                "chose them")
    on_labels = f"{config['accuracy']['PrivateTest']:.1%} as FER-2013 labels them"
    scores = f"{on_votes}, {on_labels}" if labels == "ferplus" else f"{on_labels}, {on_votes}"
    return (f"{READING_NAMES[labels]} ({reading['meaning']}), {card['tta_views'][config['views']]}: {scores}; "
            f"{reading['wild'][door]['accuracy']:.1%} of real photos right (model card).")


DOORS_TABLE_COLUMNS = {
    name: st.column_config.NumberColumn(name, format="percent", help=about) for name, about in (
        ("FER+ test", "PrivateTest faces given the emotion most of their 10 FER+ annotators chose."),
        ("FER-2013 test", "PrivateTest faces given their FER-2013 label."),
        ("Photos: face", "Share of the labelled real photos in which the door finds a face."),
        ("Photos: right", "Share of the real photos whose largest face gets the photo's label (a miss is "
                          "wrong)."),
        ("Photos: recall", "Macro recall: the share right in each emotion, averaged over emotions (rare ones "
                           "count as much as happy)."))
}


def doors_table(card: dict) -> pd.DataFrame:
    """Every door's scores in both readings against both truths and on the real photos, from the card."""
    rows = []
    for labels, reading in card["readings"].items():
        for door, config in reading["doors"].items():
            wild = reading["wild"][door]
            rows.append({"Reading": READING_NAMES[labels], "Door": door.capitalize(), "Views": config["views"],
                         "FER+ test": config["ferplus_accuracy"]["PrivateTest"],
                         "FER-2013 test": config["accuracy"]["PrivateTest"],
                         "Photos: face": wild["faces_found"], "Photos: right": wild["accuracy"],
                         "Photos: recall": wild["macro_recall"]})
    return pd.DataFrame(rows)


def doors_table_caption(card: dict) -> str:
    """What `doors_table`'s columns count, and why the default reading is the default."""
    default = card["default_reading"]
    other = next(r for r in card["readings"] if r != default)
    recall = {r: card["readings"][r]["wild"]["photo"]["macro_recall"] for r in (default, other)}
    reading = card["readings"][default]
    return (f"FER+: the {reading['ferplus']['faces']['PrivateTest']:,} PrivateTest faces whose 10 annotators "
            f"mostly chose one of the seven emotions; FER-2013: all "
            f"{sum(card['class_counts']['PrivateTest'].values()):,}. Real photos: {card['wild_photos']['photos']:,} "
            f"labelled photos of real people, never trained on; macro recall over "
            f"{', '.join(card['wild_photos']['macro_recall_over'])}. The app starts in "
            f"{in_sentence(default)}: its macro recall on the real photos through the photo door is "
            f"{recall[default]:.1%}, against {recall[other]:.1%} for {in_sentence(other)}.")


@st.cache_resource(show_spinner="Loading the emotion model…")
def detector(labels: str = DEFAULT_READING) -> EmotionDetector:
    """One photo detector per reading and server process, shared by all pages and sessions (it is thread-safe)."""
    from emodetect.detector import EmotionDetector

    return EmotionDetector.load(labels=labels)


@st.cache_resource(show_spinner="Loading the emotion model…")
def webcam_detector() -> EmotionDetector:
    """One fast detector (preset "webcam") per server process, shared by every webcam stream.

    The page fetches it on the script thread; the WebRTC worker threads then share it safely
    (the classifier is a tf.function and each thread gets its own LiteRT interpreter).
    """
    from emodetect.detector import EmotionDetector

    return EmotionDetector.load(preset="webcam")


@st.cache_data(max_entries=512, show_spinner="Working out what the model looked at…")
def relevance_overlay(crop: np.ndarray, emotion: str, labels: str = DEFAULT_READING) -> np.ndarray:
    """The uint8 48×48 `crop` tinted by its occlusion map for `emotion` (`explain.occlusion` on the networks of
    the reading `labels`, the face seen once as cropped, the blurred face as baseline): one model call per face,
    cached per face and emotion, so switching one face's emotion recomputes that face alone."""
    from emodetect import draw
    from emodetect.explain import occlusion
    from emodetect.preprocess import to_input

    # The face as cropped: what occlusion covers.
    one_view = detector(labels).classifier.with_views("plain").predict_inputs
    relevance = occlusion(to_input(crop[None]), one_view, target=EMOTIONS.index(emotion))
    return draw.relevance_overlay(crop, relevance[0])
