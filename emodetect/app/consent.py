"""WebRTC consent freshness as RFC 7675 words it, for aioice (the ICE under streamlit-webrtc and aiortc).

Every ~5 s the server asks each browser "may I still send?" (a STUN binding request). aioice 0.13 waits
0.5 s for each answer, never asks again, and ends the call after six late answers in a row (aiortc/aioice
issue #58). A browser on a busy machine answers late: with four webcams and four uploads on two cores we
logged an answer 4.5 s after its request, and the streams ended while both ends were still there
(docs/benchmarks.md). RFC 7675 section 5.1 ends consent only when no answer has come for 30 s; this
check does that: each request is retried like any STUN request (0.5, 1, 2, 4 s apart), a late answer
still counts, and the call ends after `CONSENT_EXPIRY_S` without any answer.

`use_rfc7675_consent()` puts it in place of aioice's own check, for every connection made afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

import aioice.ice
import aioice.stun

CONSENT_EXPIRY_S = 30.0  # RFC 7675 section 5.1
CONSENT_RETRANSMISSIONS = 4  # a request is given up 15.5 s after it was sent (RTO 0.5 s, doubling)

log = logging.getLogger(__name__)


async def _query_consent(self: aioice.ice.Connection) -> None:
    """`Connection.query_consent`: a new request every `aioice.ice.CONSENT_INTERVAL` (±20%) while earlier
    ones may still be answered; close once `CONSENT_EXPIRY_S` pass without an answer."""
    assert self.remote_password is not None
    last_answer = time.monotonic()
    pending: set[asyncio.Task] = set()

    async def ask(pair: aioice.ice.CandidatePair) -> None:
        nonlocal last_answer
        try:
            await pair.protocol.request(self.build_request(pair, nominate=False), pair.remote_addr,
                                        integrity_key=self.remote_password.encode("utf8"),
                                        retransmissions=CONSENT_RETRANSMISSIONS)
            last_answer = time.monotonic()
        except aioice.stun.TransactionError:
            pass

    try:
        while True:
            await asyncio.sleep(aioice.ice.CONSENT_INTERVAL * (0.8 + 0.4 * random.random()))
            if time.monotonic() - last_answer > CONSENT_EXPIRY_S:
                log.warning("WebRTC consent expired: no answer from the browser for %.0f s; closing its stream",
                            time.monotonic() - last_answer)
                self._query_consent_task = None
                return await self.close()
            for pair in self._nominated.values():
                task = asyncio.create_task(ask(pair))
                pending.add(task)
                task.add_done_callback(pending.discard)
    finally:
        for task in pending:
            task.cancel()


def use_rfc7675_consent() -> None:
    """Make every aioice connection from now on check consent as RFC 7675 says (idempotent)."""
    aioice.ice.Connection.query_consent = _query_consent
