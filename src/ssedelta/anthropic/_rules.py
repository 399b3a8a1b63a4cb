"""How a Messages stream merges, as data: the merger of either backend reads these tables.

Blocks are keyed by the events' ``index``. A ``content_block_delta`` is applied key by key: the
``delta`` type names, per key of the delta, the block key it goes to and the action; a key the
table does not name goes to the block key of the same name, concatenated when its value is a
string and replacing it otherwise (so an unknown ``foo_delta`` carrying text still merges).
"""

from __future__ import annotations

#: Append the string to the block key's fragments (joined once when a message is built).
CONCAT = "concat"
#: Replace the block key's value.
REPLACE = "replace"
#: Append the value to the block key's list.
APPEND = "append"
#: Append the string to the block's JSON text; parsed once, when the block stops (or the stream ends).
JSON = "json"

#: ``content_block_delta``: delta ``type`` -> {delta key: (block key, action)}.
DELTAS: dict[str, dict[str, tuple[str, str]]] = {
    "text_delta": {"text": ("text", CONCAT)},
    "thinking_delta": {"thinking": ("thinking", CONCAT)},
    "signature_delta": {"signature": ("signature", REPLACE)},
    "citations_delta": {"citation": ("citations", APPEND)},
    "input_json_delta": {"partial_json": ("input", JSON)},
    "compaction_delta": {
        "content": ("content", REPLACE),
        "encrypted_content": ("encrypted_content", REPLACE),
    },
}

#: The deltas that carry one string (the frequent ones): delta type -> (delta key, block key, action).
STRING_DELTAS: dict[str, tuple[str, str, str]] = {
    kind: (key, *target)
    for kind, keys in DELTAS.items()
    for key, target in keys.items()
    if target[1] in (CONCAT, JSON)
}

#: ``message_delta.delta`` keys set on the message even when the delta leaves them out (as ``None``).
MESSAGE_DELTA_ASSIGNED = ("stop_reason", "stop_sequence", "stop_details")
#: Keys of a ``message_delta`` event that are not message keys. Every other key of the event, of its
#: ``delta`` and of its ``usage`` replaces the message's (the usage's) value when it is not ``null``:
#: usage counts are cumulative totals, never added, and may go down.
MESSAGE_DELTA_OWN_KEYS = frozenset({"type", "delta", "usage"})
