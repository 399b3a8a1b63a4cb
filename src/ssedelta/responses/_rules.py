"""The merge rules of the Responses API stream, as data both mergers read.

Every event that changes an output item names a *slot*: the item at ``output_index`` and, inside
it, the elements of lists keyed by further indexes of the payload (``content_index``,
``summary_index``, ``annotation_index``, ``command_index``). A slot is a chain of (path of the list
inside its parent, payload key of the index). An *op* says what the event does there:

- ``PUT``: the payload value becomes the slot's value (``output_item.added``/``.done``,
  ``content_part.added``/``.done``, ...): whatever was merged there before is replaced.
- ``CONCAT``: a string fragment is concatenated onto the string at a path of the slot's value
  (``delta`` events); the string the slot held when the first fragment came is the start.
- ``CONCAT_EACH``: an object of string fragments; each is concatenated onto the key of its name.
- ``EXTEND``: the items of a list are appended to the list at a path (text logprobs).
- ``REPLACE``: the payload value replaces the value at a path (the ``*.done`` events).

Lifecycle events carry the whole response: ``START`` events (``created``, ``queued``,
``in_progress``) replace the response-level fields and add the output items not merged yet;
``END`` events (``completed``, ``incomplete``, ``failed``) do the same, their output items replace
the merged ones at the same index, and the stream ends there. ``ERROR`` records an upstream error.
Event types without a rule change nothing (the status events of the built-in tools).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "CONCAT",
    "CONCAT_EACH",
    "END",
    "ERROR",
    "EVENT_RULES",
    "EXTEND",
    "LIFECYCLE",
    "PUT",
    "REPLACE",
    "SLOTS",
    "START",
    "Op",
    "Rule",
]

PUT, CONCAT, CONCAT_EACH, EXTEND, REPLACE = "put", "concat", "concat_each", "extend", "replace"
START, END, ERROR = "start", "end", "error"

# Kinds a value must have (the PUT values are checked against the model of their slot).
STR, LIST = "str", "list"

ITEM, CONTENT, SUMMARY, ANNOTATION, COMMAND, SHELL_OUTPUT = (
    "item",
    "content",
    "summary",
    "annotation",
    "command",
    "shell_output",
)

#: slot -> the chain of (list path inside the parent, payload key of the index), below the item.
SLOTS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    ITEM: (),
    CONTENT: ((("content",), "content_index"),),
    SUMMARY: ((("summary",), "summary_index"),),
    ANNOTATION: ((("content",), "content_index"), (("annotations",), "annotation_index")),
    COMMAND: ((("action", "commands"), "command_index"),),
    SHELL_OUTPUT: ((("output",), "command_index"),),
}


class Op(NamedTuple):
    op: str
    key: str  # the payload key holding the value
    path: tuple[str, ...] = ()  # where in the slot's value; () is the value itself
    kind: str = STR


class Rule(NamedTuple):
    slot: str
    ops: tuple[Op, ...]
    #: ``type`` of an item (and of a list element) the event creates when its slot is empty,
    #: as in a stream resumed in the middle of an item.
    item_type: str | None = None
    part_type: str | None = None


def _text(
    slot: str, value_key: str, path: str, item_type: str | None, part_type: str | None
) -> dict[str, Rule]:
    """The ``.delta`` / ``.done`` pair of a streamed string."""
    return {
        "delta": Rule(slot, (Op(CONCAT, "delta", (path,)),), item_type, part_type),
        "done": Rule(slot, (Op(REPLACE, value_key, (path,)),), item_type, part_type),
    }


def _pair(prefix: str, rules: dict[str, Rule]) -> dict[str, Rule]:
    return {f"{prefix}.{suffix}": rule for suffix, rule in rules.items()}


#: event type -> rule
EVENT_RULES: dict[str, Rule] = {
    "response.output_item.added": Rule(ITEM, (Op(PUT, "item"),)),
    "response.output_item.done": Rule(ITEM, (Op(PUT, "item"),)),
    "response.content_part.added": Rule(CONTENT, (Op(PUT, "part"),)),
    "response.content_part.done": Rule(CONTENT, (Op(PUT, "part"),)),
    "response.output_text.delta": Rule(
        CONTENT,
        (Op(CONCAT, "delta", ("text",)), Op(EXTEND, "logprobs", ("logprobs",), LIST)),
        "message",
        "output_text",
    ),
    "response.output_text.done": Rule(
        CONTENT,
        (Op(REPLACE, "text", ("text",)), Op(REPLACE, "logprobs", ("logprobs",), LIST)),
        "message",
        "output_text",
    ),
    "response.output_text.annotation.added": Rule(
        ANNOTATION, (Op(PUT, "annotation"),), "message", "output_text"
    ),
    **_pair("response.refusal", _text(CONTENT, "refusal", "refusal", "message", "refusal")),
    "response.reasoning_summary_part.added": Rule(SUMMARY, (Op(PUT, "part"),), "reasoning"),
    "response.reasoning_summary_part.done": Rule(SUMMARY, (Op(PUT, "part"),), "reasoning"),
    **_pair("response.reasoning_summary_text", _text(SUMMARY, "text", "text", "reasoning", "summary_text")),
    **_pair("response.reasoning_text", _text(CONTENT, "text", "text", "reasoning", "reasoning_text")),
    **_pair("response.function_call_arguments", _text(ITEM, "arguments", "arguments", "function_call", None)),
    **_pair("response.mcp_call_arguments", _text(ITEM, "arguments", "arguments", "mcp_call", None)),
    **_pair("response.custom_tool_call_input", _text(ITEM, "input", "input", "custom_tool_call", None)),
    **_pair(
        "response.code_interpreter_call_code", _text(ITEM, "code", "code", "code_interpreter_call", None)
    ),
    "response.apply_patch_call_operation_diff.delta": Rule(
        ITEM, (Op(CONCAT, "delta", ("operation", "diff")),), "apply_patch_call"
    ),
    "response.apply_patch_call_operation_diff.done": Rule(
        ITEM, (Op(REPLACE, "diff", ("operation", "diff")),), "apply_patch_call"
    ),
    "response.shell_call_command.added": Rule(COMMAND, (Op(PUT, "command"),), "shell_call"),
    "response.shell_call_command.delta": Rule(COMMAND, (Op(CONCAT, "delta"),), "shell_call"),
    "response.shell_call_command.done": Rule(COMMAND, (Op(REPLACE, "command"),), "shell_call"),
    "response.shell_call_output_content.delta": Rule(
        SHELL_OUTPUT, (Op(CONCAT_EACH, "delta"),), "shell_call_output"
    ),
    "response.shell_call_output_content.done": Rule(
        ITEM, (Op(REPLACE, "output", ("output",), LIST),), "shell_call_output"
    ),
}

#: lifecycle event type -> what it does
LIFECYCLE: dict[str, str] = {
    "response.created": START,
    "response.queued": START,
    "response.in_progress": START,
    "response.completed": END,
    "response.incomplete": END,
    "response.failed": END,
    "error": ERROR,
}
