"""msgspec Structs for the ``chat.completion.chunk`` schema (the ``msgspec`` row of the decode group).

Written the way a careful user would for speed and tolerance: every field optional with a default (so
Azure's filter chunks and ``choices: []`` usage chunks decode), ``content`` as a string or a list of
parts, ``gc=False``. Keys not declared here are dropped: msgspec has no place to keep them.
"""

from typing import Any

import msgspec


class TopLogprob(msgspec.Struct, gc=False):
    token: str
    logprob: float
    bytes: list[int] | None = None


class TokenLogprob(msgspec.Struct, gc=False):
    token: str
    logprob: float
    bytes: list[int] | None = None
    top_logprobs: list[TopLogprob] = []


class ChoiceLogprobs(msgspec.Struct, gc=False):
    content: list[TokenLogprob] | None = None
    refusal: list[TokenLogprob] | None = None


class FunctionDelta(msgspec.Struct, gc=False):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(msgspec.Struct, gc=False):
    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: FunctionDelta | None = None


class Delta(msgspec.Struct, gc=False):
    role: str | None = None
    content: str | list[dict[str, Any]] | None = None
    refusal: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    function_call: FunctionDelta | None = None


class Choice(msgspec.Struct, gc=False):
    index: int = 0
    delta: Delta | None = None
    logprobs: ChoiceLogprobs | None = None
    finish_reason: str | None = None


class Usage(msgspec.Struct, gc=False):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: dict[str, Any] | None = None
    completion_tokens_details: dict[str, Any] | None = None


class Chunk(msgspec.Struct, gc=False):
    id: str = ""
    object: str = ""
    created: int = 0
    model: str = ""
    system_fingerprint: str | None = None
    service_tier: str | None = None
    choices: list[Choice] = []
    usage: Usage | None = None


decoder = msgspec.json.Decoder(Chunk)
