"""How a Messages result's usage reads as ``ssedelta.Usage``."""

from __future__ import annotations

from typing import Any

from ..usage import Usage, count, register
from . import models


def message_usage(result: Any) -> Usage | None:
    """Anthropic counts input in three disjoint parts; ``input_tokens`` here is their sum (every
    input token, cached ones included), as the normalised view defines it."""
    usage = result.usage
    if usage is None:
        return None
    uncached = count(usage.input_tokens)
    cache_write = count(usage.cache_creation_input_tokens)
    cached = count(usage.cache_read_input_tokens)
    output = count(usage.output_tokens)
    input_tokens = None if uncached is None else uncached + (cache_write or 0) + (cached or 0)
    return Usage(
        format="anthropic",
        input_tokens=input_tokens,
        output_tokens=output,
        cached_input_tokens=cached,
        cache_write_input_tokens=cache_write,
        reasoning_tokens=None,
        total_tokens=None if input_tokens is None or output is None else input_tokens + output,
        original=usage,
    )


register(models.Message, message_usage)
