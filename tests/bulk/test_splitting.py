"""Where one stream ends and the next starts, whatever the read sizes and however files are cut."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from archive import bodies, concatenated, expected, outcome, write

import ssedelta
from real_streams import body, line_ends
from ssedelta.bulk import iter_merged, sse, tasks
from ssedelta.bulk.sse import SSEReader

CEREBRAS = "vercel-ai__cerebras_glm_reasoning_tool_call"  # two completions (two ids) in one body
GROQ_COMPOUND = "pydantic-ai__groq_compound_executed_tools"  # a new id on every chunk
OPENAI = "openai-python__gpt4o_plain_content_usage"
TOOLS = "openai-python__gpt4o_parallel_tool_calls"
AZURE = "quarkus-langchain4j__azure_gpt4o_prompt_filter_results"  # a leading chunk with id ""


def read(backend: ssedelta.Backend, data: bytes) -> list[sse.StreamResult]:
    return list(SSEReader(io.BytesIO(data), backend))


def outcomes(results: list[sse.StreamResult]) -> list[dict]:
    out = []
    for r in results:
        completion = r.completion.to_dict() if r.completion is not None else None
        if r.error is None:
            out.append({"completion": completion})
        else:
            out.append({"error": type(r.error).__name__, "offset": r.error.offset,  # type: ignore[attr-defined]
                        "event_index": r.error.event_index, "partial": completion})  # type: ignore[attr-defined]  # fmt: skip
    return out


@pytest.mark.parametrize(
    "sizes", [(97, 13, 200), (4096, 1000, 4096), (1 << 16, 1 << 12, 1 << 17)], ids=["tiny", "small", "mid"]
)
def test_read_sizes_do_not_matter(
    backend: ssedelta.Backend, monkeypatch: pytest.MonkeyPatch, sizes: tuple[int, int, int]
) -> None:
    data, offsets = concatenated(bodies())
    reference = read(backend, data)
    monkeypatch.setattr(sse, "READ_SIZE", sizes[0])
    monkeypatch.setattr(sse, "FEED_SIZE", sizes[1])
    monkeypatch.setattr(sse, "PEEK_SIZE", sizes[2])
    results = read(backend, data)
    assert [(r.start, r.size, r.chunks) for r in results] == [(r.start, r.size, r.chunks) for r in reference]
    assert outcomes(results) == outcomes(reference)
    assert [r.start for r in results] == offsets


@pytest.mark.parametrize("ending", [b"\r\n", b"\r"], ids=["crlf", "cr"])
def test_line_endings(backend: ssedelta.Backend, ending: bytes) -> None:
    parts = [line_ends(body(name), ending) for name in (OPENAI, TOOLS, AZURE, CEREBRAS)]
    data, offsets = concatenated(parts)
    results = read(backend, data)
    assert [r.start for r in results] == offsets
    assert outcomes(results) == [expected(backend, p) for p in parts]


def test_several_completions_in_one_body_stay_one_stream(backend: ssedelta.Backend) -> None:
    parts = [body(OPENAI), body(CEREBRAS), body(GROQ_COMPOUND), body(OPENAI)]
    results = read(backend, concatenated(parts)[0])
    assert outcomes(results) == [expected(backend, p) for p in parts]


def without_done(data: bytes) -> bytes:
    return data.replace(b"data: [DONE]\n\n", b"").replace(b"data: [DONE]", b"")


def test_a_change_of_id_splits_bodies_without_done(backend: ssedelta.Backend) -> None:
    names = [OPENAI, TOOLS, GROQ_COMPOUND, OPENAI, CEREBRAS]
    parts = [without_done(body(name)) for name in names]
    data, offsets = concatenated(parts)
    results = read(backend, data)
    # Cerebras' second completion opens a message with a new id: without [DONE] it is a stream.
    assert [r.start for r in results][: len(names)] == offsets
    assert len(results) == len(names) + 1
    assert outcomes(results[:-2]) == [expected(backend, p) for p in parts[:-1]]
    assert all(r.error is None for r in results)


def test_a_cut_off_stream_then_the_next(backend: ssedelta.Backend) -> None:
    first = body(TOOLS)
    cut_between_events = first[: first.index(b"\n\n", len(first) // 2) + 2]
    parts = [cut_between_events, body(OPENAI), body(AZURE)]
    results = read(backend, concatenated(parts)[0])
    assert len(results) == 3
    assert type(results[0].error).__name__ == "TruncatedStreamError"
    assert results[0].error.offset == len(cut_between_events)  # type: ignore[attr-defined]
    assert results[0].completion == backend.merge(cut_between_events)
    assert outcomes(results[1:]) == [expected(backend, p) for p in parts[1:]]


def test_a_capture_cut_mid_event_then_the_next(backend: ssedelta.Backend) -> None:
    first = body(TOOLS)
    cut = first.index(b'"arguments"', len(first) // 2)
    event_start = first.rindex(b"\n\n", 0, cut) + 2
    parts = [first[:cut], body(OPENAI)]
    data, offsets = concatenated(parts)
    results = read(backend, data)
    assert [r.start for r in results] == offsets
    assert type(results[0].error).__name__ == "TruncatedStreamError"
    assert results[0].error.offset == event_start  # type: ignore[attr-defined]
    assert results[0].completion == backend.merge(first[:event_start])
    assert outcomes(results[1:]) == [expected(backend, body(OPENAI))]


def test_done_without_line_end_glued_to_the_next_body(backend: ssedelta.Backend) -> None:
    parts = [body(OPENAI).rstrip(), body(TOOLS).rstrip(), body(OPENAI)]
    data, offsets = concatenated(parts)
    results = read(backend, data)
    assert [r.start for r in results] == offsets
    assert outcomes(results) == [expected(backend, p) for p in parts]


def test_a_large_file_cut_into_ranges_reads_the_same(
    backend: ssedelta.Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = bodies() * 3
    path = write(tmp_path / "big.sse", concatenated(parts)[0])
    whole = list(iter_merged([str(path)], jobs=1, backend=backend))
    monkeypatch.setattr(tasks, "RANGE_SIZE", 200_000)
    planned = list(tasks.plan([str(path)], tasks.Options(backend=backend.name)))
    assert len(planned) > 5 and [t.part for t in planned] == list(range(len(planned)))
    assert sum(t.size for t in planned) == path.stat().st_size
    for jobs in (1, 2):
        assert list(iter_merged([str(path)], jobs=jobs, backend=backend)) == whole
    assert [outcome(r) for r in whole] == [expected(backend, p) for p in parts]
