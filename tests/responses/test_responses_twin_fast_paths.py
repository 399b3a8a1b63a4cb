"""The pure-Python merger's short paths, each against the rule table's general path.

A delta at the place of the one before only appends its string; the ``.done`` event of that place
that carries the string the deltas built changes nothing and is not merged. Every variant here
(another string, a wrong type, another or a sparse index, an ``error`` key, escaped or reordered
keys, a delta after the ``.done``, the ``.done`` before any delta) must give, fed whole or in
random pieces, with snapshots taken in between or not, what ``add`` gives for the same events one
by one (``add`` takes no short path), what the compiled merger gives (errors with their offsets),
and the value the events say.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
from responses_streams import STREAMS, blocks, body, events, payload_of, random_pieces

import ssedelta
from ssedelta import responses
from ssedelta._env import NO_EXTENSIONS
from ssedelta.responses import _merge_py

FRAGMENTS = ["caf\u00e9 ", '{"a": ', '\\"x\\" ', "\U0001f6eb\n", "", "end"]


#: kind prefix -> (item, the indexes of the place, the key the ``.done`` event carries the string at)
PLACES: dict[str, tuple[dict[str, Any], dict[str, int], str]] = {
    "response.function_call_arguments": (
        {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": ""},
        {},
        "arguments",
    ),
    "response.custom_tool_call_input": (
        {"id": "ct_1", "type": "custom_tool_call", "call_id": "c", "name": "f", "input": ""},
        {},
        "input",
    ),
    "response.reasoning_summary_text": (
        {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "pre "}]},
        {"summary_index": 0},
        "text",
    ),
    "response.refusal": (
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "refusal", "refusal": ""}],
        },
        {"content_index": 0},
        "refusal",
    ),
    "response.shell_call_command": (
        {"id": "sh_1", "type": "shell_call", "call_id": "c", "action": {"commands": ["ls "]}},
        {"command_index": 0},
        "command",
    ),
}

VARIANTS = [
    "same",
    "other string",
    "not a string",
    "missing",
    "error key",
    "index true",
    "index float",
    "other sub index",
    "sparse index",
    "escaped key",
    "reordered",
    "spaced",
    "delta after",
    "done twice",
    "done first",
    "extra key",
    "error in a delta",
]


def _block(payload: dict[str, Any] | bytes) -> bytes:
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    kind = orjson.loads(raw).get("type", "x") if raw[:1] == b"{" else "x"
    return b"event: " + str(kind).encode() + b"\ndata: " + raw + b"\n\n"


def place_stream(prefix: str, variant: str, fragments: list[str]) -> tuple[bytes, str | None]:
    """A stream whose place streams ``fragments``, then its ``.done`` event shaped by
    ``variant``; and the string the place must end with (``None`` when the stream is bad)."""
    item, indexes, key = PLACES[prefix]
    at = 300 if variant == "sparse index" else 0
    where = {"output_index": at, **indexes}
    start = (item.get(key) or "") if not indexes else ""
    if prefix == "response.reasoning_summary_text":
        start = item["summary"][0]["text"]
    elif prefix == "response.shell_call_command":
        start = item["action"]["commands"][0]
    out = [
        _block({"type": "response.created", "sequence_number": 0, "response": {"id": "r", "output": []}}),
        _block({"type": "response.output_item.added", "output_index": at, "item": item}),
    ]
    deltas = [] if variant == "done first" else fragments
    for k, fragment in enumerate(deltas):
        delta = {"type": prefix + ".delta", "sequence_number": k, **where, "delta": fragment}
        if variant == "error in a delta" and k == 2:
            delta["error"] = {"message": "late"}
        out.append(_block(delta))
    whole = start + "".join(deltas)
    done: dict[str, Any] = {"type": prefix + ".done", "sequence_number": 99, **where, key: whole}
    expected: str | None = whole
    if variant == "other string":
        done[key] = expected = whole + "!"
    elif variant == "not a string":
        done[key] = 5
        expected = None
    elif variant == "missing":
        del done[key]  # a .done without its string changes nothing
    elif variant == "error key":
        done["error"] = {"message": "boom"}
    elif variant == "index true":
        done["output_index"] = True
        expected = None
    elif variant == "index float":
        done["output_index"] = 0.0
        expected = None
    elif variant == "other sub index":
        if indexes:
            done[next(iter(indexes))] = 1
            expected = whole  # the place keeps its string; another element gets the .done's
        else:
            done["output_index"] = 1
    elif variant == "reordered":
        done = dict(reversed(list(done.items())))
    elif variant == "extra key":
        done["note"] = {"x": [1, 2]}
    raw = orjson.dumps(done)
    if variant == "escaped key":
        raw = raw.replace(
            b'"' + key.encode() + b'":', b'"\\u00' + b"%x" % ord(key[0]) + key[1:].encode() + b'":'
        )
        raw = raw.replace(b'"type":', b'"\\u0074ype":')
    elif variant == "spaced":
        raw = orjson.dumps(done, option=orjson.OPT_INDENT_2).replace(b"\n", b" ")
    out.append(_block(raw))
    if variant == "done twice":
        out.append(_block(raw))
    if variant == "delta after":
        out.append(_block({"type": prefix + ".delta", "sequence_number": 100, **where, "delta": "+"}))
        expected = None if expected is None else expected + "+"
    out.append(_block({"type": "response.completed", "sequence_number": 101, "response": {"id": "r"}}))
    return b"".join(out), expected


def _value(response: dict[str, Any], prefix: str) -> Any:
    item = next(i for i in response["output"] if i.get("id") == PLACES[prefix][0]["id"])
    if prefix == "response.reasoning_summary_text":
        return item["summary"][0]["text"]
    if prefix == "response.refusal":
        return item["content"][0]["refusal"]
    if prefix == "response.shell_call_command":
        return item["action"]["commands"][0]
    return item[PLACES[prefix][2]]


def fed(backend: str, pieces: list[bytes], snapshots: bool, every: int = 1) -> Any:
    """The outcome of feeding ``pieces``, with the snapshots taken after every ``every``-th."""
    merger = responses.merger_class(ssedelta.get_backend(backend))()
    seen = []
    try:
        for k, piece in enumerate(pieces):
            merger.feed(piece)
            if snapshots and k % every == 0:
                seen.append(merger.snapshot().to_dict())
        return ("ok", merger.finish().to_dict(), seen)
    except ssedelta.UpstreamError as exc:
        return ("upstream", exc.error, exc.offset, exc.event_index, exc.partial.to_dict(), seen)
    except ssedelta.StreamFormatError as exc:
        return (type(exc).__name__, str(exc), exc.offset, exc.event_index, merger.snapshot().to_dict(), seen)


def added(data: bytes) -> Any:
    """The events of ``data`` added one by one to the pure-Python merger (the general path)."""
    merger = _merge_py.ResponsesMerger()
    for block in blocks(data):
        payload = payload_of(block)
        assert payload is not None
        merger.add(orjson.loads(payload))
    try:
        return ("ok", merger.finish().to_dict())
    except ssedelta.UpstreamError as exc:
        return ("upstream", exc.error, exc.partial.to_dict())


def _splits(data: bytes, seed: object) -> list[list[bytes]]:
    return [[data], random_pieces(data, seed, 40), random_pieces(data, (seed, 1), 400)]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("prefix", list(PLACES))
def test_a_place_and_its_done_event_as_the_general_path(prefix: str, variant: str) -> None:
    data, expected = place_stream(prefix, variant, FRAGMENTS)
    results = []
    for n, pieces in enumerate(_splits(data, (prefix, variant))):
        for snapshots in (False, True):
            result = fed("python", pieces, snapshots)
            results.append(result)
            if not NO_EXTENSIONS:
                assert fed("native", pieces, snapshots) == result, (n, snapshots)
    assert all(r[:-1] == results[0][:-1] for r in results)
    if expected is None:
        assert results[0][0] == "InvalidChunkError"
        return
    assert results[0][0] == ("upstream" if variant in ("error key", "error in a delta") else "ok")
    assert added(data)[:2] == results[0][:2]
    response = results[0][-2]
    assert _value(response, prefix) == expected


def _counting(merger: _merge_py.ResponsesMerger) -> list[str]:
    """The types of the events the merger's state merges from now on, by the general path."""
    kinds: list[str] = []
    general = merger.merge_object

    def counted(obj: dict[str, Any], *rest: Any) -> int:
        kinds.append(obj["type"])
        return general(obj, *rest)

    merger.merge_object = counted  # type: ignore[method-assign]
    return kinds


