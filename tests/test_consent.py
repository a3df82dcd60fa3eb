"""The server's WebRTC consent check (emodetect/app/consent.py) between two real aioice connections on loopback,
with time scaled down: checks every 0.1 s, consent expiring after 1 s without an answer (30 s in use).

A browser that answers each check 0.7 s late (over aioice's 0.5 s) keeps its stream under RFC 7675's rule
and loses it under aioice's own; a browser that stops answering loses it either way.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import aioice
import aioice.ice
import pytest

from emodetect.app import consent

INTERVAL_S, EXPIRY_S, LATE_S = 0.1, 1.0, 0.7


async def _connected_pair() -> tuple[aioice.Connection, aioice.Connection]:
    """The server's side (controlled, as under streamlit-webrtc) and the browser's, connected."""
    server = aioice.Connection(ice_controlling=False, use_ipv6=False)
    browser = aioice.Connection(ice_controlling=True, use_ipv6=False)
    await asyncio.gather(server.gather_candidates(), browser.gather_candidates())
    for one, other in ((server, browser), (browser, server)):
        for candidate in other.local_candidates:
            await one.add_remote_candidate(candidate)
        await one.add_remote_candidate(None)
        one.remote_username, one.remote_password = other.local_username, other.local_password
    await asyncio.gather(server.connect(), browser.connect())
    return server, browser


def _answer(browser: aioice.Connection, after_s: float | None) -> None:
    """From now on the browser answers the server's checks `after_s` late, or never (None)."""
    answer = browser.request_received

    def late(message, addr, protocol) -> None:
        if after_s is not None:
            asyncio.get_running_loop().call_later(after_s, answer, message, addr, protocol)

    browser.request_received = late


async def _still_connected_after(seconds: float, browser_answers_after: float | None) -> bool:
    server, browser = await _connected_pair()
    try:
        _answer(browser, browser_answers_after)
        await asyncio.sleep(seconds)
        try:
            await server.send(b"frame")
        except ConnectionError:
            return False
        return await asyncio.wait_for(browser.recv(), 1) == b"frame"
    finally:
        await asyncio.gather(server.close(), browser.close())


def _run(seconds: float, browser_answers_after: float | None) -> bool:
    """`_still_connected_after` on an event loop of its own thread (the browser tests' Playwright may hold
    this thread's)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, _still_connected_after(seconds, browser_answers_after)).result()


@pytest.fixture
def scaled_time(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", INTERVAL_S)
    monkeypatch.setattr(consent, "CONSENT_EXPIRY_S", EXPIRY_S)
    monkeypatch.setattr(aioice.ice.Connection, "query_consent", aioice.ice.Connection.query_consent)  # restored after


def test_a_browser_that_answers_late_keeps_its_stream(scaled_time):
    # aioice's own check: six late answers in a row (~0.7 s each) end the call.
    assert not _run(6 * (INTERVAL_S * 1.2 + 0.5) + 1, LATE_S)
    consent.use_rfc7675_consent()
    assert _run(2.5 * EXPIRY_S, LATE_S)


def test_a_browser_that_stops_answering_loses_its_stream_after_the_expiry(scaled_time):
    consent.use_rfc7675_consent()
    assert _run(EXPIRY_S / 2, None)
    assert not _run(EXPIRY_S + 2 * INTERVAL_S, None)
