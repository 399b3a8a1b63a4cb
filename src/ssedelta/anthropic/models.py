"""The Anthropic Messages types: the merged ``Message``, its content blocks, and the stream events.

Names follow the official ``anthropic`` SDK (``anthropic.types``); types it has only in its beta
namespace drop the ``Beta`` prefix (``MCPToolUseBlock``, ``CompactionBlock``). Every class is a
slotted dataclass whose fields are the known JSON keys (``None`` when absent), plus ``extras`` for
the keys it does not know, so ``from_json(s).to_dict()`` gives back the parsed JSON. A block,
delta, citation or event of a type not listed here is kept as ``UnknownBlock``, ``UnknownDelta``,
``UnknownCitation`` or ``UnknownEvent`` with all its keys. String enums are open: any string is
kept; the ``*Values`` classes list the values the API documents.

``input`` of the tool-use blocks is the parsed tool input (a dict). In a snapshot taken while the
block's ``input_json_delta`` fragments are still arriving, and in a final message whose input text
is not a JSON object, it is the JSON text received so far (a ``str``); see ``MessagesMerger``.
"""

from __future__ import annotations

from typing import Any

from .._schema import Model, model, resolve

__all__ = [
    "AdvisorToolResultBlock",
    "BashCodeExecutionToolResultBlock",
    "CacheCreation",
    "CitationCharLocation",
    "CitationContentBlockLocation",
    "CitationPageLocation",
    "CitationsDelta",
    "CitationsSearchResultLocation",
    "CitationsWebSearchResultLocation",
    "CodeExecutionToolResultBlock",
    "CompactionBlock",
    "CompactionContentBlockDelta",
    "ContainerUploadBlock",
    "Delta",
    "ErrorObject",
    "ErrorResponse",
    "InputJSONDelta",
    "MCPToolResultBlock",
    "MCPToolUseBlock",
    "Message",
    "MessageDeltaUsage",
    "OutputTokensDetails",
    "PingEvent",
    "RawContentBlockDeltaEvent",
    "RawContentBlockStartEvent",
    "RawContentBlockStopEvent",
    "RawMessageDeltaEvent",
    "RawMessageStartEvent",
    "RawMessageStopEvent",
    "RedactedThinkingBlock",
    "ServerToolResultBlock",
    "ServerToolUsage",
    "ServerToolUseBlock",
    "SignatureDelta",
    "StopReasonValues",
    "TextBlock",
    "TextDelta",
    "TextEditorCodeExecutionToolResultBlock",
    "ThinkingBlock",
    "ThinkingDelta",
    "ToolSearchToolResultBlock",
    "ToolUseBlock",
    "UnknownBlock",
    "UnknownCitation",
    "UnknownDelta",
    "UnknownEvent",
    "Usage",
    "WebFetchToolResultBlock",
    "WebSearchToolResultBlock",
    "event_class",
]


class StopReasonValues:
    """``stop_reason`` values the API documents; others are kept as sent."""

    END_TURN = "end_turn"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    TOOL_USE = "tool_use"
    PAUSE_TURN = "pause_turn"
    REFUSAL = "refusal"
    MODEL_CONTEXT_WINDOW_EXCEEDED = "model_context_window_exceeded"


# ---------------------------------------------------------------- usage


@model("ephemeral_1h_input_tokens", "ephemeral_5m_input_tokens")
class CacheCreation(Model):
    ephemeral_1h_input_tokens: int | None = None
    ephemeral_5m_input_tokens: int | None = None


@model("web_fetch_requests", "web_search_requests")
class ServerToolUsage(Model):
    web_fetch_requests: int | None = None
    web_search_requests: int | None = None


@model("thinking_tokens")
class OutputTokensDetails(Model):
    thinking_tokens: int | None = None


@model("input_tokens", "output_tokens")
class Usage(Model):
    """Anthropic's usage object (``ssedelta.Usage`` is the view normalised across formats)."""

    cache_creation: CacheCreation | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    inference_geo: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    output_tokens_details: OutputTokensDetails | None = None
    server_tool_use: ServerToolUsage | None = None
    service_tier: str | None = None
    speed: str | None = None


