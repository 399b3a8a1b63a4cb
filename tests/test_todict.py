"""The native ``to_dict`` gives what the twin gives, key order included, for any model."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

import ssedelta
from real_streams import STREAMS, body
from ssedelta import _todict_py, models
from ssedelta._env import NO_EXTENSIONS
from test_differential import split, streams

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

NATIVE = ssedelta.get_backend("native") if not NO_EXTENSIONS else None
PYTHON = ssedelta.get_backend("python")


def outcome(to_dict: Any, obj: Any) -> Any:
    try:
        return orjson.dumps(to_dict(obj))
    except Exception as exc:  # the same exception on both sides is what is checked
        return type(exc), str(exc)


def same(obj: Any) -> bytes:
    native = outcome(NATIVE.to_dict, obj)
    assert native == outcome(_todict_py.to_dict, obj)
    return native


def every_result(backend: ssedelta.Backend, data: bytes) -> list[Any]:
    """The chunks ``backend`` decodes from ``data`` and the completion it merges (or the partial)."""
    objs: list[Any] = []
    decoder = backend.ChunkDecoder()
    try:
        for piece in split(data, 3):
            objs += decoder.feed(piece)
        objs += decoder.close()
    except ssedelta.SSEDeltaError:
        pass
    merger = backend.DeltaMerger()
    try:
        merger.feed(data)
        objs.append(merger.finish())
    except ssedelta.UpstreamError as exc:
        objs.append(exc.partial)
    except ssedelta.StreamFormatError:
        objs.append(merger.snapshot())
    return objs


@pytest.mark.parametrize("name", STREAMS)
def test_real_streams(name: str) -> None:
    for backend in (NATIVE, PYTHON):
        for obj in every_result(backend, body(name)):
            same(obj)
    chunks = [c for c in every_result(PYTHON, body(name)) if isinstance(c, models.ChatCompletionChunk)]
    assert chunks
    for chunk in chunks:
        assert NATIVE.to_dict(chunk) == orjson.loads(chunk.to_json())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=streams())
def test_generated_streams(data: bytes) -> None:
    for backend in (NATIVE, PYTHON):
        for obj in every_result(backend, b"".join(split(data, 7))):
            same(obj)


def test_models_built_in_code_keep_required_nulls() -> None:
    token = models.ChatCompletionTokenLogprob(token="a", logprob=-0.5, bytes=None, top_logprobs=[])
    assert same(token) == b'{"token":"a","logprob":-0.5,"bytes":null,"top_logprobs":[]}'
    delta = models.ChatCompletionStreamResponseDelta(content="hi", extras={"x": [1]})
    choice = models.CreateChatCompletionStreamResponseChoicesInner(index=0, delta=delta, finish_reason=None)
    chunk = models.ChatCompletionChunk(id="c", choices=[choice], created=1, model="m", object="o")
    assert orjson.loads(same(chunk))["choices"] == [
        {"delta": {"content": "hi", "x": [1]}, "finish_reason": None, "index": 0}
    ]


@dataclasses.dataclass
class _NotAModel:
    value: int


def test_unusual_values_behave_as_in_the_twin() -> None:
    token = models.ChatCompletionTokenLogprob.from_dict({"token": "a", "logprob": -1, "bytes": [97]})
    for present in (-1, 2**70, 0, "x", 1.5):
        token._present = present  # type: ignore[assignment]
        same(token)
    unset = models.ChatCompletionTokenLogprob.__new__(models.ChatCompletionTokenLogprob)
    assert isinstance(same(unset), tuple)  # AttributeError on both sides
    top = models.ChatCompletionTokenLogprobTopLogprobsInner(token="b", logprob=0.0, bytes=[98])
    as_tuple = models.ChatCompletionTokenLogprob(token="a", logprob=0, bytes=[], top_logprobs=(top, {"k": 1}))  # type: ignore[arg-type]
    assert orjson.loads(same(as_tuple))["top_logprobs"] == [
        {"token": "b", "logprob": 0.0, "bytes": [98]},
        {"k": 1},
    ]
    foreign = models.ChatCompletionTokenLogprob(token="a", logprob=0, bytes=[], top_logprobs=[_NotAModel(1)])  # type: ignore[list-item]
    assert same(foreign) == b'{"token":"a","logprob":0,"bytes":[],"top_logprobs":[{"value":1}]}'

    class Sub(models.ChatCompletionTokenLogprob):
        pass

    sub = Sub(token="s", logprob=-2.0, bytes=None, top_logprobs=None, extras={"more": True})
    assert same(sub) == b'{"token":"s","logprob":-2.0,"bytes":null,"top_logprobs":null,"more":true}'
