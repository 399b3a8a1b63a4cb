"""Values Python code can put anywhere: cycles, wrong types and subclasses in model fields and in
the merger's state, cycles through logprob tokens, and the memory kept after large payloads.
Each runs on both backends; none may crash, and each gives the twin's result or exception."""

from __future__ import annotations

import gc
import math
import os
import sys
import tracemalloc
from typing import Any

import orjson
import pytest

import ssedelta
from merge_steps import Finalized
from real_streams import STREAMS, body
from ssedelta import _todict_py, models
from ssedelta._env import NO_EXTENSIONS

FUZZ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz")

TOKENS = (
    b'[{"token":"a","logprob":-0.5,"bytes":[97],"top_logprobs":[{"token":"a","logprob":-0.5,"bytes":[97]}]}]'
)


def logprob_stream(count: int = 3) -> bytes:
    events = b"".join(
        b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":'
        + TOKENS
        + b"}}]}\n\n"
        for _ in range(count)
    )
    return events + b"data: [DONE]\n\n"


def outcome(to_dict: Any, obj: Any) -> Any:
    """What ``to_dict`` gives: the JSON of its result, or the type of its exception."""
    try:
        return orjson.dumps(to_dict(obj), option=orjson.OPT_SERIALIZE_NUMPY)
    except Exception as exc:
        return type(exc)


def twin_outcome(make: Any) -> Any:
    return outcome(_todict_py.to_dict, make())


# ---------------------------------------------------------------- cycles


def test_a_completion_in_its_own_choices_is_a_value_error(backend: ssedelta.Backend) -> None:
    c = ssedelta.ChatCompletion(choices=[])
    c.choices.append(c)  # type: ignore[arg-type, union-attr]
    with pytest.raises(ValueError, match="nested more than 100 deep"):
        c.to_dict()
    with pytest.raises(ValueError):
        c.to_json()


def test_a_cycle_through_a_single_model_field(backend: ssedelta.Backend) -> None:
    chunk = ssedelta.ChatCompletionChunk.from_json(b'{"id":"x","choices":[]}')
    chunk.usage = chunk  # type: ignore[assignment]
    with pytest.raises(ValueError):
        backend.to_dict(chunk)


def test_nesting_up_to_the_limit_converts_and_past_it_raises(backend: ssedelta.Backend) -> None:
    def chain(depth: int) -> models.ChatCompletionModeration:
        node = models.ChatCompletionModeration()
        for _ in range(depth - 1):
            node = models.ChatCompletionModeration(input=node)  # type: ignore[arg-type]
        return node

    out = backend.to_dict(chain(100))
    for _ in range(99):
        out = out["input"]
    assert out == {"input": None, "output": None}  # both required
    with pytest.raises(ValueError):
        backend.to_dict(chain(101))


class _Shrinker:
    """Not a model, but asking whether it is one runs Python code that empties a list."""

    def __init__(self, victim: list[Any]) -> None:
        self.victim = victim

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # type: ignore[override]
        self.victim.clear()
        return _Shrinker


def test_a_list_emptied_while_it_is_converted(backend: ssedelta.Backend) -> None:
    items: list[Any] = [1, None, 2, 3]
    shrinker = items[1] = _Shrinker(items)
    logprobs = models.ChoiceLogprobs(content=items)
    assert backend.to_dict(logprobs) == {"content": [1, shrinker], "refusal": None}


# ---------------------------------------------------------------- any value in any field


class _WeirdEq:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing")

    __hash__ = None  # type: ignore[assignment]


class _Str(str):
    pass


class _Int(int):
    pass


class _Dict(dict):  # type: ignore[type-arg]
    pass


class _List(list):  # type: ignore[type-arg]
    def __iter__(self) -> Any:
        return iter(["from", "iter"])


def _token() -> models.ChatCompletionTokenLogprob:
    token = models.ChatCompletionTokenLogprob.from_json(TOKENS[1:-1])
    token.bytes = None  # a null the source had: to_dict reads the presence bits for it
    return token


#: (field, a maker of the value put there, the to_dict value expected for that field, or an exception)
ASSIGNMENTS: list[tuple[str, Any, Any]] = [
    (
        "top_logprobs",
        lambda: tuple(_token().top_logprobs or ()),
        [{"token": "a", "logprob": -0.5, "bytes": [97]}],
    ),
    (
        "top_logprobs",
        lambda: (t for t in _token().top_logprobs or ()),
        [{"token": "a", "logprob": -0.5, "bytes": [97]}],
    ),
    ("top_logprobs", lambda: "ab", ["a", "b"]),
    ("top_logprobs", lambda: 7, TypeError),
    ("top_logprobs", lambda: _List([1]), ["from", "iter"]),
    ("top_logprobs", lambda: {"k": 1}, ["k"]),
    ("bytes", lambda: "not bytes", "not bytes"),
    ("bytes", lambda: (1, 2), [1, 2]),
    ("token", lambda: _Str("sub"), "sub"),
    ("logprob", lambda: _Int(3), 3),
    ("logprob", lambda: math.nan, None),  # orjson writes nan as null
    ("token", lambda: _WeirdEq(), TypeError),  # not JSON: orjson refuses it
    ("extras", lambda: [("k", 1)], None),
    ("extras", lambda: None, None),
    ("extras", lambda: _Dict(k=2), None),
    ("extras", lambda: 5, TypeError),
    ("_present", lambda: "bits", TypeError),
    ("_present", lambda: -1, None),
    ("_present", lambda: 2**80, None),
    ("_present", lambda: True, None),
]


