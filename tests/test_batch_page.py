"""The Batch results page (AppTest) on folders written by the in-process engine, and its path checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emodetect.app import batch_results, roots
from emodetect.app.roots import REFUSAL, NotAvailable
from emodetect.paths import PROJECT_DIR
from tests.batch_support import ODD_NAME

PAGE = PROJECT_DIR / "pages" / "5_Batch_results.py"


def _root(path: Path) -> roots.Root:
    return roots.roots_from([path])[0]


def _page(results_root: Path | None, monkeypatch) -> AppTest:
    if results_root is None:
        monkeypatch.delenv("EMODETECT_RESULTS", raising=False)
    else:
        monkeypatch.setenv("EMODETECT_RESULTS", str(results_root))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_page_shows_counts_summary_shares_timeline_and_errors(results_root, monkeypatch):
    at = _page(results_root, monkeypatch)
    assert at.selectbox[0].options == ["march", "running"]  # no link out of the root, no folder that is not a batch
    assert {m.label: m.value for m in at.metric} == {"Files": "3", "Clips": "1", "Photos": "2", "Done": "2",
                                                     "Failed": "1"}
    summary, errors = (frame.value for frame in at.dataframe)
    assert sorted(set(summary["file"])) == [ODD_NAME, "phone_at_night.mp4"]
    assert errors.values.tolist() == [["half.jpg", "half.jpg is damaged or incomplete, so it cannot be decoded"]]
    markdown = " ".join(m.value for m in at.markdown)
    assert "not bold" not in markdown and "<b>" not in markdown
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    shares, timeline = specs
    assert shares["data"][0]["y"] == ["phone_at_night.mp4 · face 1"]
    assert sum(trace["x"][0] for trace in shares["data"]) == pytest.approx(1, abs=1e-3)
    timeline_csv = (results_root / "march" / "timelines" / "phone_at_night.mp4.csv").read_text()
    assert len(timeline["data"][0]["x"]) == len(timeline_csv.splitlines()) - 1
    assert [t.value for t in at.text][0] == "phone_at_night.mp4, face 1"


def test_an_unfinished_batch_and_a_missing_root_say_so(results_root, monkeypatch):
    at = _page(results_root, monkeypatch)
    at.selectbox[0].select("running").run()
    assert not at.exception and "has not finished" in at.info[0].value and not at.dataframe
    at = _page(None, monkeypatch)
    assert "EMODETECT_RESULTS" in at.info[0].value and not at.selectbox


@pytest.mark.parametrize("name", ["../root/march", "escape", "not_a_batch", "/etc", "..", "march/../../root/march"])
def test_a_folder_outside_the_list_is_refused_with_one_message(results_root, name):
    with pytest.raises(NotAvailable) as refused:
        batch_results.batch_folder(_root(results_root), name)
    assert str(refused.value) == REFUSAL


def test_a_timeline_outside_the_batch_folder_is_refused(results_root):
    folder = batch_results.batch_folder(_root(results_root), "march")
    assert len(batch_results.batch_timeline(folder, "phone_at_night.mp4"))
    with pytest.raises(NotAvailable):
        batch_results.batch_timeline(folder, "../../escape/timelines/phone_at_night.mp4")
