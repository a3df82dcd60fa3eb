"""The Ray engine on a real two-node cluster on this machine (ray.cluster_utils.Cluster): units spread over both
nodes, a node lost mid-clip, a worker killed mid-clip; each time the outputs are the in-process engine's bytes.

Ray is in requirements.txt, so these run everywhere the suite does: a missing Ray fails, never skips.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import ray
from ray.cluster_utils import Cluster

from emodetect import batch
from tests.batch_support import attempts, cli, media_folder, signalled, temporaries, tree

EVERY = 2  # the clip a test interrupts must still be running when it is interrupted
PINNED = "phone_at_night.mp4"


@pytest.fixture(scope="module")
def cluster() -> Iterator[SimpleNamespace]:
    """A head with no CPUs (the driver attaches there; it cannot be removed), a worker node and a "victim" node
    (the one a test removes), shared by the module's tests."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    victim = cluster.add_node(num_cpus=1, resources={"victim": 1})
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False, logging_level="warning")
    try:
        yield SimpleNamespace(cluster=cluster, victim=victim)
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture(scope="module")
def folder(media_dir, tmp_path_factory) -> Path:
    return media_folder(media_dir, tmp_path_factory.mktemp("batch_ray") / "in")


@pytest.fixture(scope="module")
def reference(folder) -> Path:
    out = folder.parent / "reference"
    settings = batch.Settings.make(folder, every=EVERY)
    assert batch.analyse_folder(folder, out, settings).exit_status == 0
    return out


def _pin_clip(group: list[batch.Unit]) -> dict:
    return {"resources": {"victim": 1}} if group[0].source == PINNED else {}


def _in_background(folder: Path, out: Path, **options) -> tuple[threading.Thread, list]:
    """The batch on the cluster, on a thread, so the test can break things while it runs."""
    reports: list = []

    def work() -> None:
        settings = batch.Settings.make(folder, every=EVERY)
        reports.append(batch.analyse_folder(folder, out, settings, engine="ray", analyse=signalled, **options))

    thread = threading.Thread(target=work)
    thread.start()
    return thread, reports


def _wait_for(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _fresh_signals(folder: Path) -> Path:
    signals = folder.parent / "signals"
    for log in signals.glob("*.log"):
        log.unlink()
    return signals


def test_units_run_on_both_nodes_and_survive_losing_one_mid_clip(cluster, folder, reference, tmp_path):
    signals = _fresh_signals(folder)
    out = tmp_path / "out"
    thread, reports = _in_background(folder, out, ray_options=_pin_clip)
    _wait_for(lambda: attempts(signals, PINNED), "the pinned clip to start")
    cluster.cluster.remove_node(cluster.victim, allow_graceful=False)
    cluster.victim = cluster.cluster.add_node(num_cpus=1, resources={"victim": 1})
    thread.join(timeout=300)
    assert reports and reports[0].exit_status == 0
    runs = attempts(signals, PINNED)
    assert len({node for node, _ in runs}) == 2, runs  # begun on the lost node, finished on its replacement
    logs = [log.read_text() for log in signals.glob("*.log")]
    assert len(logs) == 5 and not any("tensorflow" in log for log in logs)  # never imported on a worker
    nodes = {line.split()[0] for log in logs for line in log.splitlines()}
    assert len(nodes) >= 2  # the other units ran on the other node
    assert tree(out) == tree(reference) and not temporaries(out)


def test_a_worker_killed_mid_clip_is_retried(cluster, folder, reference, tmp_path):
    signals = _fresh_signals(folder)
    clip = "sub/talking_woman.mp4"
    out = tmp_path / "out"
    thread, reports = _in_background(folder, out)
    _wait_for(lambda: attempts(signals, clip), "the clip to start")
    (_, pid), = attempts(signals, clip)
    time.sleep(0.5)  # mid-clip: its first frames analysed
    os.kill(pid, signal.SIGKILL)
    thread.join(timeout=300)
    assert reports and reports[0].exit_status == 0
    assert len(attempts(signals, clip)) == 2  # killed once, retried once
    assert tree(out) == tree(reference) and not temporaries(out)


def test_the_command_joins_a_running_cluster_by_address(cluster, folder, reference, tmp_path):
    out = tmp_path / "out"
    cli("batch", folder, "--out", out, "--every", EVERY, "--ray", cluster.cluster.address, "--quiet")
    assert tree(out) == tree(reference)
    assert json.loads((out / "batch.json").read_text())["this_run"]["ray_address"] == cluster.cluster.address