@model("output_tokens")
class MessageDeltaUsage(Model):
    """The cumulative counts a ``message_delta`` carries (they replace, never add)."""

    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    output_tokens_details: OutputTokensDetails | None = None
    server_tool_use: ServerToolUsage | None = None


# ---------------------------------------------------------------- citations


@model("type")
class UnknownCitation(Model):
    type: str | None = None


UnknownCitation._discriminator = None  # type: ignore[attr-defined]


@model("cited_text", "document_index", "end_char_index", "start_char_index", "type")
class CitationCharLocation(Model):
    cited_text: str | None = None
    document_index: int | None = None
    document_title: str | None = None
    end_char_index: int | None = None
    file_id: str | None = None
    start_char_index: int | None = None
    type: str | None = None


CitationCharLocation._discriminator = "char_location"  # type: ignore[attr-defined]


@model("cited_text", "document_index", "end_page_number", "start_page_number", "type")
class CitationPageLocation(Model):
    cited_text: str | None = None
    document_index: int | None = None
    document_title: str | None = None
    end_page_number: int | None = None
    file_id: str | None = None
    start_page_number: int | None = None
    type: str | None = None


CitationPageLocation._discriminator = "page_location"  # type: ignore[attr-defined]


@model("cited_text", "document_index", "end_block_index", "start_block_index", "type")
class CitationContentBlockLocation(Model):
    cited_text: str | None = None
    document_index: int | None = None
    document_title: str | None = None
    end_block_index: int | None = None
    file_id: str | None = None
    start_block_index: int | None = None
    type: str | None = None


CitationContentBlockLocation._discriminator = "content_block_location"  # type: ignore[attr-defined]


@model("cited_text", "encrypted_index", "type", "url")
class CitationsWebSearchResultLocation(Model):
    cited_text: str | None = None
    encrypted_index: str | None = None
    title: str | None = None
    type: str | None = None
    url: str | None = None


CitationsWebSearchResultLocation._discriminator = "web_search_result_location"  # type: ignore[attr-defined]


@model("cited_text", "end_block_index", "search_result_index", "source", "start_block_index", "type")
class CitationsSearchResultLocation(Model):
    cited_text: str | None = None
    end_block_index: int | None = None
    search_result_index: int | None = None
    source: str | None = None
    start_block_index: int | None = None
    title: str | None = None
    type: str | None = None


CitationsSearchResultLocation._discriminator = "search_result_location"  # type: ignore[attr-defined]


# ---------------------------------------------------------------- content blocks


@model("type")
class UnknownBlock(Model):
    """A content block of a type this version does not know; every key is kept."""

    type: str | None = None


UnknownBlock._discriminator = None  # type: ignore[attr-defined]


@model("text", "type")
class TextBlock(Model):
    citations: (
        list[
            UnknownCitation
            | CitationCharLocation
            | CitationPageLocation
            | CitationContentBlockLocation
            | CitationsWebSearchResultLocation
            | CitationsSearchResultLocation
        ]
        | None
    ) = None
    text: str | None = None
    type: str | None = None


TextBlock._discriminator = "text"  # type: ignore[attr-defined]


@model("signature", "thinking", "type")
class ThinkingBlock(Model):
    signature: str | None = None
    thinking: str | None = None
    type: str | None = None


ThinkingBlock._discriminator = "thinking"  # type: ignore[attr-defined]


@model("data", "type")
class RedactedThinkingBlock(Model):
    data: str | None = None
    type: str | None = None


RedactedThinkingBlock._discriminator = "redacted_thinking"  # type: ignore[attr-defined]


@model("id", "input", "name", "type")
class ToolUseBlock(Model):
    id: str | None = None
    caller: dict[str, Any] | None = None
    input: Any = None
    name: str | None = None
    type: str | None = None
    toolset_name: str | None = None


ToolUseBlock._discriminator = "tool_use"  # type: ignore[attr-defined]


@model("id", "input", "name", "type")
class ServerToolUseBlock(Model):
    id: str | None = None
    caller: dict[str, Any] | None = None
    input: Any = None
    name: str | None = None
    type: str | None = None


