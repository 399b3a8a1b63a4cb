"""The objects the native core builds: untracked by the collector while they hold no collectable
value (tracked again by an assignment that gives them one), and logprob tokens the merger keeps as
columns, made when first read and equal to eagerly built ones, or read as numpy arrays."""

from __future__ import annotations

import copy
import gc
import json
import math
import pickle
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ssedelta
from real_streams import STREAMS, body
from ssedelta import models

LOGPROB_STREAMS = [name for name in STREAMS if b'"logprobs":{' in body(name)]
PLAIN = "openai-python__gpt4o_plain_content_usage"


def native(backend: ssedelta.Backend) -> bool:
    return backend.name == "native"


def token(text: str, logprob: Any = -0.5, **keys: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"token": text, "logprob": logprob, "bytes": list(text.encode())}
    out.update(keys)
    return out


def stream_of(token_lists: list[list[dict[str, Any]]], field: str = "content") -> bytes:
    import orjson

    events = [
        b"data: "
        + orjson.dumps(
            {"id": "x", "choices": [{"index": 0, "delta": {"content": "a"}, "logprobs": {field: tokens}}]}
        )
        + b"\n\n"
        for tokens in token_lists
    ]
    return b"".join(events) + b"data: [DONE]\n\n"


# Tokens of every shape the columns keep, and of the shapes they keep as objects.
ODD_TOKENS = [
    [token("a", top_logprobs=[token("a"), token("b", -1.25)])],
    [token("\u00e9\n", -0.125, top_logprobs=[])],  # escaped and non-ASCII text
    [{"token": "\\ufffd", "logprob": -2.5, "bytes": [226, 128], "top_logprobs": [token("x", bytes=[1, 2])]}],
    [token("n", bytes=None, top_logprobs=[token("m", bytes=None)])],
    [token("i", -1, top_logprobs=[token("j")])],  # an integer logprob: kept as an object
    [{"token": "k", "logprob": -0.5, "top_logprobs": []}],  # no bytes
    [token("t", top_logprobs=None)],
    [
        {
            "bytes": [113],
            "top_logprobs": [{"bytes": [114], "logprob": -3.0, "token": "r"}],
            "logprob": -0.75,
            "token": "q",
        }
    ],
    [token("s", -1e-05, top_logprobs=[token("u", -12.5), token("v", 0.0), token("w", -7.25e-3)])],
    [token("long", -0.1234567890123456789012, top_logprobs=[token("z" * 80, -1.5)])],
]


def test_odd_token_shapes_merge_as_the_twin(backend: ssedelta.Backend) -> None:
    twin = ssedelta.get_backend("python")
    data = stream_of(ODD_TOKENS)
    spaced = data.replace(b",", b", ").replace(b'"content":"a", ', b'"content":"a",')
    for stream in (data, spaced):
        got = backend.merge(stream)
        want = twin.merge(stream)
        assert got.to_dict() == want.to_dict()
        assert got == want
        lp, wlp = got.choices[0].logprobs, want.choices[0].logprobs  # type: ignore[index]
        assert [repr(t.logprob) for t in lp.content] == [repr(t.logprob) for t in wlp.content]  # type: ignore[union-attr]
        assert type(lp.content[4].logprob) is int  # type: ignore[index, union-attr]


# ---------------------------------------------------------------- lazy tokens


