"""How a Chat Completions stream merges, as data: both mergers read these tables.

One :class:`~ssedelta._rules.Table` per object of a chunk. The keys a model has a field for are
merged into it; every other key is kept in the object's extras by its rule here, or by the table's
rule for unknown keys. A provider key with a rule of its own is one line in a table (and a test).
Two keys have more than a rule: ``error`` (an upstream error, merged and then reported) and
``x_groq`` (kept by the last non-null rule; its ``usage`` serves when no top-level one comes).
"""

from __future__ import annotations

from types import MappingProxyType

from .._rules import (
    APPEND,
    BY_INDEX,
    BY_VALUE,
    CONCAT,
    FIRST,
    IGNORE,
    KEY,
    LAST,
    MERGE,
    ONCE,
    Table,
)

__all__ = ["AUDIO", "CHOICE", "CHUNK", "DELTA", "EXTRAS", "FUNCTION", "FUNCTION_CALL", "TOOL_CALL"]

#: The chunk; unknown keys take the last non-null value (Azure's ``prompt_filter_results``,
#: OpenRouter's ``provider``).
CHUNK = Table(
    MappingProxyType(
        {
            "id": FIRST,
            "object": IGNORE,
            "created": FIRST,
            "model": FIRST,
            "choices": BY_INDEX,
            "service_tier": FIRST,
            "system_fingerprint": LAST,
            "usage": LAST,
            "moderation": LAST,
            "obfuscation": IGNORE,  # OpenAI's random padding
        }
    ),
    LAST,
)

#: A choice, keyed by ``index``; unknown keys take the last non-null value (Azure's
#: ``content_filter_results``, OpenRouter's ``native_finish_reason``, vLLM's ``stop_reason``).
CHOICE = Table(
    MappingProxyType({"index": KEY, "delta": MERGE, "finish_reason": LAST, "logprobs": APPEND}),
    LAST,
)

#: A choice's delta; unknown keys by their value (``reasoning_content`` concatenated,
#: ``reasoning_details`` merged by (``index``, ``type``), ``token_id`` the last value).
DELTA = Table(
    MappingProxyType(
        {
            "role": ONCE,
            "content": CONCAT,
            "refusal": CONCAT,
            "tool_calls": BY_INDEX,
            "function_call": MERGE,
            "audio": MERGE,
            "annotations": APPEND,
        }
    ),
    BY_VALUE,
)

#: A tool-call fragment, keyed by ``index`` (see the design for calls that reuse an index or have none).
TOOL_CALL = Table(MappingProxyType({"index": KEY, "id": ONCE, "type": ONCE, "function": MERGE}), BY_VALUE)
FUNCTION = Table(MappingProxyType({"name": ONCE, "arguments": CONCAT}), BY_VALUE)
#: The legacy ``function_call`` of a delta.
FUNCTION_CALL = Table(MappingProxyType({"name": ONCE, "arguments": CONCAT}), BY_VALUE)
AUDIO = Table(MappingProxyType({"id": ONCE, "data": CONCAT, "transcript": CONCAT}), BY_VALUE)

#: Unknown keys merged by :data:`BY_VALUE`, at any depth inside a delta, whose rule is another:
#: scalars whose strings replace the last one (extended by ``DeltaMerger(scalar_keys=...)``) and
#: lists appended even when their items carry an ``index`` (``DeltaMerger(append_keys=...)``).
EXTRAS = MappingProxyType(
    {
        "channel": LAST,
        "type": LAST,
        "format": LAST,
        "id": LAST,
        "index": LAST,
        "role": LAST,
        "name": LAST,
        "status": LAST,
        "model": LAST,
        "object": LAST,
        "annotations": APPEND,
        "executed_tools": APPEND,
    }
)
