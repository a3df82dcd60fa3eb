"""Exit 0 when this interpreter can build the project's environment; else say what to install and exit 1.

Run by `make` with the interpreter it found, before it creates `.venv`. Written for old Pythons too,
so that a too-old one gets this message, not a syntax error.
"""

import importlib.util
import sys

# The range every pinned wheel in requirements.txt is published for (tensorflow 2.21 stops at 3.13).
OLDEST, NEWEST = (3, 11), (3, 13)


def main():
    found = sys.version_info[:2]
    wanted = "Python {}.{} to {}.{}".format(*OLDEST, *NEWEST)
    if not OLDEST <= found <= NEWEST:
        print("error: {} is Python {}.{}; the pinned packages need {}. Install one (e.g. `apt-get install "
              "python3.11` or pyenv) and run `make PYTHON=python3.11 ...`".format(sys.executable, *found, wanted),
              file=sys.stderr)
        return 1
    missing = [name for name in ("venv", "ensurepip") if importlib.util.find_spec(name) is None]
    if missing:
        print("error: {} has no {} module, so it cannot make the project's .venv. On Debian or Ubuntu: "
              "`apt-get install python3-venv` (or python{}.{}-venv)".format(sys.executable, missing[0], *found),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
