"""The merger's state is one set of attributes, whichever path merged a chunk: the fast path of
``feed``, ``add`` and the general path of a payload the fast one does not take read and set the
same fields, and a subclass or a caller sees and may set them, on both backends."""

from __future__ import annotations

import json
from typing import Any

import pytest

import ssedelta


def data(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def chunk(delta: dict[str, Any], finish: Any = None, **top: Any) -> dict[str, Any]:
    head = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 7,
        "model": "m",
        "system_fingerprint": "fp",
    }
    return {**head, **top, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def steps(merger: Any) -> list[Any]:
    """Chunks by feed, by add, and one the fast path hands on (a named event, a float)."""
    merger.feed(data(chunk({"role": "assistant", "content": "a"}, service_tier="default")))
    merger.add(chunk({"content": "b"}, x=1))
    merger.feed(data(chunk({"content": "c"}, id="c2", usage={"prompt_tokens": 1})))
    merger.feed(b"event: message\n" + data(chunk({"content": "d"}, created=8.0)))
    seen = [merger._id, merger._model, merger._created, merger._service_tier, merger._fingerprint]
    merger.feed(data(chunk({}, "stop")) + b"data: [DONE]\n\n")
    return [*seen, merger.done, merger.chunks, merger.error]


def test_every_path_reads_and_sets_the_same_fields(backend):
    python = ssedelta.get_backend("python")
    ours, theirs = backend.DeltaMerger(), python.DeltaMerger()
    assert steps(ours) == steps(theirs)
    assert backend.to_dict(ours.finish()) == python.to_dict(theirs.finish())
    assert ours.done and ours.chunks == 5


def test_fields_set_from_outside_are_those_merged(backend):
    def merged(merger: Any) -> Any:
        merger.feed(data(chunk({"content": "a"})))
        merger._model = "other"
        merger._extras = {"note": 1}
        merger._fingerprint = None
        merger.feed(data(chunk({"content": "b"}, "stop")))
        return merger.finish().to_dict()

    result = merged(backend.DeltaMerger())
    assert (result["model"], result["note"]) == ("other", 1)  # the first non-empty model is kept
    assert result == merged(ssedelta.get_backend("python").DeltaMerger())


def test_a_subclass_sees_and_replaces_the_state(backend):
    seen = []

    class Merger(backend.DeltaMerger):  # type: ignore[misc,name-defined]
        def snapshot(self) -> Any:
            seen.append((self._id, self.done, self.chunks))
            self._id = "replaced"
            return super().snapshot()

    merger = Merger()
    merger.feed(data(chunk({"content": "a"})) + data(chunk({}, "stop")) + b"data: [DONE]\n\n")
    assert merger.finish().id == "replaced"
    assert seen == [("c1", True, 2)]


def test_a_merger_made_again_is_what_the_twin_makes(backend):
    def again(merger: Any) -> list[Any]:
        merger.feed(data(chunk({"content": "a"})) + data(chunk({}, "stop")))
        merger.__init__()
        seen = [merger._id, merger.done, merger.chunks, len(merger._choices), len(merger._extras)]
        merger.feed(data(chunk({"content": "b"}, "stop", id="c9")))
        return [*seen, merger.finish().to_dict()]

    assert again(backend.DeltaMerger()) == again(ssedelta.get_backend("python").DeltaMerger())


@pytest.mark.parametrize("repeats", [1, 2, 3, 4, 6])
def test_chunks_of_one_shape_merge_alike_however_many(backend, repeats):
    # The native scanner keeps a chunk's scan to replay only from the second chunk of a shape on.
    python = ssedelta.get_backend("python")
    body = b"".join(data(chunk({"content": f"t{i}"})) for i in range(repeats)) + data(chunk({}, "stop"))
    assert backend.to_dict(backend.merge(body)) == python.to_dict(python.merge(body))
