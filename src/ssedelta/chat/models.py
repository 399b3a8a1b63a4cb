"""The public types: every object of a streamed chunk and of the merged completion.

Names follow the OpenAPI generator; the short names users of the official SDK
know are aliases at the bottom. Every class is a slotted dataclass whose
fields are the known JSON keys (``None`` when absent), plus ``extras`` for the
keys it does not know. ``from_json(s).to_dict()`` gives back the parsed JSON.
String enums are open: any string is kept; the ``*Values`` classes list the
values the specification names. Timestamps and token counts are ``Count``, an
``int`` that a whole-numbered float in the source (``12.0``) is read as.
"""

from __future__ import annotations

from typing import Any

from .._schema import Count, Model, SchemaError, model, resolve

__all__ = [
    "ChatCompletion",
    "ChatCompletionAudio",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageCustomToolCall",
    "ChatCompletionMessageCustomToolCallCustom",
    "ChatCompletionMessageFunctionToolCall",
    "ChatCompletionMessageToolCall",
    "ChatCompletionMessageToolCallChunk",
    "ChatCompletionMessageToolCallChunkFunction",
    "ChatCompletionMessageToolCallFunction",
    "ChatCompletionModeration",
    "ChatCompletionModerationError",
    "ChatCompletionModerationResults",
    "ChatCompletionResponseMessage",
    "ChatCompletionResponseMessageAnnotationsInner",
    "ChatCompletionResponseMessageAnnotationsInnerUrlCitation",
    "ChatCompletionResponseMessageAudio",
    "ChatCompletionResponseMessageFunctionCall",
    "ChatCompletionStreamResponseDelta",
    "ChatCompletionStreamResponseDeltaAudio",
    "ChatCompletionStreamResponseDeltaFunctionCall",
    "ChatCompletionTokenLogprob",
    "ChatCompletionTokenLogprobTopLogprobsInner",
    "ChoiceDelta",
    "ChoiceDeltaAudio",
    "ChoiceDeltaFunctionCall",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "CompletionTokensDetails",
    "CompletionUsage",
    "CompletionUsageCompletionTokensDetails",
    "CompletionUsagePromptTokensDetails",
    "CreateChatCompletionResponse",
    "CreateChatCompletionResponseChoicesInner",
    "CreateChatCompletionResponseChoicesInnerLogprobs",
    "CreateChatCompletionStreamResponse",
    "CreateChatCompletionStreamResponseChoicesInner",
    "CreateChatCompletionStreamResponseChoicesInnerLogprobs",
    "FinishReasonValues",
    "Model",
    "ModerationResultBody",
    "PromptTokensDetails",
    "RoleValues",
    "SchemaError",
    "ServiceTierValues",
    "TopLogprob",
]


class FinishReasonValues:
    """``finish_reason`` values the specification names; providers send others too."""

    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"
    FUNCTION_CALL = "function_call"


class RoleValues:
    DEVELOPER = "developer"
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class ServiceTierValues:
    AUTO = "auto"
    DEFAULT = "default"
    FLEX = "flex"
    SCALE = "scale"
    PRIORITY = "priority"
    FAST = "fast"


# ---------------------------------------------------------------- usage


@model()
class CompletionUsageCompletionTokensDetails(Model):
    accepted_prediction_tokens: Count | None = None
    audio_tokens: Count | None = None
    reasoning_tokens: Count | None = None
    rejected_prediction_tokens: Count | None = None
    text_tokens: Count | None = None


@model()
class CompletionUsagePromptTokensDetails(Model):
    audio_tokens: Count | None = None
    cached_tokens: Count | None = None
    cache_write_tokens: Count | None = None
    image_tokens: Count | None = None
    text_tokens: Count | None = None


@model("prompt_tokens", "completion_tokens", "total_tokens")
class CompletionUsage(Model):
    prompt_tokens: Count | None = None
    completion_tokens: Count | None = None
    total_tokens: Count | None = None
    completion_tokens_details: CompletionUsageCompletionTokensDetails | None = None
    prompt_tokens_details: CompletionUsagePromptTokensDetails | None = None


# ---------------------------------------------------------------- logprobs


