"""Which files a list of paths names: files as given, directories walked recursively, globs expanded."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

_GLOB_CHARS = frozenset("*?[")


def is_glob(path: str) -> bool:
    return any(c in _GLOB_CHARS for c in path)


def expand(
    paths: Iterable[str | os.PathLike[str]], include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> list[str]:
    """The files ``paths`` name, in order, each once.

    A directory gives every file below it, sorted by path, skipping names that
    start with ``.``; a glob (``*``, ``?``, ``[...]``, with ``**`` for any depth)
    gives its matches, sorted. A path that names nothing raises
    :class:`FileNotFoundError`.

    ``include`` and ``exclude`` filter the files found in directories and by
    globs (a file named as such is always read): a file is kept when it matches
    some ``include`` pattern (any file, when there is none) and no ``exclude``
    pattern. See :func:`matches` for how a pattern matches.
    """
    out: dict[str, None] = {}

    def found(top: str, files: Iterable[str]) -> None:
        for file in files:
            relative = os.path.relpath(file, top) if top else file
            if _chosen(relative, include, exclude):
                out[file] = None

    for item in paths:
        path = os.fspath(item)
        if os.path.isdir(path):
            found(path, _walk(path))
        elif os.path.exists(path):
            out[path] = None
        elif is_glob(path):
            matches = sorted(glob.glob(path, recursive=True))
            if not matches:
                raise FileNotFoundError(f"no file matches {path!r}")
            for match in matches:
                if os.path.isdir(match):
                    found(match, _walk(match))
                else:
                    found("", (match,))
        else:
            raise FileNotFoundError(f"no such file or directory: {path!r}")
    return list(out)


def matches(relative: str, pattern: str) -> bool:
    """Whether ``pattern`` matches a file at ``relative``, its path below the directory named
    (for a glob's match, the path as matched), with ``/`` between names.

    ``fnmatch`` rules, case-sensitive: ``*`` and ``?`` match any characters, ``/`` included, and
    ``[...]`` one of a set; so ``*.md`` matches ``README.md`` and ``docs/a.md``. A pattern without
    ``/`` also matches the file's own name (``README.md`` matches ``docs/README.md``).
    """
    relative = relative.replace(os.sep, "/")
    if fnmatchcase(relative, pattern):
        return True
    return "/" not in pattern and fnmatchcase(relative.rsplit("/", 1)[-1], pattern)


def _chosen(relative: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    if include and not any(matches(relative, p) for p in include):
        return False
    return not any(matches(relative, p) for p in exclude)


def _walk(top: str) -> list[str]:
    found: list[str] = []
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(folder, name) for name in files if not name.startswith("."))
    return sorted(found)
