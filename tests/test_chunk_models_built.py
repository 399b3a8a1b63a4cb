"""A chunk's ``usage``, ``moderation`` and Groq's ``x_groq.usage``, built by the shared model builder.

The native merger builds these objects with :mod:`ssedelta._build_c` (direct slot writes), the
twin with the models' ``from_dict``: for any value, both give equal objects with the same keys, or
the same error, and a stream carrying such values (Groq's usage before or after the choices, next
to a top-level one or not, with its key escaped) merges alike on both backends.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssedelta
from ssedelta import _build_py
from ssedelta._env import NO_EXTENSIONS
from ssedelta._schema import SchemaError
from ssedelta.chat import models as m

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

NATIVE = ssedelta.get_backend("native") if not NO_EXTENSIONS else None
PYTHON = ssedelta.get_backend("python")

SCALARS = st.one_of(
    st.none(),
    st.integers(-5, 10**6),
    st.sampled_from([12.0, 12.5, -0.0, 2**63, 10**30, True, False, "7", "", [], {}]),
)
DETAILS = st.dictionaries(
    st.sampled_from(["cached_tokens", "audio_tokens", "reasoning_tokens", "accepted_prediction_tokens", "x"]),
    SCALARS,
    max_size=3,
)
USAGE = st.dictionaries(
    st.sampled_from(["prompt_tokens", "completion_tokens", "total_tokens", "queue_time", "cost"]),
    SCALARS,
    max_size=4,
).flatmap(
    lambda usage: st.fixed_dictionaries(
        {},
        optional={
            "prompt_tokens_details": st.none() | DETAILS,
            "completion_tokens_details": st.none() | DETAILS | st.just([]),
        },
    ).map(lambda details: {**usage, **details})
)
MODERATION = st.dictionaries(
    st.sampled_from(["flagged", "categories", "category_scores", "model", "id"]),
    SCALARS | st.dictionaries(st.sampled_from(["hate", "violence"]), SCALARS, max_size=2),
    max_size=4,
)


def built(build: Any, cls: type, value: Any) -> Any:
    try:
        obj = build(cls, value)
    except SchemaError as exc:
        return ("error", str(exc))
    return ("ok", obj, obj.to_dict(), sorted(obj.extras))


@settings(max_examples=400, deadline=None)
@given(usage=USAGE, moderation=MODERATION)
def test_the_builder_makes_what_from_dict_makes(usage: dict[str, Any], moderation: dict[str, Any]) -> None:
    from ssedelta import _build_c

    for cls, value in ((m.CompletionUsage, usage), (m.ChatCompletionModeration, moderation)):
        assert built(_build_c.from_dict, cls, value) == built(_build_py.from_dict, cls, value)


def merged(backend: ssedelta.Backend, data: bytes) -> Any:
    try:
        return ("ok", backend.merge(data).to_dict())
    except ssedelta.StreamFormatError as exc:
        return (type(exc).__name__, str(exc), exc.offset, exc.event_index)


GROQ = st.fixed_dictionaries({"id": st.just("req_1")}, optional={"usage": st.none() | USAGE | st.just(3)})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    usages=st.lists(st.none() | USAGE, min_size=1, max_size=3),
    groqs=st.lists(st.none() | GROQ, min_size=1, max_size=3),
    moderation=st.none() | MODERATION,
    first=st.booleans(),
    escaped=st.booleans(),
)
def test_a_stream_with_usage_and_moderation_merges_alike(
    usages: list[dict[str, Any] | None],
    groqs: list[dict[str, Any] | None],
    moderation: dict[str, Any] | None,
    first: bool,
    escaped: bool,
) -> None:
    chunks = []
    for k, usage in enumerate(usages):
        chunk: dict[str, Any] = {"x_groq": groqs[k % len(groqs)]} if first else {}
        chunk.update(id="c", object="chat.completion.chunk", created=1, model="x", choices=[], usage=usage)
        if not first:
            chunk["x_groq"] = groqs[k % len(groqs)]
        chunks.append(chunk)
    chunks[-1]["moderation"] = moderation
    chunks.append({"id": "c", "choices": [], "x_groq": groqs[-1]})  # without a top-level usage
    data = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    if escaped:
        data = data.replace(b'"usage": {', b'"u\\u0073age": {', 1)
    assert merged(NATIVE, data) == merged(PYTHON, data)