@model("token", "logprob", "bytes")
class ChatCompletionTokenLogprobTopLogprobsInner(Model):
    token: str | None = None
    logprob: float | None = None
    bytes: list[int] | None = None


@model("token", "logprob", "bytes", "top_logprobs")
class ChatCompletionTokenLogprob(Model):
    token: str | None = None
    logprob: float | None = None
    bytes: list[int] | None = None
    top_logprobs: list[ChatCompletionTokenLogprobTopLogprobsInner] | None = None


@model("content", "refusal")
class ChoiceLogprobs(Model):
    """A choice's logprobs, on either side: the official SDK has a ``ChoiceLogprobs`` in its chunk
    module and another in its completion module; both of ours are instances of this class."""

    content: list[ChatCompletionTokenLogprob] | None = None
    refusal: list[ChatCompletionTokenLogprob] | None = None


@model("content", "refusal")
class CreateChatCompletionStreamResponseChoicesInnerLogprobs(ChoiceLogprobs):
    content: list[ChatCompletionTokenLogprob] | None = None
    refusal: list[ChatCompletionTokenLogprob] | None = None


@model("content", "refusal")
class CreateChatCompletionResponseChoicesInnerLogprobs(ChoiceLogprobs):
    content: list[ChatCompletionTokenLogprob] | None = None
    refusal: list[ChatCompletionTokenLogprob] | None = None


# ---------------------------------------------------------------- moderation


@model("type", "model", "flagged", "categories", "category_scores", "category_applied_input_types")
class ModerationResultBody(Model):
    type: str | None = None
    model: str | None = None
    flagged: bool | None = None
    categories: dict[str, Any] | None = None
    category_scores: dict[str, Any] | None = None
    category_applied_input_types: dict[str, Any] | None = None


@model("type", "model", "results")
class ChatCompletionModerationResults(Model):
    type: str | None = None
    model: str | None = None
    results: list[ModerationResultBody] | None = None


ChatCompletionModerationResults._discriminator = "moderation_results"  # type: ignore[attr-defined]


@model("type", "code", "message")
class ChatCompletionModerationError(Model):
    type: str | None = None
    code: str | None = None
    message: str | None = None


ChatCompletionModerationError._discriminator = "error"  # type: ignore[attr-defined]


@model("input", "output")
class ChatCompletionModeration(Model):
    input: ChatCompletionModerationResults | ChatCompletionModerationError | None = None
    output: ChatCompletionModerationResults | ChatCompletionModerationError | None = None


# ---------------------------------------------------------------- stream side


@model()
class ChatCompletionMessageToolCallChunkFunction(Model):
    name: str | None = None
    arguments: str | None = None


@model("index")
class ChatCompletionMessageToolCallChunk(Model):
    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: ChatCompletionMessageToolCallChunkFunction | None = None


@model()
class ChatCompletionStreamResponseDeltaFunctionCall(Model):
    name: str | None = None
    arguments: str | None = None


@model()
class ChatCompletionStreamResponseDeltaAudio(Model):
    id: str | None = None
    data: str | None = None
    transcript: str | None = None
    expires_at: int | None = None


@model()
class ChatCompletionStreamResponseDelta(Model):
    """One choice's fragment. ``content`` is a string, or a list of typed parts (Mistral)."""

    role: str | None = None
    content: str | list[Any] | None = None
    refusal: str | None = None
    tool_calls: list[ChatCompletionMessageToolCallChunk] | None = None
    function_call: ChatCompletionStreamResponseDeltaFunctionCall | None = None
    audio: ChatCompletionStreamResponseDeltaAudio | None = None


@model("index", "delta", "finish_reason")
class CreateChatCompletionStreamResponseChoicesInner(Model):
    index: int | None = None
    delta: ChatCompletionStreamResponseDelta | None = None
    logprobs: CreateChatCompletionStreamResponseChoicesInnerLogprobs | None = None
    finish_reason: str | None = None