@pytest.mark.parametrize(("field", "make", "expected"), ASSIGNMENTS)
def test_any_value_python_allows_in_a_field(
    backend: ssedelta.Backend, field: str, make: Any, expected: Any
) -> None:
    def build() -> models.ChatCompletionTokenLogprob:
        token = _token()
        setattr(token, field, make())
        return token

    got = outcome(backend.to_dict, build())
    assert got == twin_outcome(build)
    if isinstance(expected, type):
        assert isinstance(got, type) and issubclass(got, expected)
    elif expected is not None:
        assert orjson.loads(got)[field] == expected


def test_a_tuple_of_tokens_in_decoded_logprobs(backend: ssedelta.Backend) -> None:
    chunk = next(iter(backend.ChunkDecoder().feed(logprob_stream(1))))
    logprobs = chunk.choices[0].logprobs  # type: ignore[index]
    assert logprobs is not None and logprobs.content is not None
    logprobs.content = (*logprobs.content, None, "x")  # type: ignore[assignment]
    assert backend.to_dict(logprobs)["content"][1:] == [None, "x"]


def test_a_model_field_holding_a_dict_or_a_list_of_models(backend: ssedelta.Backend) -> None:
    chunk = ssedelta.ChatCompletionChunk.from_json(b'{"id":"x","choices":[]}')
    chunk.usage = {"raw": True}  # type: ignore[assignment]
    chunk.choices = _List()  # type: ignore[assignment]
    chunk.moderation = [chunk.usage]  # type: ignore[assignment]
    assert backend.to_dict(chunk) == {
        "id": "x",
        "choices": ["from", "iter"],
        "usage": {"raw": True},
        "moderation": [{"raw": True}],
    }


def test_an_unset_slot_is_the_attribute_error_getattr_gives(backend: ssedelta.Backend) -> None:
    token = _token()
    del token.logprob
    with pytest.raises(AttributeError):
        backend.to_dict(token)
    token = _token()
    del token.extras
    with pytest.raises(AttributeError):
        backend.to_dict(token)


def test_merge_state_set_from_python(backend: ssedelta.Backend) -> None:
    """A merger's choice state holds what Python code puts there: a token list replaced by a tuple,
    extras replaced by another mapping. Merging goes on, or raises the twin's exception type."""
    stream = logprob_stream()
    first = stream.index(b"\n\n") + 2
    merger = backend.DeltaMerger()
    merger.feed(stream[:first])
    state = merger._choices[0]
    state.lp_content = tuple(state.lp_content)
    with pytest.raises(AttributeError):  # a tuple has no extend (at feed in the twin, at read natively)
        merger.feed(stream[first:])
        merger.finish()

    merger = backend.DeltaMerger()
    merger.feed(stream[:first])
    merger._choices[0].message_extras = _Dict()
    merger._choices[0].extras = _Dict()
    merger._extras = _Dict()
    merger.feed(b'data: {"id":"x","k":1,"choices":[{"index":0,"e":2,"delta":{"content":"b","r":"s"}}]}\n\n')
    out = merger.finish().to_dict()
    assert out["k"] == 1
    assert out["choices"][0]["e"] == 2
    assert out["choices"][0]["message"]["r"] == "s"


# ---------------------------------------------------------------- the collector


def test_a_cycle_through_a_logprob_token_is_collected(backend: ssedelta.Backend) -> None:
    """Native tokens are not tracked by the collector (they hold no collectable value); an
    assignment that gives one a collectable value tracks it, so the cycle it makes is collected."""
    chunk = backend.ChunkDecoder().feed(logprob_stream(1))[0]
    merged = backend.merge(logprob_stream())
    tokens = [
        chunk.choices[0].logprobs.content[0],  # type: ignore[index, union-attr]
        merged.choices[0].logprobs.content[0],  # type: ignore[index, union-attr]
        merged.choices[0].logprobs.content[1].top_logprobs[0],  # type: ignore[index, union-attr]
    ]
    Finalized.seen = []
    for i, token in enumerate(tokens):
        assert gc.is_tracked(token) is (backend.name == "python")
        sentinel = Finalized(str(i))
        sentinel.ref = token
        if i == 2:
            token.bytes = [*token.bytes, sentinel]  # type: ignore[list-item, misc]
        else:
            token.extras = {"cycle": sentinel}
        assert gc.is_tracked(token)
    del chunk, merged, tokens, token, sentinel
    gc.collect()
    assert sorted(Finalized.seen) == ["0", "1", "2"]


