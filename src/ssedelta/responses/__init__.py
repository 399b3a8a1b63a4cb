"""OpenAI Responses API streams: decode the events, merge them into the final ``Response``.

>>> from ssedelta import responses
>>> response = responses.merge(open("stream.sse", "rb"))    # doctest: +SKIP
>>> response.output_text                                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from importlib import import_module
from typing import Any

from .. import _api
from .._backend import Backend, selected
from .._schema import Model
from . import _merge_py, _usage, models  # noqa: F401  # _usage registers Response with ssedelta.Usage
from .models import *  # noqa: F403
from .replay import replay_dicts, replay_sse

_classes: dict[tuple[str, str], Any] = {}


def _bound(base: Any, backend: Backend) -> Any:
    """``base`` (the merger or the decoder) reading its bytes with ``backend``'s SSE tokenizer."""
    if backend.SSEDecoder is base._sse_class:
        return base
    key = (base.__name__, backend.name)
    if key not in _classes:
        _classes[key] = type(base.__name__, (base,), {"_sse_class": backend.SSEDecoder, "__slots__": ()})
    return _classes[key]


def merger_class(backend: Backend) -> type[_merge_py.ResponsesMerger]:
    """The :class:`ResponsesMerger` of ``backend``: the compiled one for ``"native"``, the twin
    over ``backend``'s tokenizer otherwise."""
    if backend.name == "native":
        return import_module(f"{__name__}._merge_c").ResponsesMerger  # type: ignore[no-any-return]
    return _bound(_merge_py.ResponsesMerger, backend)  # type: ignore[no-any-return]


def decoder_class(backend: Backend) -> type[_merge_py.EventDecoder]:
    """The :class:`EventDecoder` of ``backend``."""
    return _bound(_merge_py.EventDecoder, backend)  # type: ignore[no-any-return]


_backend = selected()
ResponsesMerger = merger_class(_backend)
EventDecoder = decoder_class(_backend)


def merge(source: _api.Source, *, backend: Backend | None = None, **options: Any) -> models.Response:
    """Merge a whole stream (bytes, str, a binary file or an iterable of bytes) into one ``Response``."""
    cls = ResponsesMerger if backend is None else merger_class(backend)
    return _api.merge(source, merger_class=cls, **options)  # type: ignore[no-any-return]


async def amerge(
    source: _api.AsyncSource, *, backend: Backend | None = None, **options: Any
) -> models.Response:
    """Merge an async stream (e.g. ``httpx.Response.aiter_raw()``) into one ``Response``."""
    cls = ResponsesMerger if backend is None else merger_class(backend)
    return await _api.amerge(source, merger_class=cls, **options)  # type: ignore[no-any-return]


def iter_events(source: _api.Source, *, backend: Backend | None = None, **options: Any) -> Iterator[Model]:
    """The event objects of a stream, in order, up to ``[DONE]``."""
    cls = EventDecoder if backend is None else decoder_class(backend)
    return _api.iter_chunks(source, decoder_class=cls, **options)


def aiter_events(
    source: _api.AsyncSource, *, backend: Backend | None = None, **options: Any
) -> AsyncIterator[Model]:
    """The event objects of an async stream, in order, up to ``[DONE]``."""
    cls = EventDecoder if backend is None else decoder_class(backend)
    return _api.aiter_chunks(source, decoder_class=cls, **options)


__all__ = [
    "EventDecoder",
    "ResponsesMerger",
    "aiter_events",
    "amerge",
    "decoder_class",
    "iter_events",
    "merge",
    "merger_class",
    "models",
    "replay_dicts",
    "replay_sse",
    *models.__all__,
]