ServerToolUseBlock._discriminator = "server_tool_use"  # type: ignore[attr-defined]


@model("id", "input", "name", "server_name", "type")
class MCPToolUseBlock(Model):
    id: str | None = None
    input: Any = None
    name: str | None = None
    server_name: str | None = None
    type: str | None = None


MCPToolUseBlock._discriminator = "mcp_tool_use"  # type: ignore[attr-defined]


@model("content", "is_error", "tool_use_id", "type")
class MCPToolResultBlock(Model):
    content: Any = None
    is_error: bool | None = None
    tool_use_id: str | None = None
    type: str | None = None


MCPToolResultBlock._discriminator = "mcp_tool_result"  # type: ignore[attr-defined]


@model("content", "tool_use_id", "type")
class ServerToolResultBlock(Model):
    """The shape of every server tool's result block (its ``content`` as sent, complete at start);
    each result type below is this class under the SDK's name."""

    caller: dict[str, Any] | None = None
    content: Any = None
    tool_use_id: str | None = None
    type: str | None = None


class WebSearchToolResultBlock(ServerToolResultBlock):
    __slots__ = ()
    _discriminator = "web_search_tool_result"


class WebFetchToolResultBlock(ServerToolResultBlock):
    __slots__ = ()
    _discriminator = "web_fetch_tool_result"


class CodeExecutionToolResultBlock(ServerToolResultBlock):
    __slots__ = ()
    _discriminator = "code_execution_tool_result"


class BashCodeExecutionToolResultBlock(ServerToolResultBlock):
    __slots__ = ()
    _discriminator = "bash_code_execution_tool_result"


class TextEditorCodeExecutionToolResultBlock(ServerToolResultBlock):
    __slots__ = ()
    _discriminator = "text_editor_code_execution_tool_result"


class ToolSearchToolResultBlock(ServerToolResultBlock):
    __slots__ = ()
    _discriminator = "tool_search_tool_result"


class AdvisorToolResultBlock(ServerToolResultBlock):
    __slots__ = ()
    _discriminator = "advisor_tool_result"


@model("file_id", "type")
class ContainerUploadBlock(Model):
    file_id: str | None = None
    type: str | None = None


ContainerUploadBlock._discriminator = "container_upload"  # type: ignore[attr-defined]


@model("content", "type")
class CompactionBlock(Model):
    """A compaction summary; ``content`` is filled by ``compaction_delta`` (``None`` when it failed)."""

    content: str | None = None
    encrypted_content: str | None = None
    signature: str | None = None
    tool_changes: list[Any] | None = None
    type: str | None = None


CompactionBlock._discriminator = "compaction"  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the message


@model("id", "content", "model", "role", "stop_reason", "stop_sequence", "type", "usage")
class Message(Model):
    id: str | None = None
    container: dict[str, Any] | None = None
    content: (
        list[
            UnknownBlock
            | TextBlock
            | ThinkingBlock
            | RedactedThinkingBlock
            | ToolUseBlock
            | ServerToolUseBlock
            | MCPToolUseBlock
            | MCPToolResultBlock
            | WebSearchToolResultBlock
            | WebFetchToolResultBlock
            | CodeExecutionToolResultBlock
            | BashCodeExecutionToolResultBlock
            | TextEditorCodeExecutionToolResultBlock
            | ToolSearchToolResultBlock
            | AdvisorToolResultBlock
            | ContainerUploadBlock
            | CompactionBlock
        ]
        | None
    ) = None
    diagnostics: dict[str, Any] | None = None
    model: str | None = None
    role: str | None = None
    stop_details: dict[str, Any] | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None
    type: str | None = None
    usage: Usage | None = None


# ---------------------------------------------------------------- deltas


@model("type")
class UnknownDelta(Model):
    type: str | None = None


UnknownDelta._discriminator = None  # type: ignore[attr-defined]


@model("text", "type")
class TextDelta(Model):
    text: str | None = None
    type: str | None = None


TextDelta._discriminator = "text_delta"  # type: ignore[attr-defined]


@model("partial_json", "type")
class InputJSONDelta(Model):
    partial_json: str | None = None
    type: str | None = None


