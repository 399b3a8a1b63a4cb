"""The public types: every object of a streamed chunk and of the merged completion.

Names follow the OpenAPI generator; the short names users of the official SDK
know are aliases at the bottom. Every class is a slotted dataclass whose
fields are the known JSON keys (``None`` when absent), plus ``extras`` for the
keys it does not know. ``from_json(s).to_dict()`` gives back the parsed JSON.
String enums are open: any string is kept; the ``*Values`` classes list the
values the specification names.
"""

from __future__ import annotations

from typing import Any

from ._schema import Model, SchemaError, model, resolve

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
    "CompletionUsage",
    "CompletionUsageCompletionTokensDetails",
    "CompletionUsagePromptTokensDetails",
    "CompletionTokensDetails",
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
    accepted_prediction_tokens: int | None
    audio_tokens: int | None
    reasoning_tokens: int | None
    rejected_prediction_tokens: int | None
    text_tokens: int | None


@model()
class CompletionUsagePromptTokensDetails(Model):
    audio_tokens: int | None
    cached_tokens: int | None
    cache_write_tokens: int | None
    image_tokens: int | None
    text_tokens: int | None


@model("prompt_tokens", "completion_tokens", "total_tokens")
class CompletionUsage(Model):
    prompt_tokens: float | None
    completion_tokens: float | None
    total_tokens: float | None
    completion_tokens_details: CompletionUsageCompletionTokensDetails | None
    prompt_tokens_details: CompletionUsagePromptTokensDetails | None


# ---------------------------------------------------------------- logprobs


@model("token", "logprob", "bytes")
class ChatCompletionTokenLogprobTopLogprobsInner(Model):
    token: str | None
    logprob: float | None
    bytes: list[int] | None


@model("token", "logprob", "bytes", "top_logprobs")
class ChatCompletionTokenLogprob(Model):
    token: str | None
    logprob: float | None
    bytes: list[int] | None
    top_logprobs: list[ChatCompletionTokenLogprobTopLogprobsInner] | None


@model("content", "refusal")
class CreateChatCompletionStreamResponseChoicesInnerLogprobs(Model):
    content: list[ChatCompletionTokenLogprob] | None
    refusal: list[ChatCompletionTokenLogprob] | None


@model("content", "refusal")
class CreateChatCompletionResponseChoicesInnerLogprobs(Model):
    content: list[ChatCompletionTokenLogprob] | None
    refusal: list[ChatCompletionTokenLogprob] | None


# ---------------------------------------------------------------- moderation


@model("type", "model", "flagged", "categories", "category_scores", "category_applied_input_types")
class ModerationResultBody(Model):
    type: str | None
    model: str | None
    flagged: bool | None
    categories: dict[str, Any] | None
    category_scores: dict[str, Any] | None
    category_applied_input_types: dict[str, Any] | None


@model("type", "model", "results")
class ChatCompletionModerationResults(Model):
    type: str | None
    model: str | None
    results: list[ModerationResultBody] | None


ChatCompletionModerationResults._discriminator = "moderation_results"  # type: ignore[attr-defined]


@model("type", "code", "message")
class ChatCompletionModerationError(Model):
    type: str | None
    code: str | None
    message: str | None


ChatCompletionModerationError._discriminator = "error"  # type: ignore[attr-defined]


@model("input", "output")
class ChatCompletionModeration(Model):
    input: ChatCompletionModerationResults | ChatCompletionModerationError | None
    output: ChatCompletionModerationResults | ChatCompletionModerationError | None


# ---------------------------------------------------------------- stream side


@model()
class ChatCompletionMessageToolCallChunkFunction(Model):
    name: str | None
    arguments: str | None


@model("index")
class ChatCompletionMessageToolCallChunk(Model):
    index: int | None
    id: str | None
    type: str | None
    function: ChatCompletionMessageToolCallChunkFunction | None


@model()
class ChatCompletionStreamResponseDeltaFunctionCall(Model):
    name: str | None
    arguments: str | None


@model()
class ChatCompletionStreamResponseDeltaAudio(Model):
    id: str | None
    data: str | None
    transcript: str | None
    expires_at: int | None


@model()
class ChatCompletionStreamResponseDelta(Model):
    """One choice's fragment. ``content`` is a string, or a list of typed parts (Mistral)."""

    role: str | None
    content: str | list[Any] | None
    refusal: str | None
    tool_calls: list[ChatCompletionMessageToolCallChunk] | None
    function_call: ChatCompletionStreamResponseDeltaFunctionCall | None
    audio: ChatCompletionStreamResponseDeltaAudio | None


