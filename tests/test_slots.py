"""The server's line for analyses: a limit at once, first come first served, and leaving frees a place."""

from __future__ import annotations

import threading
import time

import pytest

from emodetect.app.slots import AnalysisSlots


class Left(Exception):
    """What Streamlit raises in a waiting script when its visitor presses Cancel or goes away."""


def test_holders_never_exceed_the_limit_and_come_in_order():
    slots = AnalysisSlots(2)
    lock, holding, most, order = threading.Lock(), [0], [0], []

    def visitor(i: int) -> None:
        with slots.slot(poll_s=0.01):
            with lock:
                holding[0] += 1
                most[0] = max(most[0], holding[0])
                order.append(i)
            time.sleep(0.05)
            with lock:
                holding[0] -= 1

    threads = []
    for i in range(6):
        threads.append(threading.Thread(target=visitor, args=(i,)))
        threads[-1].start()
        time.sleep(0.005)  # arrive in this order
    for t in threads:
        t.join(10)
    assert most[0] == 2 and sorted(order) == list(range(6))
    assert order[:2] == [0, 1] and order[2:] == [2, 3, 4, 5]
    assert slots.state() == (0, 0)


def test_a_waiting_visitor_sees_their_place_and_can_leave():
    slots = AnalysisSlots(1)
    places: list[int] = []
    release = threading.Event()

    def first() -> None:
        with slots.slot():
            release.wait(10)

    holder = threading.Thread(target=first)
    holder.start()
    while slots.state() != (1, 0):
        time.sleep(0.01)

    def waiting(ahead: int) -> None:
        places.append(ahead)
        if len(places) == 3:
            raise Left

    with pytest.raises(Left):
        with slots.slot(waiting=waiting, poll_s=0.01):
            pytest.fail("admitted while the only slot was held")
    assert places == [0, 0, 0]  # next in line, three times
    assert slots.state() == (1, 0)  # leaving took the ticket out of the line
    release.set()
    holder.join(10)
    with slots.slot(waiting=lambda _: pytest.fail("waited for a free slot")):
        assert slots.state() == (1, 0)
    assert slots.state() == (0, 0)


def test_zero_slots_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        AnalysisSlots(0)