def test_the_done_event_that_repeats_the_string_is_not_merged() -> None:
    """The short path is taken (the state's general path never sees the ``.done`` event), and
    one that differs is merged."""
    for variant, merged in (("same", False), ("other string", True), ("sparse index", True)):
        data, _ = place_stream("response.function_call_arguments", variant, FRAGMENTS)
        merger = _merge_py.ResponsesMerger()
        kinds = _counting(merger)
        merger.feed(data)
        assert ("response.function_call_arguments.done" in kinds) is merged, variant
        assert ("response.function_call_arguments.delta" in kinds) is (variant == "sparse index")


def _generated(rng: random.Random) -> bytes:
    """Places of random kinds at output indexes 0, 1, ..., each with a random variant of its
    ``.done`` event, some events repeated or moved."""
    out = [_block({"type": "response.created", "response": {"id": "r", "output": []}})]
    for k in range(rng.randint(1, 4)):
        prefix = rng.choice(list(PLACES))
        variant = rng.choice([v for v in VARIANTS if v not in ("sparse index", "index float", "index true")])
        data, _ = place_stream(prefix, variant, rng.sample(FRAGMENTS, rng.randint(0, len(FRAGMENTS))))
        part = blocks(data)[1:-1]
        part = [b.replace(b'"output_index":0', b'"output_index":%d' % k) for b in part]
        if rng.random() < 0.3:
            part.insert(rng.randrange(len(part) + 1), part[rng.randrange(len(part))])
        out += part
    out.append(_block({"type": "response.completed", "response": {"id": "r", "status": "completed"}}))
    return b"".join(out)


