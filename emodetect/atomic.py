"""Atomic file writes: a reader (or a resumed run) sees the old file or the new one, never half of one.

The data goes to a temporary file with a unique name in the target's own folder (so `os.replace`
stays on one file system and is atomic), which then replaces the target. A unique name, not a fixed
`.tmp`, because two writers may overlap: a retried batch unit beside a stale attempt, say.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TMP_SUFFIX = ".tmp"


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically, creating its folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX,
                                     delete=False) as tmp:
        try:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
            os.chmod(tmp.name, 0o644)  # as a plain write would leave it (the temporary file starts private)
        except BaseException:
            tmp.close()
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)


def remove_stray_temporaries(folder: str | os.PathLike) -> int:
    """Delete the temporary files a killed writer left under `folder`; returns how many."""
    stray = [p for p in Path(folder).rglob(f".*{TMP_SUFFIX}") if p.is_file()]
    for p in stray:
        p.unlink()
    return len(stray)
