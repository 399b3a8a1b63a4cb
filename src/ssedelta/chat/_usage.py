"""How a Chat Completions result's usage reads as ``ssedelta.Usage``."""

from __future__ import annotations

from typing import Any

from ..usage import Usage, count, register
from . import models


def chat_usage(result: Any) -> Usage | None:
    usage = result.usage
    if usage is None:
        return None
    prompt = usage.prompt_tokens_details
    completion = usage.completion_tokens_details
    return Usage(
        format="chat",
        input_tokens=count(usage.prompt_tokens),
        output_tokens=count(usage.completion_tokens),
        cached_input_tokens=count(prompt.cached_tokens) if prompt is not None else None,
        cache_write_input_tokens=count(prompt.cache_write_tokens) if prompt is not None else None,
        reasoning_tokens=count(completion.reasoning_tokens) if completion is not None else None,
        total_tokens=count(usage.total_tokens),
        original=usage,
    )


register(models.CreateChatCompletionResponse, chat_usage)
register(models.CreateChatCompletionStreamResponse, chat_usage)
