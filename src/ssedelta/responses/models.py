"""The types of the OpenAI Responses API stream: the ``Response``, its output items and the events.

Names follow the official ``openai`` SDK (``openai.types.responses``); nested types the SDK names
only inside its modules (``Summary``, ``Content``, ``Logprob``) carry their parent's name here
(``ResponseReasoningItemSummary``, ``ResponseReasoningItemContent``, ``Logprob``). Every class is
a slotted dataclass whose fields are the known JSON keys (``None`` when absent), plus ``extras`` for
the keys it does not know, so ``from_json(s).to_dict()`` gives back the parsed JSON. Lists of
typed objects are discriminated on ``type``; a type this module does not know is kept as the
``Generic*`` class of its place (all its keys but ``type`` in ``extras``). String enums are open.
"""

from __future__ import annotations

from typing import Any

from .._schema import Model, SchemaError, model, resolve

__all__ = [
    "EVENT_TYPES",
    "AnnotationContainerFileCitation",
    "AnnotationFileCitation",
    "AnnotationFilePath",
    "AnnotationURLCitation",
    "GenericAnnotation",
    "GenericContentPart",
    "GenericEvent",
    "GenericOutputItem",
    "ImageGenerationCall",
    "IncompleteDetails",
    "InputTokensDetails",
    "ItemStatusValues",
    "LocalShellCall",
    "Logprob",
    "LogprobTopLogprob",
    "McpApprovalRequest",
    "McpCall",
    "McpListTools",
    "Model",
    "OutputTokensDetails",
    "Response",
    "ResponseApplyPatchCallOperationDiffDeltaEvent",
    "ResponseApplyPatchCallOperationDiffDoneEvent",
    "ResponseApplyPatchToolCall",
    "ResponseAudioDeltaEvent",
    "ResponseAudioDoneEvent",
    "ResponseAudioTranscriptDeltaEvent",
    "ResponseAudioTranscriptDoneEvent",
    "ResponseCodeInterpreterCallCodeDeltaEvent",
    "ResponseCodeInterpreterCallCodeDoneEvent",
    "ResponseCodeInterpreterCallCompletedEvent",
    "ResponseCodeInterpreterCallInProgressEvent",
    "ResponseCodeInterpreterCallInterpretingEvent",
    "ResponseCodeInterpreterToolCall",
    "ResponseCompactionCompactingEvent",
    "ResponseCompactionItem",
    "ResponseCompletedEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseCreatedEvent",
    "ResponseCustomToolCall",
    "ResponseCustomToolCallInputDeltaEvent",
    "ResponseCustomToolCallInputDoneEvent",
    "ResponseError",
    "ResponseErrorEvent",
    "ResponseFailedEvent",
    "ResponseFileSearchCallCompletedEvent",
    "ResponseFileSearchCallInProgressEvent",
    "ResponseFileSearchCallSearchingEvent",
    "ResponseFileSearchToolCall",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseFunctionShellCallOutputContent",
    "ResponseFunctionShellToolCall",
    "ResponseFunctionShellToolCallOutput",
    "ResponseFunctionToolCall",
    "ResponseFunctionWebSearch",
    "ResponseImageGenCallCompletedEvent",
    "ResponseImageGenCallGeneratingEvent",
    "ResponseImageGenCallInProgressEvent",
    "ResponseImageGenCallPartialImageEvent",
    "ResponseInProgressEvent",
    "ResponseIncompleteEvent",
    "ResponseMcpCallArgumentsDeltaEvent",
    "ResponseMcpCallArgumentsDoneEvent",
    "ResponseMcpCallCompletedEvent",
    "ResponseMcpCallFailedEvent",
    "ResponseMcpCallInProgressEvent",
    "ResponseMcpListToolsCompletedEvent",
    "ResponseMcpListToolsFailedEvent",
    "ResponseMcpListToolsInProgressEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseOutputMessage",
    "ResponseOutputRefusal",
    "ResponseOutputText",
    "ResponseOutputTextAnnotationAddedEvent",
    "ResponseQueuedEvent",
    "ResponseReasoningItem",
    "ResponseReasoningItemContent",
    "ResponseReasoningItemSummary",
    "ResponseReasoningSummaryPartAddedEvent",
    "ResponseReasoningSummaryPartDoneEvent",
    "ResponseReasoningSummaryTextDeltaEvent",
    "ResponseReasoningSummaryTextDoneEvent",
    "ResponseReasoningTextDeltaEvent",
    "ResponseReasoningTextDoneEvent",
    "ResponseRefusalDeltaEvent",
    "ResponseRefusalDoneEvent",
    "ResponseShellCallCommandAddedEvent",
    "ResponseShellCallCommandDeltaEvent",
    "ResponseShellCallCommandDoneEvent",
    "ResponseShellCallOutputContentDeltaEvent",
    "ResponseShellCallOutputContentDoneEvent",
    "ResponseStatusValues",
    "ResponseStreamEvent",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseToolSearchCall",
    "ResponseToolSearchOutputItem",
    "ResponseUsage",
    "ResponseWebSearchCallCompletedEvent",
    "ResponseWebSearchCallInProgressEvent",
    "ResponseWebSearchCallSearchingEvent",
    "SchemaError",
    "event_from_dict",
]