@pytest.mark.parametrize("seed", range(30))
def test_generated_places_agree(seed: int) -> None:
    rng = random.Random(seed)
    data = _generated(rng)
    pieces = random_pieces(data, seed, rng.choice([30, 300, 3000]))
    result = fed("python", pieces, rng.random() < 0.5)
    if not NO_EXTENSIONS:
        assert fed("native", pieces, False)[:-1] == result[:-1]
    if result[0] in ("ok", "upstream"):
        assert added(data)[:2] == result[:2]


@pytest.mark.parametrize("name", STREAMS)
def test_recorded_streams_fed_as_added(name: str) -> None:
    """Every recorded stream, in random pieces with snapshots in between, gives what its events
    added one by one give."""
    data = body(name)
    merger = _merge_py.ResponsesMerger()
    want: Any = None
    try:
        for event in events(name):
            merger.add(event)
            if event.get("type") in ("response.completed", "response.incomplete", "response.failed"):
                break
        want = merger.finish().to_dict()
    except ssedelta.UpstreamError as exc:
        want = exc.partial.to_dict()
    except ssedelta.StreamFormatError:
        pass  # an event ``add`` refuses: the pieces are compared with one another only
    splits = [[data], random_pieces(data, name, 400)]
    results = [fed("python", pieces, True, 7) for pieces in splits]
    assert all(r[:-1] == results[0][:-1] for r in results)
    if want is not None:
        assert results[0][0] in ("ok", "upstream")
        assert results[0][-2] == want
