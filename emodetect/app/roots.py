"""The server folders the app may read: only those its operator configured, never a path a visitor types.

A public demo must not let strangers probe the server's disk. Pages that read server data offer a
list of the operator's roots (by name, not by path) and, below a root, only what resolves inside it
after symlinks. Anything else gets one refusal that says nothing about what exists.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REFUSAL = "That location is not available on this server."
# Longer requests are refused before touching the disk (no OS error text to leak).
MAX_PATH_CHARS = 512


class NotAvailable(ValueError):
    """A visitor asked for something outside the configured roots; the message is always `REFUSAL`."""

    def __init__(self) -> None:
        super().__init__(REFUSAL)


@dataclass(frozen=True)
class Root:
    """A folder or file the operator configured: visitors see `label` (its name), never `path`."""

    label: str
    path: Path


def roots_from(paths: Iterable[str | os.PathLike]) -> list[Root]:
    """The configured `paths` (symlinks resolved now, once) as roots labelled by their names, made
    distinct ("fer2013", "fer2013 (2)") so that a label alone picks one."""
    roots: list[Root] = []
    for path in paths:
        resolved = Path(path).expanduser().resolve()
        label, n = resolved.name or str(resolved), 1
        while any(root.label == label for root in roots):
            n += 1
            label = f"{resolved.name} ({n})"
        roots.append(Root(label, resolved))
    return roots


def split_setting(value: str | Iterable[str] | None) -> list[str]:
    """A roots setting as paths: an environment variable lists them separated by `os.pathsep`, a
    secrets.toml entry is a string or a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in value.split(os.pathsep) if part.strip()]
    return [str(part) for part in value if str(part).strip()]


def by_label(roots: Iterable[Root], label: str) -> Root:
    """The root a visitor picked by name; `NotAvailable` for any other string (a path included)."""
    for root in roots:
        if root.label == label:
            return root
    raise NotAvailable


def inside(root: Path, relative: str) -> Path:
    """`relative` (a visitor's choice, e.g. from the page's URL) as an existing path under `root`.

    Refused (`NotAvailable`): empty, over-long or NUL-carrying strings, absolute paths, `~`, any `..`,
    and anything that leaves `root` once symlinks are followed.
    """
    if not relative or len(relative) > MAX_PATH_CHARS or "\x00" in relative:
        raise NotAvailable
    candidate = Path(relative)
    if candidate.is_absolute() or relative.startswith("~") or ".." in candidate.parts:
        raise NotAvailable
    base = root.resolve()
    try:
        resolved = (base / candidate).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, unreadable, or a symlink loop
        raise NotAvailable from None
    if resolved != base and not resolved.is_relative_to(base):
        raise NotAvailable
    return resolved


def folders_inside(root: Path, contains: str, max_depth: int = 3) -> list[str]:
    """Folders under `root` (as relative POSIX paths, sorted) that hold a file named `contains` and
    stay inside `root` after symlinks: what a page may list for visitors to pick from."""
    base = root.resolve()
    found = []
    for folder, subfolders, files in os.walk(base, followlinks=False):
        depth = len(Path(folder).relative_to(base).parts)
        if depth >= max_depth:
            subfolders.clear()
        if contains in files and (Path(folder) / contains).resolve().is_relative_to(base):
            found.append(Path(folder).relative_to(base).as_posix())
    return sorted(found)
