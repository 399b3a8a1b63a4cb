"""Anthropic Messages streams (``POST /v1/messages`` with ``"stream": true``), decoded and merged.

>>> from ssedelta import anthropic
>>> message = anthropic.merge(open("stream.sse", "rb"))    # doctest: +SKIP
>>> message.content[0].text                                # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from importlib import import_module
from typing import Any, cast

from .. import _api
from .._api import AsyncSource, Source
from .._backend import Backend, selected
from .._schema import Model
from . import _usage, models  # noqa: F401  # _usage registers Message with ssedelta.Usage
from ._merge_py import MessagesMerger as _PyMessagesMerger
from ._merge_py import aiter_events as _aiter_events
from ._merge_py import iter_events as _iter_events
from .models import *  # noqa: F403
from .replay import replay_dicts, replay_sse

_classes: dict[str, type[_PyMessagesMerger]] = {}


def merger_class(backend: Backend) -> type[_PyMessagesMerger]:
    """The ``MessagesMerger`` that reads its events with ``backend``'s tokenizer."""
    cls = _classes.get(backend.name)
    if cls is None and backend.name == "native":
        cls = _classes[backend.name] = import_module(f"{__name__}._merge_c").MessagesMerger
    if cls is None:
        cls = type("MessagesMerger", (_PyMessagesMerger,), {"sse_class": backend.SSEDecoder})
        cls.__module__ = __name__
        _classes[backend.name] = cls
    return cls


class Functions:
    """The stream functions of one backend: ``merge``, ``amerge``, ``iter_events``, ``aiter_events``."""

    def __init__(self, backend: Backend) -> None:
        self.MessagesMerger = merger_class(backend)
        self.merge = functools.partial(_api.merge, merger_class=self.MessagesMerger)
        self.amerge = functools.partial(_api.amerge, merger_class=self.MessagesMerger)
        self.iter_events = functools.partial(_iter_events, sse_class=backend.SSEDecoder)
        self.aiter_events = functools.partial(_aiter_events, sse_class=backend.SSEDecoder)


def for_backend(backend: Backend) -> Functions:
    """This module's stream functions over ``backend`` (``ssedelta.get_backend("python")``, ...)."""
    return Functions(backend)


_selected = for_backend(selected())
MessagesMerger = _selected.MessagesMerger


def merge(source: Source, **options: Any) -> models.Message:
    """Merge a whole Messages stream (bytes, str, a binary file or an iterable of bytes)."""
    return cast(models.Message, _selected.merge(source, **options))


async def amerge(source: AsyncSource, **options: Any) -> models.Message:
    """Merge an async Messages stream (e.g. ``httpx.Response.aiter_raw()``)."""
    return cast(models.Message, await _selected.amerge(source, **options))


def iter_events(source: Source, **options: Any) -> Iterator[Model]:
    """The event objects of a stream, in order, through ``message_stop``."""
    return _selected.iter_events(source, **options)


def aiter_events(source: AsyncSource, **options: Any) -> AsyncIterator[Model]:
    """The event objects of an async stream, in order, through ``message_stop``."""
    return _selected.aiter_events(source, **options)


__all__ = [
    "Functions",
    "MessagesMerger",
    "aiter_events",
    "amerge",
    "for_backend",
    "iter_events",
    "merge",
    "merger_class",
    "models",
    "replay_dicts",
    "replay_sse",
    *models.__all__,
]