@pytest.mark.parametrize("name", LOGPROB_STREAMS)
def test_lazy_tokens_equal_eager_ones(backend: ssedelta.Backend, name: str) -> None:
    """Merged tokens (columns, made when read) equal the tokens decoded chunk by chunk and the
    twin's: ``==``, ``to_dict``, ``repr``, pickle and copies of a completion not yet read."""
    data = body(name)
    twin = ssedelta.get_backend("python").merge(data)
    chunks = list(backend.iter_chunks(data))
    completion = backend.merge(data)
    for choice in completion.choices:  # type: ignore[union-attr]
        for field in ("content", "refusal"):
            eager: list[Any] | None = None
            for chunk in chunks:
                for c in chunk.choices or ():
                    if c.index == choice.index and c.logprobs is not None:
                        tokens = getattr(c.logprobs, field)
                        if tokens is not None:
                            eager = (eager or []) + tokens
            assert getattr(choice.logprobs, field) == eager
    assert completion == twin
    assert completion.to_dict() == twin.to_dict()
    assert backend.merge(data).to_dict() == twin.to_dict()  # to_dict of tokens not read yet
    assert repr(backend.merge(data)) == repr(twin)
    assert pickle.loads(pickle.dumps(backend.merge(data))) == twin
    assert copy.deepcopy(backend.merge(data)) == twin
    logprobs = backend.merge(data).choices[0].logprobs  # type: ignore[index]
    assert copy.copy(logprobs) == twin.choices[0].logprobs  # type: ignore[index]


def test_a_snapshot_keeps_the_tokens_merged_when_it_was_made(backend: ssedelta.Backend) -> None:
    data = stream_of([[token(str(i), top_logprobs=[token(str(i))])] for i in range(6)])
    cut = data.index(b"\n\n", data.index(b"\n\n") + 2) + 2
    merger = backend.DeltaMerger()
    merger.feed(data[:cut])
    first = merger.snapshot()
    merger.feed(data[cut:])
    last = merger.finish()
    assert [t.token for t in first.choices[0].logprobs.content] == ["0", "1"]  # type: ignore[index, union-attr]
    assert [t.token for t in last.choices[0].logprobs.content] == [str(i) for i in range(6)]  # type: ignore[index, union-attr]
    assert first.choices[0].logprobs.to_numpy().tokens == ["0", "1"]  # type: ignore[index, union-attr]


def test_chunks_added_as_objects_join_the_columns(backend: ssedelta.Backend) -> None:
    data = stream_of(ODD_TOKENS)
    chunks = list(backend.iter_chunks(data))
    merger = backend.DeltaMerger()
    for i, chunk in enumerate(chunks):
        if i % 2:
            merger.add(chunk)
        else:
            merger.feed(chunk.to_sse())
    assert merger.finish() == ssedelta.get_backend("python").merge(data)


# ---------------------------------------------------------------- arrays


def check_arrays(logprobs: models.ChoiceLogprobs, field: str = "content") -> None:
    arrays = logprobs.to_numpy(field)
    tokens = getattr(logprobs, field) or []
    assert arrays.tokens == [t.token for t in tokens]
    assert arrays.logprobs.dtype == np.float64 and arrays.logprobs.shape == (len(tokens),)
    assert arrays.top_tokens == [[alt.token for alt in t.top_logprobs or ()] for t in tokens]
    k = max((len(t.top_logprobs or ()) for t in tokens), default=0)
    assert arrays.top_logprobs.dtype == np.float64 and arrays.top_logprobs.shape == (len(tokens), k)
    for i, t in enumerate(tokens):
        assert arrays.logprobs[i] == t.logprob or (t.logprob is None and math.isnan(arrays.logprobs[i]))
        tops = t.top_logprobs or ()
        for j in range(k):
            if j < len(tops):
                assert arrays.top_logprobs[i, j] == tops[j].logprob
            else:
                assert math.isnan(arrays.top_logprobs[i, j])


@pytest.mark.parametrize("name", LOGPROB_STREAMS)
def test_arrays_match_the_token_objects(backend: ssedelta.Backend, name: str) -> None:
    for field in ("content", "refusal"):
        for choice in backend.merge(body(name)).choices:  # type: ignore[union-attr]
            check_arrays(choice.logprobs, field)  # type: ignore[arg-type]  # columns
            check_arrays(choice.logprobs, field)  # type: ignore[arg-type]  # token objects, read by the first
        for chunk in backend.iter_chunks(body(name)):
            for choice in chunk.choices or ():
                if choice.logprobs is not None:
                    check_arrays(choice.logprobs, field)