@model("id", "choices", "created", "model", "object")
class CreateChatCompletionStreamResponse(Model):
    """One ``chat.completion.chunk``."""

    id: str | None = None
    object: str | None = None
    created: Count | None = None
    model: str | None = None
    choices: list[CreateChatCompletionStreamResponseChoicesInner] | None = None
    service_tier: str | None = None
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None
    moderation: ChatCompletionModeration | None = None
    obfuscation: str | None = None


# ---------------------------------------------------------------- final side


@model("name", "arguments")
class ChatCompletionMessageToolCallFunction(Model):
    name: str | None = None
    arguments: str | None = None


@model("id", "type", "function")
class ChatCompletionMessageToolCall(Model):
    id: str | None = None
    type: str | None = None
    function: ChatCompletionMessageToolCallFunction | None = None


ChatCompletionMessageToolCall._discriminator = "function"  # type: ignore[attr-defined]


@model("name", "input")
class ChatCompletionMessageCustomToolCallCustom(Model):
    name: str | None = None
    input: str | None = None


@model("id", "type", "custom")
class ChatCompletionMessageCustomToolCall(Model):
    id: str | None = None
    type: str | None = None
    custom: ChatCompletionMessageCustomToolCallCustom | None = None


ChatCompletionMessageCustomToolCall._discriminator = "custom"  # type: ignore[attr-defined]


@model("start_index", "end_index", "url", "title")
class ChatCompletionResponseMessageAnnotationsInnerUrlCitation(Model):
    start_index: int | None = None
    end_index: int | None = None
    url: str | None = None
    title: str | None = None


@model("type")
class ChatCompletionResponseMessageAnnotationsInner(Model):
    type: str | None = None
    url_citation: ChatCompletionResponseMessageAnnotationsInnerUrlCitation | None = None


@model("id", "data", "transcript", "expires_at")
class ChatCompletionResponseMessageAudio(Model):
    id: str | None = None
    data: str | None = None
    transcript: str | None = None
    expires_at: int | None = None


@model("name", "arguments")
class ChatCompletionResponseMessageFunctionCall(Model):
    name: str | None = None
    arguments: str | None = None


@model("role", "content", "refusal")
class ChatCompletionResponseMessage(Model):
    role: str | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChatCompletionMessageToolCall | ChatCompletionMessageCustomToolCall] | None = None
    annotations: list[ChatCompletionResponseMessageAnnotationsInner] | None = None
    audio: ChatCompletionResponseMessageAudio | None = None
    function_call: ChatCompletionResponseMessageFunctionCall | None = None


@model("index", "message", "finish_reason", "logprobs")
class CreateChatCompletionResponseChoicesInner(Model):
    index: int | None = None
    message: ChatCompletionResponseMessage | None = None
    logprobs: CreateChatCompletionResponseChoicesInnerLogprobs | None = None
    finish_reason: str | None = None


@model("id", "choices", "created", "model", "object")
class CreateChatCompletionResponse(Model):
    """A ``chat.completion``: what merging a stream gives."""

    id: str | None = None
    object: str | None = None
    created: Count | None = None
    model: str | None = None
    choices: list[CreateChatCompletionResponseChoicesInner] | None = None
    service_tier: str | None = None
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None
    metadata: dict[str, Any] | None = None
    moderation: ChatCompletionModeration | None = None


resolve(__name__)

# The official SDK's names.
ChatCompletionChunk = CreateChatCompletionStreamResponse
ChatCompletion = CreateChatCompletionResponse
ChoiceDelta = ChatCompletionStreamResponseDelta
ChoiceDeltaToolCall = ChatCompletionMessageToolCallChunk
ChoiceDeltaToolCallFunction = ChatCompletionMessageToolCallChunkFunction
ChoiceDeltaFunctionCall = ChatCompletionStreamResponseDeltaFunctionCall
ChoiceDeltaAudio = ChatCompletionStreamResponseDeltaAudio
TopLogprob = ChatCompletionTokenLogprobTopLogprobsInner
ChatCompletionMessage = ChatCompletionResponseMessage
ChatCompletionMessageFunctionToolCall = ChatCompletionMessageToolCall
ChatCompletionAudio = ChatCompletionResponseMessageAudio
CompletionTokensDetails = CompletionUsageCompletionTokensDetails
PromptTokensDetails = CompletionUsagePromptTokensDetails
