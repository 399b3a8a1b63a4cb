"""Token usage in one shape whatever the stream format, for billing and statistics.

Each format registers how its result's usage reads (``register``); ``Usage.of(result)`` looks it up by
the result's type. ``input_tokens`` counts every input token, cached ones included (as OpenAI's
``prompt_tokens`` and ``input_tokens`` do); ``cached_input_tokens`` and ``cache_write_input_tokens`` are
the parts read from and written to a prompt cache.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

__all__ = ["Usage", "register"]


@dataclasses.dataclass(frozen=True, slots=True)
class Usage:
    """The token counts of one result; ``None`` where the stream did not say."""

    format: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    total_tokens: int | None = None
    #: The format's own usage object, as merged.
    original: Any = dataclasses.field(default=None, compare=False)

    @staticmethod
    def of(result: Any) -> Usage | None:
        """The usage of a merged result of any registered format; ``None`` when it carries none."""
        for cls in type(result).__mro__:
            reader = _READERS.get(cls)
            if reader is not None:
                return reader(result)
        raise TypeError(f"no usage reader for {type(result).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """The normalised counts (without ``original``)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "original"}


_READERS: dict[type, Callable[[Any], Usage | None]] = {}


def register(result_type: type, reader: Callable[[Any], Usage | None]) -> None:
    """Make ``Usage.of`` read results of ``result_type`` (and its subclasses) with ``reader``."""
    _READERS[result_type] = reader


def count(value: Any) -> int | None:
    """A token count as an ``int`` (providers sometimes send ``12.0``); ``None`` for anything else."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None