def test_arrays_of_odd_tokens_and_of_the_twin_are_equal(backend: ssedelta.Backend) -> None:
    data = stream_of(ODD_TOKENS)
    got = backend.merge(data).choices[0].logprobs.to_numpy()  # type: ignore[index, union-attr]
    want = ssedelta.get_backend("python").merge(data).choices[0].logprobs.to_numpy()  # type: ignore[index, union-attr]
    assert got.tokens == want.tokens and got.top_tokens == want.top_tokens
    np.testing.assert_array_equal(got.logprobs, want.logprobs)
    np.testing.assert_array_equal(got.top_logprobs, want.top_logprobs)
    check_arrays(backend.merge(data).choices[0].logprobs)  # type: ignore[arg-type, index]
    refusal = backend.merge(stream_of(ODD_TOKENS[:2], "refusal")).choices[0].logprobs  # type: ignore[index]
    assert refusal.to_numpy().tokens == []  # type: ignore[union-attr]
    check_arrays(refusal, "refusal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="field"):
        refusal.to_numpy("tokens")  # type: ignore[union-attr]


def test_to_numpy_without_numpy_names_the_extra(
    backend: ssedelta.Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    logprobs = backend.merge(stream_of(ODD_TOKENS)).choices[0].logprobs  # type: ignore[index]
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(ImportError, match=r"ssedelta\[numpy\]"):
        logprobs.to_numpy()  # type: ignore[union-attr]


# ---------------------------------------------------------------- the collector


def objects_of(chunk: models.ChatCompletionChunk) -> list[Any]:
    choice = chunk.choices[0]  # type: ignore[index]
    return [chunk, chunk.choices, choice, choice.delta]


def test_decoded_objects_are_untracked_until_an_assignment(backend: ssedelta.Backend) -> None:
    chunks = list(backend.iter_chunks(body(PLAIN)))
    completion = backend.merge(body(PLAIN))
    for chunk in chunks:
        if chunk.choices:
            assert [gc.is_tracked(x) for x in objects_of(chunk)] == [not native(backend)] * 4
    assert gc.is_tracked(completion) is not native(backend)
    chunk = chunks[3]
    chunk.model = "another"  # a value the collector does not track
    chunk.choices[0].delta.content = "x"  # type: ignore[index, union-attr]
    assert [gc.is_tracked(x) for x in objects_of(chunk)] == [not native(backend)] * 4
    chunk.choices[0].delta.refusal = []  # type: ignore[assignment, index, union-attr]
    assert gc.is_tracked(chunk.choices[0].delta)  # type: ignore[index]
    completion.choices[0].message.extras = {"list": [1]}  # type: ignore[index, union-attr]
    assert gc.is_tracked(completion.choices[0].message)  # type: ignore[index]
    assert gc.is_tracked(completion.choices[0].message.extras)  # type: ignore[index, union-attr]


def test_lazy_logprobs_and_their_tokens_are_untracked(backend: ssedelta.Backend) -> None:
    completion = backend.merge(stream_of(ODD_TOKENS[:3]))
    logprobs = completion.choices[0].logprobs  # type: ignore[index]
    assert gc.is_tracked(logprobs) is not native(backend)
    tokens = logprobs.content  # type: ignore[union-attr]
    assert [gc.is_tracked(t) for t in tokens] == [not native(backend)] * 3  # type: ignore[union-attr]
    assert gc.is_tracked(tokens[0].top_logprobs[0]) is not native(backend)  # type: ignore[index]
    assert gc.is_tracked(logprobs) is not native(backend)


class _Finalized:
    """Appends its name to ``seen`` when freed: a cycle it hangs from was collected."""

    seen: list[str] = []

    def __init__(self, name: str) -> None:
        self.name = name

    def __del__(self) -> None:
        self.seen.append(self.name)


def make_cycles(backend: ssedelta.Backend, name: str) -> None:
    """Cycles made by assigning decoded objects to each other's fields, each with a sentinel."""
    data = body(name)
    chunks = list(backend.iter_chunks(data))
    a, b = [c for c in chunks if c.choices][:2]
    a.choices[0].delta.role = a  # type: ignore[assignment, index, union-attr]  # into an ancestor
    a.choices[0].finish_reason = _Finalized("ancestor")  # type: ignore[assignment, index]
    b.choices[0].delta.content = a.choices[0]  # type: ignore[assignment, index, union-attr]
    a.choices[0].delta.refusal = b  # type: ignore[assignment, index, union-attr]  # two chunks
    b.system_fingerprint = _Finalized("two chunks")  # type: ignore[assignment]
    completion = backend.merge(data)
    message = completion.choices[0].message  # type: ignore[index]
    message.content = []  # type: ignore[assignment, union-attr]  # tracked first
    message.refusal = completion  # type: ignore[assignment, union-attr]  # then into the root
    completion.model = _Finalized("completion")  # type: ignore[assignment]
    merged = backend.merge(stream_of(ODD_TOKENS))
    tokens = merged.choices[0].logprobs.content  # type: ignore[index, union-attr]
    tokens[0].top_logprobs[0].token = merged  # type: ignore[assignment, index]
    merged.id = _Finalized("token")  # type: ignore[assignment]


@pytest.mark.parametrize("name", [PLAIN, *LOGPROB_STREAMS[:2]])
def test_cycles_made_by_assignment_are_collected(backend: ssedelta.Backend, name: str) -> None:
    gc.collect()
    _Finalized.seen = []
    before = sys.getallocatedblocks()
    for _ in range(50):
        make_cycles(backend, name)
    gc.collect()
    gc.collect()
    assert sorted(_Finalized.seen) == sorted(["ancestor", "completion", "token", "two chunks"] * 50)
    assert sys.getallocatedblocks() - before < 2000  # the objects of one round are more than that


# ---------------------------------------------------------------- generated tokens

NUMBERS = st.one_of(
    st.from_regex(r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,25})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


@st.composite
def token_json(draw: st.DrawFn, with_top: bool = True) -> str:
    text = draw(st.text(max_size=4))
    members = {
        "token": json.dumps(text, ensure_ascii=draw(st.booleans())),
        "logprob": draw(NUMBERS),
        "bytes": json.dumps(
            draw(
                st.one_of(
                    st.just(list(text.encode("utf-8", "surrogatepass"))),
                    st.none(),
                    st.lists(st.integers(0, 300), max_size=3),
                )
            )
        ),
    }
    if with_top:
        tops = draw(st.one_of(st.none(), st.lists(token_json(with_top=False), max_size=3)))
        members["top_logprobs"] = "null" if tops is None else "[" + ",".join(tops) + "]"
    keys = draw(st.permutations(list(members)))
    keys = keys[: draw(st.integers(len(keys) - 1, len(keys)))]
    space = draw(st.sampled_from(["", " "]))
    return "{" + ("," + space).join(f'"{k}":{space}{members[k]}' for k in keys) + "}"


@settings(max_examples=300, deadline=None)
@given(tokens=st.lists(st.lists(token_json(), max_size=3), min_size=1, max_size=4))
def test_generated_tokens_merge_as_the_twin(backend: ssedelta.Backend, tokens: list[list[str]]) -> None:
    events = b"".join(
        b'data: {"id":"x","choices":[{"index":0,"delta":{},"logprobs":{"content":['
        + ",".join(chunk).encode("utf-8", "surrogatepass")
        + b"]}}]}\n\n"
        for chunk in tokens
    )
    results = []
    for merger in (backend, ssedelta.get_backend("python")):
        try:
            results.append(merger.merge(events + b"data: [DONE]\n\n"))
        except ssedelta.SSEDeltaError as exc:
            results.append(type(exc))
    got, want = results
    if isinstance(want, type):
        assert got is want
        return
    assert got.to_dict() == want.to_dict()  # type: ignore[union-attr]
    arrays = [r.choices[0].logprobs.to_numpy() for r in (got, backend.merge(events), want)]
    for a in arrays[1:]:
        assert a.tokens == arrays[0].tokens and a.top_tokens == arrays[0].top_tokens
        np.testing.assert_array_equal(a.logprobs, arrays[0].logprobs)
        np.testing.assert_array_equal(a.top_logprobs, arrays[0].top_logprobs)
    assert repr(got) == repr(want)
