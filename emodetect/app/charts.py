"""Plotly figures for the app, built in one place so every page draws the same thing the same way.

Each function takes plain numbers (probabilities, model-card fields) and
returns a `plotly.graph_objects.Figure`; pages only place them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from emodetect.labels import COLORS, EMOTIONS, VALENCE_COLORS, VALENCES, to_valence

TRAIN_COLOR = "#1f77b4"  # blue
PUBLIC_COLOR = "#ff7f0e"  # orange
_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def rgb(color: tuple[int, int, int]) -> str:
    """An RGB tuple from `labels.COLORS` as a CSS colour, so charts and drawings match."""
    return "rgb({}, {}, {})".format(*color)


def probability_bars(probs: np.ndarray, valence: bool = False, height: int | None = None) -> go.Figure:
    """Horizontal bars of one face's 7 emotion probabilities, or their 3 valences when `valence`."""
    names, values, palette = ((VALENCES, to_valence(probs), VALENCE_COLORS) if valence
                              else (EMOTIONS, np.asarray(probs), COLORS))
    fig = go.Figure(go.Bar(
        x=[float(v) for v in values], y=list(names), orientation="h",
        marker_color=[rgb(palette[n]) for n in names],
        text=[f"{v:.0%}" for v in values], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.1%}<extra></extra>",
    ))
    fig.update_layout(height=height or 40 + 24 * len(names), margin={**_MARGIN, "t": 5, "r": 40},
                      showlegend=False, bargap=0.25)
    fig.update_xaxes(range=[0, 1], tickformat=".0%", showgrid=True)
    fig.update_yaxes(autorange="reversed")  # first class on top, as in the drawing's panel
    return fig


def class_counts(counts: Mapping[str, Mapping[str, int]], share: bool = False) -> go.Figure:
    """Images per emotion, one bar group per split; `share` shows each split's percentages instead."""
    fig = go.Figure()
    for split, per_class in counts.items():
        values = np.array([per_class.get(e, 0) for e in EMOTIONS], dtype=float)
        total = values.sum() or 1.0
        shown = values / total if share else values
        fig.add_bar(x=list(EMOTIONS), y=shown, name=split,
                    customdata=np.stack([values, values / total], axis=1),
                    hovertemplate="%{x}: %{customdata[0]:,.0f} images (%{customdata[1]:.1%})<extra>" + split
                    + "</extra>")
    fig.update_layout(barmode="group", height=340, margin=_MARGIN, legend={"orientation": "h", "y": 1.12})
    fig.update_yaxes(title="share of split" if share else "images", tickformat=".0%" if share else ",")
    return fig


