"""A server-wide limit on analyses running at once, first come first served.

Every video analysis is CPU-bound; on a public server each visitor pressing Analyse would otherwise
start one more job on the same cores and slow everyone (the webcam streams included). Visitors over
the limit wait in line and see their place; leaving the line (a rerun, a closed tab) frees it at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class AnalysisSlots:
    """At most `slots` holders at a time; the others wait in arrival order. Thread-safe."""

    def __init__(self, slots: int):
        if slots < 1:
            raise ValueError(f"the number of analysis slots must be at least 1, got {slots}")
        self.slots = slots
        self._changed = threading.Condition()
        self._running = 0
        self._line: list[object] = []  # tickets of those waiting, first come first

    @contextmanager
    def slot(self, waiting: Callable[[int], None] = lambda _: None, poll_s: float = 0.5) -> Iterator[None]:
        """Hold a slot for the block, waiting in line for one first.

        While waiting, `waiting(place)` is called about every `poll_s` seconds with the number of
        visitors ahead in line (0: next). On a Streamlit page it draws the place; it is also where
        Streamlit stops a script whose visitor pressed Cancel or left, and then the ticket is dropped.
        """
        ticket = object()
        admitted = False
        with self._changed:
            self._line.append(ticket)
        try:
            while True:
                with self._changed:
                    ahead = self._line.index(ticket)
                    if ahead < self.slots - self._running:
                        self._line.remove(ticket)
                        self._running += 1
                        admitted = True
                        break
                waiting(ahead)
                with self._changed:
                    self._changed.wait(poll_s)
            yield
        finally:
            with self._changed:
                if admitted:
                    self._running -= 1
                else:
                    self._line.remove(ticket)
                self._changed.notify_all()

    def state(self) -> tuple[int, int]:
        """(running, waiting) now."""
        with self._changed:
            return self._running, len(self._line)