def test_parsing_leaves_the_collector_on(backend: ssedelta.Backend) -> None:
    """The 10,000 objects of 2,000 tokens are made with the collector running (no process-wide
    switch): at a threshold of 50 new objects, it runs about 200 times meanwhile."""
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    stream = logprob_stream(2000)
    merger = backend.DeltaMerger()
    threshold = gc.get_threshold()
    gc.callbacks.append(count)
    gc.set_threshold(50)
    try:
        merger.feed(stream)
        tokens = merger.finish().choices[0].logprobs.content  # type: ignore[union-attr]  # made here
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(count)
    assert len(tokens) == 2000  # type: ignore[arg-type]
    if sys.version_info < (3, 12):
        assert len(collections) > 100
    else:
        # Since 3.12 a collection that allocation asks for waits for the next bytecode boundary, so
        # native code making objects runs none itself; the collector must still have run meanwhile.
        assert collections
    assert gc.isenabled()


def test_tokens_made_again_from_a_collection_callback(backend: ssedelta.Backend) -> None:
    """Code a collection runs (a finalizer, a gc callback) may merge another stream while tokens
    are being made: both results are right."""
    inner: list[Any] = []

    def merge_again(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and len(inner) < 20:
            inner.append(None)  # before merging: the merge below collects too
            inner[-1] = backend.merge([logprob_stream(2)]).choices[0].logprobs.content

    merger = backend.DeltaMerger()
    merger.feed(logprob_stream(500))
    threshold = gc.get_threshold()
    gc.callbacks.append(merge_again)
    gc.set_threshold(10)
    try:
        merged = merger.finish()
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(merge_again)
    expected = backend.merge([logprob_stream(1)]).choices[0].logprobs.content[0]
    assert merged.choices[0].logprobs.content == [expected] * 500
    assert inner and all(tokens == [expected] * 2 for tokens in inner if tokens is not None)


# ---------------------------------------------------------------- memory kept between payloads

MiB = 1 << 20


def _big_event(fill: bytes, size: int) -> bytes:
    return (
        b'data: {"id":"a","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
        b'"delta":{"blob":"' + fill * size + b'"}}]}\n\n'
    )


def test_a_merger_keeps_no_copy_of_large_payloads(backend: ssedelta.Backend) -> None:
    """Four 15 MiB events whose one value replaces the last: what stays is that value, not the
    payloads, their tapes or their scans."""
    merger = backend.DeltaMerger(scalar_keys=("blob",))
    merger.feed(_big_event(b"s", 10))
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for fill in (b"a", b"b", b"c", b"d"):
            event = _big_event(fill, 15 * MiB)
            merger.feed(event[:1000])
            merger.feed(event[1000:])
            del event
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert kept < 15 * MiB + MiB
    assert merger.finish().choices[0].message.extras["blob"] == "d" * (15 * MiB)  # type: ignore[union-attr]


def test_a_merger_keeps_no_large_tape(backend: ssedelta.Backend) -> None:
    """A payload of 100,000 choice entries takes a tape of as many entries; once the next payload
    is merged, nothing of it stays."""
    merger = backend.DeltaMerger(max_choices=10**6)
    small = b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"b"}}]}\n\n'
    merger.feed(small)
    big = b'data: {"id":"x","choices":[' + b",".join([b'{"index":0,"delta":{}}'] * 100_000) + b"]}\n\n"
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        merger.feed(big)
        merger.feed(small)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert kept < MiB
    assert merger.finish().choices[0].message.content == "bb"  # type: ignore[union-attr]


def test_a_decoder_keeps_no_large_header(backend: ssedelta.Backend) -> None:
    decoder = backend.ChunkDecoder()
    header = b'data: {"id":"' + b"i" * (15 * MiB) + b'","choices":[]}\n\n'
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            assert len(decoder.feed(header)) == 1
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert kept < MiB


# ---------------------------------------------------------------- the fuzz target, on the corpus


@pytest.mark.c_extension
@pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")
@pytest.mark.parametrize("name", STREAMS)
def test_to_dict_of_changed_models_is_the_twins(name: str) -> None:
    """The ``todict`` fuzz target (``tests/fuzz/todict_mutations.py``) on each real stream, with
    eight different sets of changes."""
    sys.path.insert(0, FUZZ)
    try:
        import todict_mutations
    finally:
        sys.path.remove(FUZZ)
    for seed in range(8):
        todict_mutations.check_todict(bytes([seed * 31 % 256, seed * 5]) + body(name))
