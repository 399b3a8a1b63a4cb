"""Which files a list of paths names: files as given, directories walked recursively, globs expanded."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable

_GLOB_CHARS = frozenset("*?[")


def is_glob(path: str) -> bool:
    return any(c in _GLOB_CHARS for c in path)


def expand(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The files ``paths`` name, in order, each once.

    A directory gives every file below it, sorted by path, skipping names that
    start with ``.``; a glob (``*``, ``?``, ``[...]``, with ``**`` for any depth)
    gives its matches, sorted. A path that names nothing raises
    :class:`FileNotFoundError`.
    """
    out: dict[str, None] = {}
    for item in paths:
        path = os.fspath(item)
        if os.path.isdir(path):
            out.update(dict.fromkeys(_walk(path)))
        elif os.path.exists(path):
            out[path] = None
        elif is_glob(path):
            matches = sorted(glob.glob(path, recursive=True))
            if not matches:
                raise FileNotFoundError(f"no file matches {path!r}")
            for match in matches:
                if os.path.isdir(match):
                    out.update(dict.fromkeys(_walk(match)))
                else:
                    out[match] = None
        else:
            raise FileNotFoundError(f"no such file or directory: {path!r}")
    return list(out)


def _walk(top: str) -> list[str]:
    found: list[str] = []
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(folder, name) for name in files if not name.startswith("."))
    return sorted(found)
