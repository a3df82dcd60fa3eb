"""Exit 0 when every pinned requirement in the given file is installed at that version.

Lets `make` skip pip entirely on a machine that is already set up.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def pins(path: Path) -> list[tuple[str, str]]:
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += pins(path.parent / line[3:].strip())
        elif "==" in line:
            name, wanted = line.split("==", 1)
            found.append((name.strip(), wanted.strip()))
    return found


def main(path: str) -> int:
    for name, wanted in pins(Path(path)):
        try:
            if version(name) != wanted:
                return 1
        except PackageNotFoundError:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