class ResponseStatusValues:
    """``Response.status`` values the API documents; any other string is kept as sent."""

    COMPLETED = "completed"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    CANCELLED = "cancelled"
    QUEUED = "queued"
    INCOMPLETE = "incomplete"


class ItemStatusValues:
    """``status`` values of output items the API documents (built-in tools add their own)."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"


# ---------------------------------------------------------------- usage


@model()
class InputTokensDetails(Model):
    cached_tokens: float | None = None
    cache_write_tokens: float | None = None


@model()
class OutputTokensDetails(Model):
    reasoning_tokens: float | None = None


@model()
class ResponseUsage(Model):
    input_tokens: float | None = None
    input_tokens_details: InputTokensDetails | None = None
    output_tokens: float | None = None
    output_tokens_details: OutputTokensDetails | None = None
    total_tokens: float | None = None


@model()
class ResponseError(Model):
    code: str | None = None
    message: str | None = None


@model()
class IncompleteDetails(Model):
    reason: str | None = None


# ---------------------------------------------------------------- message content


@model()
class LogprobTopLogprob(Model):
    token: str | None = None
    bytes: list[int] | None = None
    logprob: float | None = None


@model()
class Logprob(Model):
    token: str | None = None
    bytes: list[int] | None = None
    logprob: float | None = None
    top_logprobs: list[LogprobTopLogprob] | None = None


@model("type")
class GenericAnnotation(Model):
    """An annotation of a type this module does not know."""

    type: str | None = None


@model("type")
class AnnotationURLCitation(Model):
    type: str | None = "url_citation"
    url: str | None = None
    title: str | None = None
    start_index: int | None = None
    end_index: int | None = None


@model("type")
class AnnotationFileCitation(Model):
    type: str | None = "file_citation"
    file_id: str | None = None
    filename: str | None = None
    index: int | None = None


@model("type")
class AnnotationContainerFileCitation(Model):
    type: str | None = "container_file_citation"
    container_id: str | None = None
    file_id: str | None = None
    filename: str | None = None
    start_index: int | None = None
    end_index: int | None = None


@model("type")
class AnnotationFilePath(Model):
    type: str | None = "file_path"
    file_id: str | None = None
    index: int | None = None


@model("type")
class GenericContentPart(Model):
    """A content part of a type this module does not know."""

    type: str | None = None


@model("type", "text", "annotations")
class ResponseOutputText(Model):
    type: str | None = "output_text"
    text: str | None = None
    annotations: (
        list[
            GenericAnnotation
            | AnnotationURLCitation
            | AnnotationFileCitation
            | AnnotationContainerFileCitation
            | AnnotationFilePath
        ]
        | None
    ) = None
    logprobs: list[Logprob] | None = None


@model("type", "refusal")
class ResponseOutputRefusal(Model):
    type: str | None = "refusal"
    refusal: str | None = None


@model("type", "text")
class ResponseReasoningItemContent(Model):
    """A ``reasoning_text`` part of a reasoning item's ``content`` (the SDK's ``Content``)."""

    type: str | None = "reasoning_text"
    text: str | None = None


@model("type", "text")
class ResponseReasoningItemSummary(Model):
    """A ``summary_text`` part of a reasoning item's ``summary`` (the SDK's ``Summary``)."""

    type: str | None = "summary_text"
    text: str | None = None


# ---------------------------------------------------------------- output items


@model("type")
class GenericOutputItem(Model):
    """An output item of a type this module does not know."""

    type: str | None = None
    id: str | None = None
    status: str | None = None


@model("type", "id", "role", "status", "content")
class ResponseOutputMessage(Model):
    type: str | None = "message"
    id: str | None = None
    role: str | None = None
    status: str | None = None
    content: (
        list[GenericContentPart | ResponseOutputText | ResponseOutputRefusal | ResponseReasoningItemContent]
        | None
    ) = None
    phase: str | None = None


@model("type", "id", "summary")
class ResponseReasoningItem(Model):
    type: str | None = "reasoning"
    id: str | None = None
    summary: list[ResponseReasoningItemSummary] | None = None
    content: (
        list[GenericContentPart | ResponseReasoningItemContent | ResponseOutputText | ResponseOutputRefusal]
        | None
    ) = None
    encrypted_content: str | None = None
    status: str | None = None


@model("type", "call_id", "name", "arguments")
class ResponseFunctionToolCall(Model):
    type: str | None = "function_call"
    id: str | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    status: str | None = None
    namespace: str | None = None


@model("type", "call_id", "name", "input")
class ResponseCustomToolCall(Model):
    type: str | None = "custom_tool_call"
    id: str | None = None
    call_id: str | None = None
    name: str | None = None
    input: str | None = None
    namespace: str | None = None


@model("type", "id", "status")
class ResponseFunctionWebSearch(Model):
    type: str | None = "web_search_call"
    id: str | None = None
    status: str | None = None
    action: dict[str, Any] | None = None


@model("type", "id", "status", "queries")
class ResponseFileSearchToolCall(Model):
    type: str | None = "file_search_call"
    id: str | None = None
    status: str | None = None
    queries: list[Any] | None = None
    results: list[Any] | None = None


@model("type", "id", "status", "container_id")
class ResponseCodeInterpreterToolCall(Model):
    type: str | None = "code_interpreter_call"
    id: str | None = None
    status: str | None = None
    code: str | None = None
    container_id: str | None = None
    outputs: list[Any] | None = None


@model("type", "id", "server_label", "tools")
class McpListTools(Model):
    type: str | None = "mcp_list_tools"
    id: str | None = None
    server_label: str | None = None
    tools: list[Any] | None = None
    error: Any = None


@model("type", "id", "server_label", "name", "arguments")
class McpCall(Model):
    type: str | None = "mcp_call"
    id: str | None = None
    server_label: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: Any = None
    error: Any = None
    approval_request_id: str | None = None
    status: str | None = None


@model("type", "id", "server_label", "name", "arguments")
class McpApprovalRequest(Model):
    type: str | None = "mcp_approval_request"
    id: str | None = None
    server_label: str | None = None
    name: str | None = None
    arguments: str | None = None


@model("type", "id", "execution", "status")
class ResponseToolSearchCall(Model):
    type: str | None = "tool_search_call"
    id: str | None = None
    call_id: str | None = None
    arguments: Any = None
    execution: str | None = None
    status: str | None = None


@model("type", "id", "execution", "status", "tools")
class ResponseToolSearchOutputItem(Model):
    type: str | None = "tool_search_output"
    id: str | None = None
    call_id: str | None = None
    execution: str | None = None
    status: str | None = None
    tools: list[Any] | None = None


@model("type", "id", "call_id", "status", "operation")
class ResponseApplyPatchToolCall(Model):
    type: str | None = "apply_patch_call"
    id: str | None = None
    call_id: str | None = None
    status: str | None = None
    #: ``{type, path, diff}``; ``diff`` is what the ``operation_diff`` deltas build.
    operation: dict[str, Any] | None = None


@model("type", "id", "call_id", "status", "action")
class ResponseFunctionShellToolCall(Model):
    type: str | None = "shell_call"
    id: str | None = None
    call_id: str | None = None
    status: str | None = None
    #: ``{commands: [...], ...}``; the ``shell_call_command`` events build ``commands``.
    action: dict[str, Any] | None = None
    environment: Any = None


@model()
class ResponseFunctionShellCallOutputContent(Model):
    stdout: str | None = None
    stderr: str | None = None
    outcome: dict[str, Any] | None = None


@model("type", "id", "call_id", "status", "output")
class ResponseFunctionShellToolCallOutput(Model):
    type: str | None = "shell_call_output"
    id: str | None = None
    call_id: str | None = None
    status: str | None = None
    output: list[ResponseFunctionShellCallOutputContent] | None = None
    max_output_length: int | None = None


@model("type", "id", "call_id", "status", "action")
class LocalShellCall(Model):
    type: str | None = "local_shell_call"
    id: str | None = None
    call_id: str | None = None
    status: str | None = None
    action: dict[str, Any] | None = None


@model("type", "id", "status")
class ImageGenerationCall(Model):
    type: str | None = "image_generation_call"
    id: str | None = None
    status: str | None = None
    result: str | None = None


@model("type", "id", "encrypted_content")
class ResponseCompactionItem(Model):
    type: str | None = "compaction"
    id: str | None = None
    encrypted_content: str | None = None


# ---------------------------------------------------------------- the response


@model("id", "object", "output")
class Response(Model):
    id: str | None = None
    object: str | None = "response"
    created_at: float | None = None
    status: str | None = None
    background: bool | None = None
    completed_at: float | None = None
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: Any = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    model: str | None = None
    output: (
        list[
            GenericOutputItem
            | ResponseOutputMessage
            | ResponseReasoningItem
            | ResponseFunctionToolCall
            | ResponseCustomToolCall
            | ResponseFunctionWebSearch
            | ResponseFileSearchToolCall
            | ResponseCodeInterpreterToolCall
            | McpListTools
            | McpCall
            | McpApprovalRequest
            | ResponseToolSearchCall
            | ResponseToolSearchOutputItem
            | ResponseApplyPatchToolCall
            | ResponseFunctionShellToolCall
            | ResponseFunctionShellToolCallOutput
            | LocalShellCall
            | ImageGenerationCall
            | ResponseCompactionItem
        ]
        | None
    ) = None
    parallel_tool_calls: bool | None = None
    previous_response_id: str | None = None
    prompt: dict[str, Any] | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    reasoning: dict[str, Any] | None = None
    safety_identifier: str | None = None
    service_tier: str | None = None
    store: bool | None = None
    temperature: float | None = None
    text: dict[str, Any] | None = None
    tool_choice: Any = None
    tools: list[Any] | None = None
    top_logprobs: int | None = None
    top_p: float | None = None
    truncation: str | None = None
    usage: ResponseUsage | None = None
    user: str | None = None
    metadata: dict[str, Any] | None = None
    conversation: dict[str, Any] | None = None
    moderation: dict[str, Any] | None = None
    tool_usage: dict[str, Any] | None = None

    @property
    def output_text(self) -> str:
        """The text of every ``output_text`` part of every message, joined (as the SDK's property)."""
        return "".join(
            part.text
            for item in self.output or ()
            if isinstance(item, ResponseOutputMessage)
            for part in item.content or ()
            if isinstance(part, ResponseOutputText) and part.text is not None
        )


# ---------------------------------------------------------------- events


@model("type")
class GenericEvent(Model):
    """An event of a type this module does not know."""

    type: str | None = None
    sequence_number: int | None = None


@model("type")
class ResponseErrorEvent(Model):
    """An ``error`` event. Servers nest ``{type, code, message, param}`` under ``error``; the SDK's
    model has ``code``, ``message`` and ``param`` at the top level. Both shapes are read."""

    type: str | None = "error"
    sequence_number: int | None = None
    code: str | None = None
    message: str | None = None
    param: str | None = None
    error: dict[str, Any] | None = None


@model("type")
class ResponseApplyPatchCallOperationDiffDeltaEvent(Model):
    type: str | None = "response.apply_patch_call_operation_diff.delta"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    delta: str | None = None
    obfuscation: str | None = None


@model("type")
class ResponseApplyPatchCallOperationDiffDoneEvent(Model):
    type: str | None = "response.apply_patch_call_operation_diff.done"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    diff: str | None = None


@model("type")
class ResponseAudioDeltaEvent(Model):
    type: str | None = "response.audio.delta"
    sequence_number: int | None = None
    delta: str | None = None


@model("type")
class ResponseAudioDoneEvent(Model):
    type: str | None = "response.audio.done"
    sequence_number: int | None = None


@model("type")
class ResponseAudioTranscriptDeltaEvent(Model):
    type: str | None = "response.audio.transcript.delta"
    sequence_number: int | None = None
    delta: str | None = None


@model("type")
class ResponseAudioTranscriptDoneEvent(Model):
    type: str | None = "response.audio.transcript.done"
    sequence_number: int | None = None


@model("type")
class ResponseCodeInterpreterCallCompletedEvent(Model):
    type: str | None = "response.code_interpreter_call.completed"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseCodeInterpreterCallInProgressEvent(Model):
    type: str | None = "response.code_interpreter_call.in_progress"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseCodeInterpreterCallInterpretingEvent(Model):
    type: str | None = "response.code_interpreter_call.interpreting"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseCodeInterpreterCallCodeDeltaEvent(Model):
    type: str | None = "response.code_interpreter_call_code.delta"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    delta: str | None = None
    obfuscation: str | None = None


@model("type")
class ResponseCodeInterpreterCallCodeDoneEvent(Model):
    type: str | None = "response.code_interpreter_call_code.done"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    code: str | None = None


@model("type")
class ResponseCompactionCompactingEvent(Model):
    type: str | None = "response.compaction.compacting"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseCompletedEvent(Model):
    type: str | None = "response.completed"
    sequence_number: int | None = None
    response: Response | None = None


@model("type")
class ResponseContentPartAddedEvent(Model):
    type: str | None = "response.content_part.added"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    content_index: int | None = None
    part: (
        GenericContentPart | ResponseOutputText | ResponseOutputRefusal | ResponseReasoningItemContent | None
    ) = None


@model("type")
class ResponseContentPartDoneEvent(Model):
    type: str | None = "response.content_part.done"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    content_index: int | None = None
    part: (
        GenericContentPart | ResponseOutputText | ResponseOutputRefusal | ResponseReasoningItemContent | None
    ) = None


@model("type")
class ResponseCreatedEvent(Model):
    type: str | None = "response.created"
    sequence_number: int | None = None
    response: Response | None = None


@model("type")
class ResponseCustomToolCallInputDeltaEvent(Model):
    type: str | None = "response.custom_tool_call_input.delta"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    delta: str | None = None
    obfuscation: str | None = None


@model("type")
class ResponseCustomToolCallInputDoneEvent(Model):
    type: str | None = "response.custom_tool_call_input.done"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    input: str | None = None


@model("type")
class ResponseFailedEvent(Model):
    type: str | None = "response.failed"
    sequence_number: int | None = None
    response: Response | None = None


@model("type")
class ResponseFileSearchCallCompletedEvent(Model):
    type: str | None = "response.file_search_call.completed"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseFileSearchCallInProgressEvent(Model):
    type: str | None = "response.file_search_call.in_progress"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseFileSearchCallSearchingEvent(Model):
    type: str | None = "response.file_search_call.searching"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseFunctionCallArgumentsDeltaEvent(Model):
    type: str | None = "response.function_call_arguments.delta"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    delta: str | None = None
    obfuscation: str | None = None


@model("type")
class ResponseFunctionCallArgumentsDoneEvent(Model):
    type: str | None = "response.function_call_arguments.done"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    arguments: str | None = None


@model("type")
class ResponseImageGenCallCompletedEvent(Model):
    type: str | None = "response.image_generation_call.completed"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseImageGenCallGeneratingEvent(Model):
    type: str | None = "response.image_generation_call.generating"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseImageGenCallInProgressEvent(Model):
    type: str | None = "response.image_generation_call.in_progress"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseImageGenCallPartialImageEvent(Model):
    type: str | None = "response.image_generation_call.partial_image"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    partial_image_b64: str | None = None
    partial_image_index: int | None = None
    background: str | None = None
    output_format: str | None = None
    quality: str | None = None
    size: str | None = None


@model("type")
class ResponseInProgressEvent(Model):
    type: str | None = "response.in_progress"
    sequence_number: int | None = None
    response: Response | None = None


@model("type")
class ResponseIncompleteEvent(Model):
    type: str | None = "response.incomplete"
    sequence_number: int | None = None
    response: Response | None = None


@model("type")
class ResponseMcpCallCompletedEvent(Model):
    type: str | None = "response.mcp_call.completed"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseMcpCallFailedEvent(Model):
    type: str | None = "response.mcp_call.failed"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseMcpCallInProgressEvent(Model):
    type: str | None = "response.mcp_call.in_progress"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseMcpCallArgumentsDeltaEvent(Model):
    type: str | None = "response.mcp_call_arguments.delta"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    delta: str | None = None
    obfuscation: str | None = None


@model("type")
class ResponseMcpCallArgumentsDoneEvent(Model):
    type: str | None = "response.mcp_call_arguments.done"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    arguments: str | None = None


@model("type")
class ResponseMcpListToolsCompletedEvent(Model):
    type: str | None = "response.mcp_list_tools.completed"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseMcpListToolsFailedEvent(Model):
    type: str | None = "response.mcp_list_tools.failed"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseMcpListToolsInProgressEvent(Model):
    type: str | None = "response.mcp_list_tools.in_progress"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseOutputItemAddedEvent(Model):
    type: str | None = "response.output_item.added"
    sequence_number: int | None = None
    output_index: int | None = None
    item: (
        GenericOutputItem
        | ResponseOutputMessage
        | ResponseReasoningItem
        | ResponseFunctionToolCall
        | ResponseCustomToolCall
        | ResponseFunctionWebSearch
        | ResponseFileSearchToolCall
        | ResponseCodeInterpreterToolCall
        | McpListTools
        | McpCall
        | McpApprovalRequest
        | ResponseToolSearchCall
        | ResponseToolSearchOutputItem
        | ResponseApplyPatchToolCall
        | ResponseFunctionShellToolCall
        | ResponseFunctionShellToolCallOutput
        | LocalShellCall
        | ImageGenerationCall
        | ResponseCompactionItem
        | None
    ) = None


@model("type")
class ResponseOutputItemDoneEvent(Model):
    type: str | None = "response.output_item.done"
    sequence_number: int | None = None
    output_index: int | None = None
    item: (
        GenericOutputItem
        | ResponseOutputMessage
        | ResponseReasoningItem
        | ResponseFunctionToolCall
        | ResponseCustomToolCall
        | ResponseFunctionWebSearch
        | ResponseFileSearchToolCall
        | ResponseCodeInterpreterToolCall
        | McpListTools
        | McpCall
        | McpApprovalRequest
        | ResponseToolSearchCall
        | ResponseToolSearchOutputItem
        | ResponseApplyPatchToolCall
        | ResponseFunctionShellToolCall
        | ResponseFunctionShellToolCallOutput
        | LocalShellCall
        | ImageGenerationCall
        | ResponseCompactionItem
        | None
    ) = None


@model("type")
class ResponseOutputTextAnnotationAddedEvent(Model):
    type: str | None = "response.output_text.annotation.added"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    content_index: int | None = None
    annotation_index: int | None = None
    annotation: (
        GenericAnnotation
        | AnnotationURLCitation
        | AnnotationFileCitation
        | AnnotationContainerFileCitation
        | AnnotationFilePath
        | None
    ) = None


@model("type")
class ResponseTextDeltaEvent(Model):
    type: str | None = "response.output_text.delta"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    content_index: int | None = None
    delta: str | None = None
    logprobs: list[Logprob] | None = None
    obfuscation: str | None = None


@model("type")
class ResponseTextDoneEvent(Model):
    type: str | None = "response.output_text.done"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    content_index: int | None = None
    logprobs: list[Logprob] | None = None
    text: str | None = None


@model("type")
class ResponseQueuedEvent(Model):
    type: str | None = "response.queued"
    sequence_number: int | None = None
    response: Response | None = None


@model("type")
class ResponseReasoningSummaryPartAddedEvent(Model):
    type: str | None = "response.reasoning_summary_part.added"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    summary_index: int | None = None
    part: ResponseReasoningItemSummary | None = None


@model("type")
class ResponseReasoningSummaryPartDoneEvent(Model):
    type: str | None = "response.reasoning_summary_part.done"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    summary_index: int | None = None
    part: ResponseReasoningItemSummary | None = None
    status: str | None = None


@model("type")
class ResponseReasoningSummaryTextDeltaEvent(Model):
    type: str | None = "response.reasoning_summary_text.delta"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    summary_index: int | None = None
    delta: str | None = None
    obfuscation: str | None = None


@model("type")
class ResponseReasoningSummaryTextDoneEvent(Model):
    type: str | None = "response.reasoning_summary_text.done"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    summary_index: int | None = None
    text: str | None = None


@model("type")
class ResponseReasoningTextDeltaEvent(Model):
    type: str | None = "response.reasoning_text.delta"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    content_index: int | None = None
    delta: str | None = None
    obfuscation: str | None = None


@model("type")
class ResponseReasoningTextDoneEvent(Model):
    type: str | None = "response.reasoning_text.done"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    content_index: int | None = None
    text: str | None = None


@model("type")
class ResponseRefusalDeltaEvent(Model):
    type: str | None = "response.refusal.delta"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    content_index: int | None = None
    delta: str | None = None


@model("type")
class ResponseRefusalDoneEvent(Model):
    type: str | None = "response.refusal.done"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    content_index: int | None = None
    refusal: str | None = None


@model("type")
class ResponseShellCallCommandAddedEvent(Model):
    type: str | None = "response.shell_call_command.added"
    sequence_number: int | None = None
    output_index: int | None = None
    command_index: int | None = None
    command: str | None = None


@model("type")
class ResponseShellCallCommandDeltaEvent(Model):
    type: str | None = "response.shell_call_command.delta"
    sequence_number: int | None = None
    output_index: int | None = None
    command_index: int | None = None
    delta: str | None = None
    obfuscation: str | None = None


@model("type")
class ResponseShellCallCommandDoneEvent(Model):
    type: str | None = "response.shell_call_command.done"
    sequence_number: int | None = None
    output_index: int | None = None
    command_index: int | None = None
    command: str | None = None


@model("type")
class ResponseShellCallOutputContentDeltaEvent(Model):
    type: str | None = "response.shell_call_output_content.delta"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    command_index: int | None = None
    delta: dict[str, Any] | None = None
    obfuscation: str | None = None


@model("type")
class ResponseShellCallOutputContentDoneEvent(Model):
    type: str | None = "response.shell_call_output_content.done"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None
    command_index: int | None = None
    output: list[ResponseFunctionShellCallOutputContent] | None = None


@model("type")
class ResponseWebSearchCallCompletedEvent(Model):
    type: str | None = "response.web_search_call.completed"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseWebSearchCallInProgressEvent(Model):
    type: str | None = "response.web_search_call.in_progress"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


@model("type")
class ResponseWebSearchCallSearchingEvent(Model):
    type: str | None = "response.web_search_call.searching"
    sequence_number: int | None = None
    output_index: int | None = None
    item_id: str | None = None


#: The event classes by their ``type``.
EVENT_TYPES: dict[str, type[Model]] = {}

# Each class is told apart in a list (and among the events) by the default of its ``type``.
for _cls in list(globals().values()):
    _fields = getattr(_cls, "__dataclass_fields__", {})
    if isinstance(_cls, type) and issubclass(_cls, Model) and "type" in _fields:
        _type = _fields["type"].default
        _cls._discriminator = _type  # type: ignore[attr-defined]
        if _cls.__name__.endswith("Event") and _type is not None:
            EVENT_TYPES[_type] = _cls
del _cls, _fields, _type

resolve(__name__)

ResponseStreamEvent = Model
"""Any event object: one of the ``Response*Event`` classes, or :class:`GenericEvent`."""


def event_from_dict(obj: Any) -> Model:
    """The event object of a parsed payload, by its ``type`` (:class:`GenericEvent` when unknown)."""
    if type(obj) is not dict:
        raise SchemaError("expected an object", "")
    kind = obj.get("type")
    cls = EVENT_TYPES.get(kind, GenericEvent) if type(kind) is str else GenericEvent
    return cls.from_dict(obj)
