"""The native merger reads a payload where the tokenizer found it (in the piece fed, or in the
tokenizer's buffer when the payload spans pieces) and makes its bytes only to keep them: for a
template, a remembered header, or a value a choice keeps as a span. Whatever the pieces' type
and wherever they are cut, and whatever the tokenizer's buffer holds later, both backends merge
the same, at every point a snapshot reads."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssedelta
from real_streams import body
from ssedelta._env import NO_EXTENSIONS


def frame(choice: dict[str, Any], delta: dict[str, Any], header: str = "c1") -> bytes:
    chunk = {
        "id": header,
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, **choice, "finish_reason": None}],
    }
    return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"


#: A vLLM-like stream: the choice's ``text`` and the delta's ``token_id`` are kept as spans in
#: their payload; the chunks after the fourth send neither, so those spans are read at the end.
FRAMES = [frame({"text": f"t{k}é"}, {"content": f"c{k}", "token_id": 100 + k}) for k in range(4)] + [
    frame({}, {"content": f"d{k}"}) for k in range(4)
]


def as_kind(piece: bytes, kind: str) -> Any:
    if kind == "bytearray":
        return bytearray(piece)
    if kind == "memoryview":
        return memoryview(piece)
    return piece


def merged(backend: Any, pieces: list[bytes], kind: str, reads: set[int]) -> Any:
    merger = backend.DeltaMerger()
    seen = []
    for k, piece in enumerate(pieces):
        merger.feed(as_kind(piece, kind))
        if k in reads:
            seen.append(merger.snapshot().to_dict())
    return merger.finish().to_dict(), seen


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview"])
@pytest.mark.parametrize("cut", [0, 7, 40])
def test_kept_spans_outlive_the_buffer_they_were_read_in(
    backend: ssedelta.Backend, kind: str, cut: int
) -> None:
    """Each payload cut ``cut`` bytes before its end (so that it lies in the tokenizer's buffer,
    which the next payload overwrites), or not cut at all."""
    pieces = []
    for data in FRAMES:
        if cut:
            pieces += [data[:-cut], data[-cut:]]
        else:
            pieces.append(data)
    done, _ = merged(backend, pieces, kind, set())
    choice = done["choices"][0]
    assert choice["text"] == "t3é"
    assert choice["message"]["token_id"] == 103
    assert choice["message"]["content"] == "c0c1c2c3d0d1d2d3"


def test_a_piece_changed_after_its_feed_changes_nothing_merged(backend: ssedelta.Backend) -> None:
    merger = backend.DeltaMerger()
    for data in FRAMES:
        piece = bytearray(data)
        merger.feed(piece)
        piece[:] = b"x" * len(piece)
    choice = merger.finish().to_dict()["choices"][0]
    assert (choice["text"], choice["message"]["token_id"]) == ("t3é", 103)


def test_a_header_kept_from_one_piece_serves_payloads_of_later_pieces(backend: ssedelta.Backend) -> None:
    """The header (the members before ``"choices"``) is kept from the first payload's piece; a
    payload with another id then merges that id."""
    frames = [frame({}, {"content": f"c{k}"}) for k in range(5)] + [frame({}, {"content": "z"}, header="c2")]
    done, _ = merged(backend, [bytes(f) for f in frames], "bytes", set())
    assert (done["id"], done["choices"][0]["message"]["content"]) == ("c1", "c0c1c2c3c4z")


def test_a_header_no_longer_held_is_merged_again(backend: ssedelta.Backend) -> None:
    """Chunks with two fingerprints taking turns: a chunk served by the template of a whole
    payload, with the other fingerprint, ends the header held; the newest fingerprint is read."""

    def with_fingerprint(fingerprint: str, k: int) -> bytes:
        data = frame({}, {"content": f"c{k}"})
        return data.replace(
            b'"model": "m"', b'"model": "m", "system_fingerprint": "' + fingerprint.encode() + b'"'
        )

    frames = [with_fingerprint(fp, k) for k, fp in enumerate("xyxyxyxyyx")]
    done, seen = merged(backend, frames, "bytes", set(range(len(frames))))
    assert [s["system_fingerprint"] for s in seen] == list("xyxyxyxyyx")
    assert done["system_fingerprint"] == "x"


@pytest.mark.c_extension
@pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(
        [
            "pydantic-ai__crusoe_vllm_llama_usage",
            "pydantic-ai__mistral_magistral_thinking_content_list",
            "pydantic-ai__openrouter_claude_reasoning_details",
            "vercel-ai__azure_model_router_prompt_filter_results",
            "openai-python__gpt4o_parallel_tool_calls",
        ]
    ),
    kind=st.sampled_from(["bytes", "bytearray", "memoryview"]),
    seed=st.integers(0, 2**16),
)
def test_backends_agree_on_recorded_streams_in_any_pieces(name: str, kind: str, seed: int) -> None:
    data = body(name)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 40))))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    reads = {k for k in range(len(pieces)) if rng.random() < 0.3}
    native = merged(ssedelta.get_backend("native"), pieces, kind, reads)
    assert native == merged(ssedelta.get_backend("python"), pieces, kind, reads)
