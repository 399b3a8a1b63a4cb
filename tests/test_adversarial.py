"""Adversarial input: both backends give the same result or the same typed error, every time.

Every file of ``tests/data/adversarial`` (written by its ``generate.py``), in several splits and
under several limit settings; a real stream truncated at every byte and corrupted at every byte;
the large cases made here (1 MB keys, a 64 MiB event, 100k-deep nesting); every input the fuzzers
found a difference or a crash on (``tests/fuzz/crashes``); and a named test for each of those bugs.
The comparison is the fuzzers' oracle (``tests/fuzz/oracle.py``).
"""

from __future__ import annotations

import glob
import json
import os
import sys
from typing import Any

import orjson
import pytest

import ssedelta
from ssedelta import InvalidJSONError, LimitExceededError
from ssedelta._env import NO_EXTENSIONS

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

HERE = os.path.dirname(os.path.abspath(__file__))
ADVERSARIAL = os.path.join(HERE, "data", "adversarial")
REAL = os.path.join(HERE, "data", "real")
CRASHES = os.path.join(HERE, "fuzz", "crashes")

if not NO_EXTENSIONS:
    sys.path.insert(0, os.path.join(HERE, "fuzz"))
    sys.path.insert(0, ADVERSARIAL)
    import formats_oracle
    import generate
    import oracle

    NATIVE, PYTHON = oracle.NATIVE, oracle.PYTHON

#: (split selector, limit profile) pairs: one piece, random cuts, byte at a time, fixed 29-byte
#: pieces, and random cuts under each limit profile (see oracle.py).
HEADERS = [
    (0, 0),
    (1, 0),
    (3, 0),
    (2 + 4 * 28, 0),
    (5, 1),
    (9, 2),
    (13, 3),
    (17, 4),
    (21, 5),
    (25, 6),
    (29, 7),
]


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def test_the_committed_files_are_what_the_generator_writes():
    names = {os.path.basename(p) for p in glob.glob(os.path.join(ADVERSARIAL, "*.sse"))}
    assert names == set(generate.FILES)
    for name, data in generate.FILES.items():
        assert read(os.path.join(ADVERSARIAL, name)) == data, name


@pytest.mark.parametrize("name", sorted(generate.FILES) if not NO_EXTENSIONS else [])
def test_adversarial_file(name):
    data = read(os.path.join(ADVERSARIAL, name))
    for selector, profile in HEADERS:
        framed = bytes([selector, profile]) + data
        for target in ("tokenizer", "decoder", "merger"):
            oracle.check(target, framed)


def outcomes(stream: bytes, pieces: list[bytes] | None = None) -> tuple[Any, Any]:
    pieces = pieces or [stream]
    native = (oracle.merge(NATIVE, pieces, {}), oracle.decode(NATIVE, pieces, {}))
    python = (oracle.merge(PYTHON, pieces, {}), oracle.decode(PYTHON, pieces, {}))
    return native, python


SMALL_REAL = [
    "openai-python__gpt4o_logprobs_content.sse",
    "semantic-kernel__mistral_tool_call_without_index.sse",
]