@model("index", "delta", "finish_reason")
class CreateChatCompletionStreamResponseChoicesInner(Model):
    index: int | None
    delta: ChatCompletionStreamResponseDelta | None
    logprobs: CreateChatCompletionStreamResponseChoicesInnerLogprobs | None
    finish_reason: str | None


@model("id", "choices", "created", "model", "object")
class CreateChatCompletionStreamResponse(Model):
    """One ``chat.completion.chunk``."""

    id: str | None
    object: str | None
    created: float | None
    model: str | None
    choices: list[CreateChatCompletionStreamResponseChoicesInner] | None
    service_tier: str | None
    system_fingerprint: str | None
    usage: CompletionUsage | None
    moderation: ChatCompletionModeration | None
    obfuscation: str | None


# ---------------------------------------------------------------- final side


@model("name", "arguments")
class ChatCompletionMessageToolCallFunction(Model):
    name: str | None
    arguments: str | None


@model("id", "type", "function")
class ChatCompletionMessageToolCall(Model):
    id: str | None
    type: str | None
    function: ChatCompletionMessageToolCallFunction | None


ChatCompletionMessageToolCall._discriminator = "function"  # type: ignore[attr-defined]


@model("name", "input")
class ChatCompletionMessageCustomToolCallCustom(Model):
    name: str | None
    input: str | None


@model("id", "type", "custom")
class ChatCompletionMessageCustomToolCall(Model):
    id: str | None
    type: str | None
    custom: ChatCompletionMessageCustomToolCallCustom | None


ChatCompletionMessageCustomToolCall._discriminator = "custom"  # type: ignore[attr-defined]


@model("start_index", "end_index", "url", "title")
class ChatCompletionResponseMessageAnnotationsInnerUrlCitation(Model):
    start_index: int | None
    end_index: int | None
    url: str | None
    title: str | None


@model("type")
class ChatCompletionResponseMessageAnnotationsInner(Model):
    type: str | None
    url_citation: ChatCompletionResponseMessageAnnotationsInnerUrlCitation | None


@model("id", "data", "transcript", "expires_at")
class ChatCompletionResponseMessageAudio(Model):
    id: str | None
    data: str | None
    transcript: str | None
    expires_at: int | None


@model("name", "arguments")
class ChatCompletionResponseMessageFunctionCall(Model):
    name: str | None
    arguments: str | None


@model("role", "content", "refusal")
class ChatCompletionResponseMessage(Model):
    role: str | None
    content: str | None
    refusal: str | None
    tool_calls: list[ChatCompletionMessageToolCall | ChatCompletionMessageCustomToolCall] | None
    annotations: list[ChatCompletionResponseMessageAnnotationsInner] | None
    audio: ChatCompletionResponseMessageAudio | None
    function_call: ChatCompletionResponseMessageFunctionCall | None


@model("index", "message", "finish_reason", "logprobs")
class CreateChatCompletionResponseChoicesInner(Model):
    index: int | None
    message: ChatCompletionResponseMessage | None
    logprobs: CreateChatCompletionResponseChoicesInnerLogprobs | None
    finish_reason: str | None


@model("id", "choices", "created", "model", "object")
class CreateChatCompletionResponse(Model):
    """A ``chat.completion``: what merging a stream gives."""

    id: str | None
    object: str | None
    created: float | None
    model: str | None
    choices: list[CreateChatCompletionResponseChoicesInner] | None
    service_tier: str | None
    system_fingerprint: str | None
    usage: CompletionUsage | None
    metadata: dict[str, Any] | None
    moderation: ChatCompletionModeration | None


resolve(__name__)

# The official SDK's names.
ChatCompletionChunk = CreateChatCompletionStreamResponse
ChatCompletion = CreateChatCompletionResponse
ChoiceDelta = ChatCompletionStreamResponseDelta
ChoiceDeltaToolCall = ChatCompletionMessageToolCallChunk
ChoiceDeltaToolCallFunction = ChatCompletionMessageToolCallChunkFunction
ChoiceDeltaFunctionCall = ChatCompletionStreamResponseDeltaFunctionCall
ChoiceDeltaAudio = ChatCompletionStreamResponseDeltaAudio
ChoiceLogprobs = CreateChatCompletionResponseChoicesInnerLogprobs
TopLogprob = ChatCompletionTokenLogprobTopLogprobsInner
ChatCompletionMessage = ChatCompletionResponseMessage
ChatCompletionMessageFunctionToolCall = ChatCompletionMessageToolCall
ChatCompletionAudio = ChatCompletionResponseMessageAudio
CompletionTokensDetails = CompletionUsageCompletionTokensDetails
PromptTokensDetails = CompletionUsagePromptTokensDetails
