"""Test-only: let aioice offer 127.0.0.1 as an ICE host candidate, and log WebRTC trouble.

aioice leaves out 127.0.0.1 when it lists the machine's addresses, so on a machine whose
only interface is `lo` (a CI container) the server has no candidate at all and WebRTC
with a browser on the same machine never connects. tests/browser_support.py puts this
folder on PYTHONPATH for the Streamlit servers it starts (the browser tests' and
benchmarks/webcam_soak.py's), and for nothing else: Python imports `sitecustomize` at
start-up, before the app. The app itself never loads this.
"""

from __future__ import annotations

import logging

# streamlit-webrtc logs a failed frame callback or a dropped connection only to its own loggers, which
# have no handler: send their warnings to the server's log (test-output/streamlit-server.log).
_handler = logging.StreamHandler()
_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
for _name in ("streamlit_webrtc", "aiortc", "aioice"):
    logging.getLogger(_name).addHandler(_handler)
    logging.getLogger(_name).setLevel(logging.WARNING)

try:
    import aioice.ice
except ImportError:  # pragma: no cover - streamlit-webrtc not installed: nothing to patch
    aioice = None

if aioice is not None:
    _host_addresses = aioice.ice.get_host_addresses

    def _with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        """aioice's own list, plus 127.0.0.1 (first, so the loopback pair is tried early)."""
        addresses = _host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        if use_ipv4 and "127.0.0.1" not in addresses:
            addresses.insert(0, "127.0.0.1")
        return addresses

    aioice.ice.get_host_addresses = _with_loopback