InputJSONDelta._discriminator = "input_json_delta"  # type: ignore[attr-defined]


@model("citation", "type")
class CitationsDelta(Model):
    citation: (
        UnknownCitation
        | CitationCharLocation
        | CitationPageLocation
        | CitationContentBlockLocation
        | CitationsWebSearchResultLocation
        | CitationsSearchResultLocation
        | None
    ) = None
    type: str | None = None


CitationsDelta._discriminator = "citations_delta"  # type: ignore[attr-defined]


@model("thinking", "type")
class ThinkingDelta(Model):
    thinking: str | None = None
    type: str | None = None


ThinkingDelta._discriminator = "thinking_delta"  # type: ignore[attr-defined]


@model("signature", "type")
class SignatureDelta(Model):
    signature: str | None = None
    type: str | None = None


SignatureDelta._discriminator = "signature_delta"  # type: ignore[attr-defined]


@model("type")
class CompactionContentBlockDelta(Model):
    content: str | None = None
    encrypted_content: str | None = None
    type: str | None = None


CompactionContentBlockDelta._discriminator = "compaction_delta"  # type: ignore[attr-defined]


@model()
class Delta(Model):
    """The ``delta`` of a ``message_delta`` event."""

    container: dict[str, Any] | None = None
    stop_details: dict[str, Any] | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None


# ---------------------------------------------------------------- events


@model("message", "type")
class RawMessageStartEvent(Model):
    message: Message | None = None
    type: str | None = None


@model("delta", "type", "usage")
class RawMessageDeltaEvent(Model):
    delta: Delta | None = None
    type: str | None = None
    usage: MessageDeltaUsage | None = None


@model("type")
class RawMessageStopEvent(Model):
    type: str | None = None


@model("content_block", "index", "type")
class RawContentBlockStartEvent(Model):
    content_block: (
        UnknownBlock
        | TextBlock
        | ThinkingBlock
        | RedactedThinkingBlock
        | ToolUseBlock
        | ServerToolUseBlock
        | MCPToolUseBlock
        | MCPToolResultBlock
        | WebSearchToolResultBlock
        | WebFetchToolResultBlock
        | CodeExecutionToolResultBlock
        | BashCodeExecutionToolResultBlock
        | TextEditorCodeExecutionToolResultBlock
        | ToolSearchToolResultBlock
        | AdvisorToolResultBlock
        | ContainerUploadBlock
        | CompactionBlock
        | None
    ) = None
    index: int | None = None
    type: str | None = None


@model("delta", "index", "type")
class RawContentBlockDeltaEvent(Model):
    delta: (
        UnknownDelta
        | TextDelta
        | InputJSONDelta
        | CitationsDelta
        | ThinkingDelta
        | SignatureDelta
        | CompactionContentBlockDelta
        | None
    ) = None
    index: int | None = None
    type: str | None = None


@model("index", "type")
class RawContentBlockStopEvent(Model):
    index: int | None = None
    type: str | None = None


@model("type")
class PingEvent(Model):
    type: str | None = None


@model("type", "message")
class ErrorObject(Model):
    type: str | None = None
    message: str | None = None
    details: Any = None


@model("error", "type")
class ErrorResponse(Model):
    """An ``error`` event: the upstream failed after the stream started."""

    error: ErrorObject | None = None
    request_id: str | None = None
    type: str | None = None


@model("type")
class UnknownEvent(Model):
    """An event of a type this version does not know; every key is kept."""

    type: str | None = None


_EVENTS: dict[str, type[Model]] = {
    "message_start": RawMessageStartEvent,
    "message_delta": RawMessageDeltaEvent,
    "message_stop": RawMessageStopEvent,
    "content_block_start": RawContentBlockStartEvent,
    "content_block_delta": RawContentBlockDeltaEvent,
    "content_block_stop": RawContentBlockStopEvent,
    "ping": PingEvent,
    "error": ErrorResponse,
}


def event_class(event_type: Any) -> type[Model]:
    """The model class of an event payload whose ``type`` is ``event_type``."""
    return _EVENTS.get(event_type, UnknownEvent) if type(event_type) is str else UnknownEvent


resolve(__name__)
