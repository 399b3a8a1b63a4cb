"""How a Responses API result's usage reads as ``ssedelta.Usage``."""

from __future__ import annotations

from typing import Any

from ..usage import Usage, count, register
from . import models


def responses_usage(result: Any) -> Usage | None:
    usage = result.usage
    if usage is None:
        return None
    input_details = usage.input_tokens_details
    output_details = usage.output_tokens_details
    return Usage(
        format="responses",
        input_tokens=count(usage.input_tokens),
        output_tokens=count(usage.output_tokens),
        cached_input_tokens=count(input_details.cached_tokens) if input_details is not None else None,
        cache_write_input_tokens=count(input_details.cache_write_tokens)
        if input_details is not None
        else None,
        reasoning_tokens=count(output_details.reasoning_tokens) if output_details is not None else None,
        total_tokens=count(usage.total_tokens),
        original=usage,
    )


register(models.Response, responses_usage)
