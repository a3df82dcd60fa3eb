"""The only server folders a visitor reaches: those the operator configured, by name, and what stays inside them."""

from __future__ import annotations

import os

import pytest

from emodetect.app import roots
from emodetect.app.roots import REFUSAL, NotAvailable


@pytest.fixture
def results(tmp_path):
    """A results root with two batch outputs, and a symlink inside it that leads out of it."""
    root = tmp_path / "results"
    (root / "study" / "week1").mkdir(parents=True)
    (root / "study" / "week1" / "batch.json").write_text("{}")
    (root / "photos").mkdir()
    (root / "photos" / "batch.json").write_text("{}")
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "batch.json").write_text("{}")
    (root / "escape").symlink_to(outside)
    (root / "inner").symlink_to(root / "photos")  # a symlink that stays inside is fine
    return root


PROBES = ["/", "/etc", "..", "~", "~/.ssh", "/proc/self/environ", "escape", "escape/batch.json", "study/../..",
          "photos/../../private", "study/week1/../../../private", "nowhere", "", "a" * 5000, "photos\x00"]


@pytest.mark.parametrize("probe", PROBES, ids=[repr(p[:20]) for p in PROBES])
def test_every_probe_gets_the_one_refusal(results, probe):
    with pytest.raises(NotAvailable) as refused:
        roots.inside(results, probe)
    assert str(refused.value) == REFUSAL


def test_what_stays_inside_resolves(results):
    assert roots.inside(results, "study/week1") == (results / "study" / "week1").resolve()
    assert roots.inside(results, "inner") == (results / "photos").resolve()


def test_listing_offers_only_folders_inside(results):
    assert roots.folders_inside(results, "batch.json") == ["photos", "study/week1"]


def test_roots_are_picked_by_name_never_by_path(tmp_path):
    (tmp_path / "a" / "fer2013").mkdir(parents=True)
    (tmp_path / "b" / "fer2013").mkdir(parents=True)
    configured = roots.roots_from([tmp_path / "a" / "fer2013", tmp_path / "b" / "fer2013"])
    assert [r.label for r in configured] == ["fer2013", "fer2013 (2)"]
    assert roots.by_label(configured, "fer2013 (2)").path == (tmp_path / "b" / "fer2013").resolve()
    for probe in [str(tmp_path / "a" / "fer2013"), "/etc", "..", "fer2013/.."]:
        with pytest.raises(NotAvailable):
            roots.by_label(configured, probe)


def test_settings_split_into_paths():
    assert roots.split_setting(None) == []
    assert roots.split_setting(f"/data/a{os.pathsep}/data/b{os.pathsep}") == ["/data/a", "/data/b"]
    assert roots.split_setting(["/data/a", " "]) == ["/data/a"]