@pytest.mark.parametrize("name", SMALL_REAL)
def test_truncation_at_every_byte(name):
    stream = read(os.path.join(REAL, name))
    for end in range(len(stream) + 1):
        cut = stream[:end]
        native, python = outcomes(cut, [cut[: end // 2], cut[end // 2 :]] if end > 1 else None)
        assert native == python, end
        native, python = outcomes(cut)
        assert native == python, end


def quick(backend: ssedelta.Backend, stream: bytes) -> tuple[Any, ...]:
    """A cheaper outcome than the oracle's, for the sweeps: the error and the state as JSON."""
    merger = backend.DeltaMerger()
    try:
        merger.feed(stream)
        merger.finish()
        error: Any = None
    except (ssedelta.StreamFormatError, ssedelta.UpstreamError) as exc:
        error = (type(exc), exc.offset, exc.event_index)
    return error, orjson.dumps(merger.snapshot().to_dict()), merger.chunks, merger.done


INTERESTING = b"\x00\x01\t\n\r \"',-.0:[\\]{}\x7f\x80\xbf\xc3\xed\xf4\xff"


def test_every_interesting_byte_at_every_position():
    stream = read(os.path.join(REAL, "semantic-kernel__mistral_tool_call_without_index.sse"))
    for pos in range(len(stream)):
        for byte in INTERESTING:
            if stream[pos] != byte:
                bad = stream[:pos] + bytes([byte]) + stream[pos + 1 :]
                assert quick(NATIVE, bad) == quick(PYTHON, bad), (pos, byte)


#: A small stream with each kind of member the native scanner reads itself.
SMALL = (
    b'data: {"id":"c","choices":[{"delta":{"content":"\\u00e9\xc3\xa9","tool_calls":[{"index":0,"id":"t"}],'
    b'"x":1},"logprobs":{"content":[]}}]}\n\n'
)


def test_every_single_byte_corruption():
    for pos in range(len(SMALL)):
        for byte in range(256):
            if SMALL[pos] != byte:
                bad = SMALL[:pos] + bytes([byte]) + SMALL[pos + 1 :]
                assert quick(NATIVE, bad) == quick(PYTHON, bad), (pos, byte)


def test_done_before_every_event():
    stream = read(os.path.join(REAL, "openai-python__gpt4o_logprobs_content.sse"))
    blocks = [b + b"\n\n" for b in stream.split(b"\n\n") if b.strip()]
    for k in range(len(blocks) + 1):
        with_done = b"".join(blocks[:k]) + b"data: [DONE]\n\n" + b"".join(blocks[k:])
        native, python = outcomes(with_done)
        assert native == python, k
        prefix = b"".join(blocks[:k])
        # Nothing after [DONE] counts: the same completion as the events before it alone.
        assert native[0][0][:3] == oracle.merge(NATIVE, [prefix], {})[0][:3], k


@pytest.mark.parametrize("name", SMALL_REAL)
def test_cr_only_and_crlf_streams_merge_as_lf_ones(name):
    stream = read(os.path.join(REAL, name))
    expected = oracle.merge(PYTHON, [stream], {})
    for eol in (b"\r", b"\r\n"):
        converted = stream.replace(b"\n", eol)
        for pieces in ([converted], oracle.split(converted, 1), oracle.split(converted, 3)):
            native, python = oracle.merge(NATIVE, pieces, {}), oracle.merge(PYTHON, pieces, {})
            assert native == python
            # The same completion; only error offsets could move, and these streams have none.
            assert native[0][1:] == expected[0][1:]


# ------------------------------------------------------------------ large cases, made here


def test_one_megabyte_keys():
    data = generate.big_key(1024 * 1024)
    for header in (b"\x00\x00", b"\x01\x00"):  # one piece; random cuts
        oracle.check("merger", header + data)
        oracle.check("decoder", header + data)
    result = ssedelta.get_backend("native").merge(data)
    assert result.extras == {"k" * 1024 * 1024: 1}
    assert result.choices[0].message.extras == {"k" * 1024 * 1024: "vw"}


def test_a_64_mib_event():
    size = 64 * 1024 * 1024
    data = generate.big_event(size)
    pieces = [data[i : i + 1024 * 1024] for i in range(0, len(data), 1024 * 1024)]
    for backend in (NATIVE, PYTHON):
        merger = backend.DeltaMerger()
        with pytest.raises(ssedelta.EventTooLargeError) as info:
            for piece in pieces:
                merger.feed(piece)
        assert (info.value.offset, info.value.event_index, info.value.limit) == (0, 0, "max_event_size")
        merger = backend.DeltaMerger(max_event_size=size + 1024)
        for piece in pieces:
            merger.feed(piece)
        content = merger.finish().choices[0].message.content
        assert len(content) == size
        assert content.count("x") == size
        del content, merger


def test_deep_nesting_made_here():
    for depth in (100_000, 1021, 1020, 513, 512, 511):
        data = generate.deep(depth)
        oracle.check("merger", b"\x00\x00" + data)
        oracle.check("decoder", b"\x00\x00" + data)


# ------------------------------------------------------------------ what the fuzzers found


@pytest.mark.parametrize("name", sorted(os.listdir(CRASHES)) if os.path.isdir(CRASHES) else [])
def test_fuzz_finding_replays_the_same_on_both_backends(name):
    target = name.split("-", 1)[0]
    data = read(os.path.join(CRASHES, name))
    if target in formats_oracle.TARGETS:
        formats_oracle.TARGETS[target](data)
    else:
        oracle.check(target, data)


HEAD = '"id":"c","object":"chat.completion.chunk","created":1,"model":"m"'


def ev(payload: str | bytes) -> bytes:
    return b"data: " + (payload.encode() if isinstance(payload, str) else payload) + b"\n\n"


def content_chunk(text: str) -> bytes:
    return ev("{" + HEAD + ',"choices":[{"index":0,"delta":{"content":' + json.dumps(text) + "}}]}")


def test_chunks_merged_before_invalid_json_in_the_same_piece_are_counted(backend):
    # The twin left chunks merged earlier in a piece out of ``chunks`` when a later payload of
    # that piece was invalid JSON (they were in the state all the same).
    merger = backend.DeltaMerger()
    merger.feed(content_chunk("a"))
    with pytest.raises(InvalidJSONError):
        merger.feed(content_chunk("b") + content_chunk("c") + b"data: {oops\n\n")
    assert merger.chunks == 3
    assert merger.snapshot().choices[0].message.content == "abc"


def test_repeated_header_followed_by_a_mangled_choices_key_is_invalid_json(backend):
    # The twin skipped the ten bytes after a repeated header without looking at them, so
    # '"choices"3[...]' was merged as if it were '"choices":[...]'.
    good = "{" + HEAD + ',"choices":[{"index":0,"delta":{"content":"a"}}]}'
    bad = "{" + HEAD + ',"choices"3[{"index":0,"delta":{"content":"b"}}]}'
    stream = ev(good) + ev(bad)
    with pytest.raises(InvalidJSONError) as info:
        backend.merge(stream)
    assert (info.value.offset, info.value.event_index) == (len(ev(good)) + 6, 1)


def test_nesting_past_the_parser_limit_after_a_repeated_header_is_invalid_json(backend):
    # The twin read only the "choices" value of a chunk whose header repeated, which is one level
    # less deep than the payload: 1025 levels passed when the chunk before had the same header.
    inner = "[" * 1021 + "]" * 1021
    first = "{" + HEAD + ',"choices":[{"index":0,"delta":{"content":"a"}}]}'
    deep = "{" + HEAD + ',"choices":[{"index":0,"delta":{"content":"b","x":' + inner + "}}]}"
    stream = ev(first) + ev(deep)
    with pytest.raises(InvalidJSONError) as info:
        backend.merge(stream)
    assert (info.value.offset, info.value.event_index) == (len(ev(first)) + 6, 1)


def test_empty_fragments_into_empty_buffers(backend):
    # The native merger copied zero bytes from a NULL buffer (undefined behaviour, reported by
    # UBSan) when the first fragment of a string was empty.
    stream = b"".join(
        [
            ev("{" + HEAD + ',"choices":[{"index":0,"delta":{"content":"","refusal":"","reasoning":""}}]}'),
            ev(
                "{" + HEAD + ',"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c",'
                '"function":{"name":"f","arguments":""}}]}}]}'
            ),
        ]
    )
    message = backend.merge(stream).choices[0].message
    assert (message.content, message.refusal, message.extras) == ("", "", {"reasoning": ""})
    assert message.tool_calls[0].function.arguments == ""


def test_line_and_event_limits_give_the_same_error_whatever_the_split(backend):
    # Which limit was reported depended on where the pieces were cut.
    stream = ev("{" + HEAD + ',"choices":[{"index":0,"delta":{"content":"' + "x" * 300 + '"}}]}')
    seen = set()
    for size in (1, 50, 130, 250, len(stream)):
        merger = backend.DeltaMerger(max_event_size=200, max_line_size=120)
        with pytest.raises(LimitExceededError) as info:
            for i in range(0, len(stream), size):
                merger.feed(stream[i : i + size])
        seen.add((info.value.limit, info.value.offset))
    assert seen == {("max_line_size", 0)}


def test_close_after_done_ignores_what_followed(backend):
    # ChunkDecoder.close() raised the event-size error of a block after [DONE], which is never read.
    stream = b"data: [DONE]\n\n" + b"data: " + b"x" * 500 + b"\n\n"
    decoder = backend.ChunkDecoder(max_event_size=100)
    assert decoder.feed(stream) == []
    assert decoder.done
    assert decoder.close() == []


FP_HEAD = '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","system_fingerprint":"fp_A",'
FP_FIRST = ev(FP_HEAD + '"choices":[{"index":0,"delta":{"content":"a"}}]}')


def test_a_chunk_without_choices_makes_the_next_header_count_again(backend):
    # The native merger kept skipping the members before "choices" of a chunk whose bytes
    # there repeated the last header, even after a chunk without "choices" had changed one of
    # them: the system_fingerprint stayed fp_B instead of going back to fp_A.
    stream = FP_FIRST + ev('{"id":"c","system_fingerprint":"fp_B"}') + FP_FIRST
    assert backend.merge(stream).system_fingerprint == "fp_A"


def test_a_chunk_added_between_feeds_makes_the_next_header_count_again(backend):
    # The same, through add(): the native merger's header cache did not know of added chunks.
    merger = backend.DeltaMerger()
    merger.feed(FP_FIRST)
    merger.add({"id": "c", "system_fingerprint": "fp_Z", "choices": []})
    merger.feed(FP_FIRST)
    assert merger.finish().system_fingerprint == "fp_A"


def test_a_duplicate_key_after_a_repeated_header_is_seen(backend):
    # After a header hit, the native scanner compared the unknown keys that followed it in the
    # remembered header's bytes, not the payload's: AddressSanitizer reported the read past the
    # header, and the duplicate "u" went unseen, so "u":1 stuck where the JSON says "u":null.
    first = ev('{"id":"a","choices":[{"index":0,"delta":{"content":"x"}}]}')
    second = ev('{"id":"a","u":1,"u":null,"v":2,"choices":[{"index":0,"delta":{"content":"y"}}]}')
    result = backend.merge(first + second)
    assert result.extras == {"u": None, "v": 2}
    assert result.choices[0].message.content == "xy"
