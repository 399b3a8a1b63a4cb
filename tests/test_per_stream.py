"""What making a merger and finishing a short stream takes: the fast paths of setting up and
finishing behave as the general ones, on both backends."""

from __future__ import annotations

from typing import Any

import pytest

import ssedelta
from ssedelta.errors import StreamFormatError

HEAD = b'"id":"c1","object":"chat.completion.chunk","created":7,"model":"m"'
FIRST = b"data: {" + HEAD + b',"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}\n\n'
LAST = b"data: {" + HEAD + b',"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
DONE = b"data: [DONE]\n\n"


def merged(completion: Any) -> dict[str, Any]:
    return completion.to_dict()  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", [list, tuple, iter])
def test_a_list_or_tuple_source_merges_as_any_iterable(backend, kind):
    pieces = [FIRST[:9], FIRST[9:].decode(), bytearray(LAST), memoryview(DONE)]
    result = merged(backend.merge(kind(pieces)))
    assert result["choices"][0]["message"]["content"] == "Hi"
    assert result["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("kind", [list, tuple, iter])
def test_nothing_after_done_is_read_from_a_list(backend, kind):
    # A piece after [DONE] that feed() would refuse is never given to it.
    result = merged(backend.merge(kind([FIRST, DONE, None])))
    assert result["choices"][0]["message"]["content"] == "Hi"
    with pytest.raises(TypeError):
        backend.merge(kind([FIRST, None]))


def test_bytes_source_and_its_pieces_merge_alike(backend):
    whole = FIRST + LAST + DONE
    assert merged(backend.merge(whole)) == merged(backend.merge([whole[:40], whole[40:]]))


@pytest.mark.parametrize("value", [0, 1, 2**40, 2**63 - 1, 2**63, 2**70, None])
def test_limits_of_any_size_are_accepted(backend, value):
    decoder = backend.SSEDecoder(value, value)
    assert decoder.max_event_size is value and decoder.max_line_size is value
    merger = backend.DeltaMerger(value, max_line_size=value)
    if value is None or value >= len(FIRST):
        merger.feed(FIRST + LAST)
        assert merger.finish().choices[0].message.content == "Hi"


@pytest.mark.parametrize("value", [True, False, 3.0, "3", -1, -(2**70)])
def test_bad_limits_raise_as_the_twin_does(backend, value):
    python = ssedelta.get_backend("python")
    for make in (lambda v, b: b.SSEDecoder(v), lambda v, b: b.SSEDecoder(None, v),
                 lambda v, b: b.DeltaMerger(v)):  # fmt: skip
        with pytest.raises((TypeError, ValueError)) as want:
            make(value, python)
        with pytest.raises(type(want.value)) as got:
            make(value, backend)
        assert str(got.value) == str(want.value)


def test_a_small_event_limit_still_applies(backend):
    merger = backend.DeltaMerger(10)
    with pytest.raises(StreamFormatError) as exc:
        merger.feed(FIRST)
    assert exc.value.limit == "max_event_size"


def test_finish_calls_the_snapshot_of_a_subclass(backend):
    calls = []

    class Merger(backend.DeltaMerger):  # type: ignore[misc,name-defined]
        def snapshot(self) -> Any:
            calls.append(1)
            return super().snapshot()

    merger = Merger()
    merger.feed(FIRST + LAST + DONE)
    assert merger.finish().choices[0].message.content == "Hi"
    assert calls == [1]


def test_one_choice_and_several_are_built_in_index_order(backend):
    one = FIRST.replace(b'"index":0', b'"index":3')
    other = FIRST.replace(b'"index":0', b'"index":1').replace(b'"Hi"', b'"Ho"')
    result = merged(backend.merge(one + LAST + DONE))
    assert [c["index"] for c in result["choices"]] == [0, 3]
    result = merged(backend.merge(one + other + DONE))
    assert [(c["index"], c["message"]["content"]) for c in result["choices"]] == [(1, "Ho"), (3, "Hi")]
    assert merged(backend.merge(one)) == merged(ssedelta.get_backend("python").merge(one))


def test_extras_of_the_result_are_copies(backend):
    stream = FIRST.replace(b'"model":"m"', b'"model":"m","x":1')
    stream = stream.replace(b'"content":"Hi"}', b'"content":"Hi"},"y":2')
    merger = backend.DeltaMerger()
    merger.feed(stream)
    first = merger.snapshot()
    first.extras["x"] = 5
    first.choices[0].extras["y"] = 6
    again = merger.snapshot()
    assert again.extras == {"x": 1} and again.choices[0].extras == {"y": 2}
