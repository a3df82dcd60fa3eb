"""The Batch results page's work: the operator's batch output folders, read safely and cached until they change."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from emodetect.app import roots

# --- batch results (read-only: the server never runs a batch) -------------------------------------------------

def batch_folders(root: roots.Root) -> list[str]:
    """The batch outputs under the results root (folders holding a batch.json), as relative paths; none that
    a symlink leads out of the root."""
    return roots.folders_inside(root.path, "batch.json") if root.path.is_dir() else []


def batch_folder(root: roots.Root, name: str) -> Path:
    """The batch output `name` (a visitor's pick, or ?batch= in the page's URL) as a folder under the root;
    `NotAvailable` for anything that is not one of `batch_folders(root)`, whatever the reason."""
    if name not in batch_folders(root):
        raise roots.NotAvailable
    return roots.inside(root.path, name)


def results_stamp(folder: Path) -> float:
    """When the folder's results last changed (the newest unit record or batch.json), to key the cache."""
    records = [folder / "batch.json", *(folder / "units").rglob("*.json")]
    return max((p.stat().st_mtime for p in records if p.is_file()), default=0.0)


@dataclass(frozen=True)
class BatchView:
    """What the Batch results page shows of one batch folder."""

    counts: dict | None  # files, clips, photos, done, failed, ignored; None while the batch has not finished
    summary: pd.DataFrame  # summary.csv
    errors: pd.DataFrame  # errors.csv: file, reason
    summary_csv: bytes  # for the download button


@st.cache_data(max_entries=8, show_spinner="Reading the batch results…")
def batch_results(folder: str, stamp: float) -> BatchView:
    """A batch folder's tables, read once per folder and `results_stamp` (a resumed batch is read again)."""
    folder_path = Path(folder)
    counts = json.loads((folder_path / "batch.json").read_text()).get("counts")
    if counts is None or not (folder_path / "summary.csv").is_file():
        return BatchView(None, pd.DataFrame(), pd.DataFrame(), b"")
    summary_csv = (folder_path / "summary.csv").read_bytes()
    return BatchView(counts, pd.read_csv(folder_path / "summary.csv", keep_default_na=False, na_values=[""]),
                     pd.read_csv(folder_path / "errors.csv", keep_default_na=False, na_values=[""]), summary_csv)


def clip_faces(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary's clip rows with a face, labelled "file · face N", for the shares chart."""
    faces = summary[(summary["kind"] == "clip") & summary["face_id"].notna()].copy()
    faces["label"] = [f"{file} · face {int(i)}" for file, i in zip(faces["file"], faces["face_id"])]
    return faces


def batch_timeline(folder: Path, source: str) -> pd.DataFrame:
    """A clip's timeline from a batch folder; `NotAvailable` if `source` leads out of its timelines."""
    from emodetect.batch import timeline_path

    path = timeline_path(folder, source).resolve()
    if not path.is_relative_to(folder / "timelines") or not path.is_file():
        raise roots.NotAvailable
    return pd.read_csv(path)