def confusion_heatmap(matrix: Sequence[Sequence[int]], labels: Sequence[str], normalize: bool = False,
                      title: str | None = None) -> go.Figure:
    """Confusion matrix (rows: true class, columns: predicted); `normalize` divides each row by its total.

    Row-normalised cells read as "of the true X faces, this share was called Y";
    the diagonal is then each class's recall.
    """
    counts = np.asarray(matrix, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    rates = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    z = rates if normalize else counts
    text = [[f"{v:.0%}" for v in row] for row in rates] if normalize else counts.astype(int).astype(str)
    fig = go.Figure(go.Heatmap(
        z=z, x=list(labels), y=list(labels), text=text, texttemplate="%{text}", colorscale="Blues",
        showscale=False, zmin=0, zmax=1 if normalize else None,
        customdata=np.dstack([counts, rates]),
        hovertemplate="true %{y}, predicted %{x}: %{customdata[0]:,.0f} (%{customdata[1]:.0%} of the row)"
                      "<extra></extra>",
    ))
    fig.update_layout(title=title, height=140 + 40 * len(labels), margin=_MARGIN)
    fig.update_xaxes(title="predicted", side="bottom")
    fig.update_yaxes(title="true", autorange="reversed")
    return fig


def training_curves(history: Sequence[Mapping[str, float]], chosen_epoch: int | None = None,
                    averaged_epochs: Sequence[int] | None = None) -> go.Figure:
    """Accuracy and loss per epoch, training set (blue) against PublicTest (orange), side by side; the
    shipped weights marked: the chosen epoch (dotted line) or the epochs averaged into them (shaded)."""
    epochs = [h["epoch"] for h in history]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Accuracy", "Loss"), horizontal_spacing=0.08)
    for col, (train_key, public_key) in enumerate((("accuracy", "public_accuracy"), ("loss", "public_loss")), 1):
        for key, name, color in ((train_key, "Training", TRAIN_COLOR), (public_key, "PublicTest", PUBLIC_COLOR)):
            fig.add_scatter(x=epochs, y=[h[key] for h in history], name=name, mode="lines+markers",
                            line_color=color, legendgroup=name, showlegend=col == 1, row=1, col=col)
        if averaged_epochs:
            fig.add_vrect(x0=averaged_epochs[0] - 0.5, x1=averaged_epochs[1] + 0.5, fillcolor="gray", opacity=0.15,
                          line_width=0, row=1, col=col)
        elif chosen_epoch is not None:
            fig.add_vline(x=chosen_epoch, line_dash="dot", line_color="gray", row=1, col=col)
    fig.update_layout(height=340, margin={**_MARGIN, "t": 60}, legend={"orientation": "h", "y": 1.2})
    fig.update_xaxes(title="epoch", dtick=max(1, len(epochs) // 10))
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    return fig


def reliability_diagram(bins: Sequence[Mapping[str, float]], ece: float | None = None) -> go.Figure:
    """Accuracy against confidence per confidence bin; bars on the diagonal mean honest confidences."""
    centres = [(b["low"] + b["high"]) / 2 for b in bins]
    fig = go.Figure()
    fig.add_bar(x=centres, y=[b["accuracy"] for b in bins], width=[b["high"] - b["low"] for b in bins],
                name="accuracy", marker_color=TRAIN_COLOR,
                customdata=[[b["count"], b["confidence"]] for b in bins],
                hovertemplate="confidence %{customdata[1]:.0%}: accuracy %{y:.0%} "
                              "(%{customdata[0]:,} faces)<extra></extra>")
    fig.add_scatter(x=[b["confidence"] for b in bins], y=[b["confidence"] for b in bins], mode="markers",
                    name="mean confidence", marker={"color": PUBLIC_COLOR, "size": 8})
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                    line={"dash": "dash", "color": "gray"})
    title = None if ece is None else f"Expected calibration error: {ece:.1%}"
    fig.update_layout(title=title, height=360, margin=_MARGIN, bargap=0.05,
                      legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title="confidence (top probability)", range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title="accuracy", range=[0, 1], tickformat=".0%")
    return fig


def live_emotions(window: pd.DataFrame, window_s: float) -> go.Figure:
    """The largest face's 7 probabilities over the last `window_s` seconds, one line per emotion.

    `window` is `live.LiveStats.window()`: a `seconds` column (≤ 0, now at the right edge) and one
    column per emotion, NaN where no face was found so the lines break instead of inventing values.
    """
    fig = go.Figure()
    for emotion in EMOTIONS:
        fig.add_scatter(x=window["seconds"], y=window[emotion], name=emotion, mode="lines",
                        line={"color": rgb(COLORS[emotion]), "width": 2}, connectgaps=False,
                        hovertemplate=emotion + " %{y:.0%} at %{x:.1f} s<extra></extra>")
    fig.update_layout(height=320, margin={**_MARGIN, "t": 10}, legend={"orientation": "h", "y": -0.25},
                      uirevision="live")  # keep zoom and hidden lines across the refreshes
    fig.update_xaxes(title="seconds ago", range=[-window_s, 0])
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return fig


def emotion_timeline(times: Sequence[float], probs: np.ndarray, title: str | None = None) -> go.Figure:
    """The 7 emotion probabilities (N×7, rows of NaN where the face is not seen) over time, one line each.

    NaN rows break the lines, so a face that leaves and comes back shows a gap, not a made-up slope.
    """
    probs = np.asarray(probs, dtype=float)
    fig = go.Figure()
    for i, emotion in enumerate(EMOTIONS):
        fig.add_scatter(x=list(times), y=probs[:, i], name=emotion, mode="lines", line={"color": rgb(COLORS[emotion])},
                        hovertemplate=f"{emotion}: %{{y:.0%}}<extra></extra>")
    fig.update_layout(title={"text": title, "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 10}},
                      height=360, margin={**_MARGIN, "t": 70}, hovermode="x unified",
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
    fig.update_xaxes(title="time (s)", rangemode="tozero")
    fig.update_yaxes(title="probability", range=[0, 1], tickformat=".0%")
    return fig


def dominant_strip(times: Sequence[float], labels: Mapping[str, Sequence[str | None]]) -> go.Figure:
    """One coloured strip per face ("Face 1" → its top emotion at each time, None while unseen).

    A glance shows which emotion held when; the colours are those of the timeline and the drawings.
    """
    names = list(labels)
    z = [[EMOTIONS.index(e) if isinstance(e, str) else None for e in row] for row in labels.values()]
    text = [[e if isinstance(e, str) else "" for e in row] for row in labels.values()]
    bands = [(k / len(EMOTIONS), rgb(COLORS[e])) for i, e in enumerate(EMOTIONS) for k in (i, i + 1)]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(times), y=names, text=text, colorscale=bands, zmin=-0.5, zmax=len(EMOTIONS) - 0.5,
        showscale=False, xgap=0, ygap=4, hovertemplate="%{y}, %{x:.1f} s: %{text}<extra></extra>",
    ))
    fig.update_layout(height=90 + 36 * len(names), margin={**_MARGIN, "t": 10, "b": 40})
    fig.update_xaxes(title="time (s)", rangemode="tozero")
    fig.update_yaxes(autorange="reversed")
    return fig


def _plain(text: str) -> str:
    """User text (a file name) for a Plotly label: Plotly reads tags such as <b> in labels, so escape them."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def emotion_shares(labels: Sequence[str], shares: np.ndarray) -> go.Figure:
    """One horizontal bar per clip face ("file · face 1"), split by the share of its time in each emotion (N×7)."""
    shares = np.asarray(shares, dtype=float)
    names = [_plain(label) for label in labels]
    fig = go.Figure()
    for i, emotion in enumerate(EMOTIONS):
        fig.add_bar(y=names, x=shares[:, i].tolist(), name=emotion, orientation="h", marker_color=rgb(COLORS[emotion]),
                    hovertemplate=f"%{{y}}: {emotion} %{{x:.0%}}<extra></extra>")
    fig.update_layout(barmode="stack", height=120 + 28 * len(names), margin={**_MARGIN, "t": 10},
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "traceorder": "normal"})
    fig.update_xaxes(title="share of the time the face is seen", range=[0, 1], tickformat=".0%")
    fig.update_yaxes(autorange="reversed", type="category")
    return fig
