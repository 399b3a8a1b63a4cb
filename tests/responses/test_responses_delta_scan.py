"""The native core's scan of delta events against the twin: any spelling, any damage, any split.

Streams of delta events are written in the key orders servers use (OpenAI, xAI, sorted), with
spacing, escapes and surrogates in the strings, and with adversarial variants a byte scan must not
take for the frequent shape (extra, duplicate and escaped keys, wrong types, huge and negative
indexes, invalid UTF-8, lone surrogates, trailing bytes). Both backends must give the same result,
errors and byte offsets; the clean variants must give the text the generator wrote.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

import ssedelta
from ssedelta import responses
from ssedelta._env import NO_EXTENSIONS
from ssedelta.responses import _state

needs_native = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

TEXT = "response.output_text.delta"
ARGS = "response.function_call_arguments.delta"
SUMMARY = "response.reasoning_summary_text.delta"
#: Strings as JSON text (escapes kept) and the text they stand for.
STRINGS = [
    ('"Hi"', "Hi"),
    ('" there"', " there"),
    ('""', ""),
    ('"caf\\u00e9"', "café"),
    ('"\\ud83d\\ude00!"', "😀!"),
    ('"a\\"b\\\\c\\/d\\n\\t\\r\\b\\f"', 'a"b\\c/d\n\t\r\b\f'),
    ('"東京 🙂"', "東京 🙂"),
    ('"}{,:\\""', '}{,:"'),
]
#: Payload spellings a scan must leave to the general path (each still valid or invalid JSON).
BAD_VALUES = [
    '"\\ud83d"',  # a lone surrogate
    '"\\ude00x"',
    '"\\x41"',  # an invalid escape
    '"\\u12"',
    '"a\x01b"',  # a raw control character
    "5",
    "null",
    "[]",
    '{"a":1}',
    '"unterminated',
]


def opening() -> list[bytes]:
    item = {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    call = {
        "id": "fc_1",
        "type": "function_call",
        "call_id": "c",
        "name": "f",
        "arguments": "",
        "status": "x",
    }
    reasoning = {"id": "rs_1", "type": "reasoning", "summary": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {"id": "r", "object": "response", "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {
            "type": "response.content_part.added",
            "output_index": 0,
            "content_index": 0,
            "item_id": "msg_1",
            "part": part,
        },
        {"type": "response.output_item.added", "output_index": 1, "item": call},
        {"type": "response.output_item.added", "output_index": 2, "item": reasoning},
        {
            "type": "response.reasoning_summary_part.added",
            "output_index": 2,
            "summary_index": 0,
            "item_id": "rs_1",
            "part": {"type": "summary_text", "text": ""},
        },
    ]
    return [orjson.dumps(e) for e in events]


def members(kind: str, value: str, seq: int) -> list[tuple[str, str]]:
    """The (key, JSON value) members of a delta event of ``kind`` carrying the JSON string ``value``."""
    out = [("type", f'"{kind}"'), ("sequence_number", str(seq))]
    if kind == TEXT:
        out += [("item_id", '"msg_1"'), ("output_index", "0"), ("content_index", "0"), ("delta", value)]
        out += [("logprobs", "[]"), ("obfuscation", '"AbC12"')]
    elif kind == ARGS:
        out += [("item_id", '"fc_1"'), ("output_index", "1"), ("delta", value), ("obfuscation", '"x"')]
    else:
        out += [("item_id", '"rs_1"'), ("output_index", "2"), ("summary_index", "0"), ("delta", value)]
    return out


def spell(rng: random.Random, items: list[tuple[str, str]]) -> bytes:
    order = rng.choice(["openai", "xai", "sorted", "shuffled"])
    if order == "xai":
        items = sorted(items, key=lambda kv: kv[0] != "sequence_number")
    elif order == "sorted":
        items = sorted(items)
    elif order == "shuffled":
        items = rng.sample(items, len(items))
    ws = rng.choice(["", "", " ", "\t", "  "])
    inner = f",{ws}".join(f'"{k}"{ws}:{ws}{v}' for k, v in items)
    return f"{{{ws}{inner}{ws}}}".encode()


def adversarial(rng: random.Random, items: list[tuple[str, str]]) -> bytes:
    """A delta event damaged in one way a byte scan could get wrong."""
    items = list(items)
    pick = rng.randrange(12)
    keys = [k for k, _ in items]
    if pick == 0:
        items.append(
            (rng.choice(["foo", "error", "delta2", "Type"]), rng.choice(["1", "null", '{"message":"x"}']))
        )
    elif pick == 1:
        k = rng.choice(keys)
        items.insert(rng.randrange(len(items) + 1), (k, dict(items)[k] if rng.random() < 0.5 else '"x"'))
    elif pick == 2:
        k = rng.choice(keys)
        items = [(k2.replace("e", "\\u0065", 1) if k2 == k else k2, v) for k2, v in items]
    elif pick == 3:
        i = keys.index("delta")
        items[i] = ("delta", rng.choice(BAD_VALUES))
    elif pick == 4:
        k = rng.choice([k for k in keys if k.endswith("index")])
        value = rng.choice(
            ["-1", "99999999999999999999", "1000000000000000000", "0.0", "1e0", '"0"', "true", "-0", "00"]
        )
        items = [(k2, value if k2 == k else v) for k2, v in items]
    elif pick == 5:
        k = rng.choice(keys)
        items = [kv for kv in items if kv[0] != k]
    elif pick == 6:
        items = [(k, '"' + v[1:-1].replace("u", "U") + '"' if k == "type" else v) for k, v in items]
    elif pick == 7:
        k = rng.choice(["logprobs", "obfuscation", "item_id", "sequence_number"])
        value = rng.choice(
            ["null", "[ ]", '[{"token":"a","logprob":0,"bytes":[97],"top_logprobs":[]}]', "{}", "7", '"s"']
        )
        items = [kv for kv in items if kv[0] != k] + [(k, value)]
    data = spell(rng, items)
    if pick == 8:
        data += rng.choice([b" x", b"}", b",", b"\x00"])
    elif pick == 9:
        data = data[: rng.randrange(1, len(data))]
    elif pick == 10:
        i = data.find(b'"delta"')
        j = data.find(b'"', data.find(b":", i) + 1) + 1
        data = data[:j] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]) + data[j:]
    elif pick == 11:
        data = b" " + data
    return data


def stream(rng: random.Random, adversarial_share: float) -> tuple[bytes, dict[str, str]]:
    """A stream of delta events, and the text each place must hold (when none was damaged)."""
    out = opening()
    texts = {TEXT: "", ARGS: "", SUMMARY: ""}
    kind = TEXT
    for seq in range(rng.randint(1, 60)):
        if rng.random() < 0.2:
            kind = rng.choice([TEXT, ARGS, SUMMARY])
        value, text = rng.choice(STRINGS)
        items = members(kind, value, seq + 10)
        if rng.random() < adversarial_share:
            out.append(adversarial(rng, items))
        else:
            out.append(spell(rng, items))
            texts[kind] += text
    framed = b"".join((b"event: x\n" if rng.random() < 0.3 else b"") + b"data: " + p + b"\n\n" for p in out)
    return framed, texts


def pieces(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 40))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def outcome(backend: str, parts: list[bytes]) -> Any:
    merger = responses.merger_class(ssedelta.get_backend(backend))()
    snapshots = []
    try:
        for part in parts:
            merger.feed(part)
            snapshots.append(merger.snapshot().to_dict())
        return ("ok", merger.finish().to_dict(), snapshots)
    except ssedelta.UpstreamError as exc:
        return ("upstream", exc.error, exc.offset, exc.event_index, exc.partial.to_dict(), snapshots)
    except ssedelta.StreamFormatError as exc:
        return (
            type(exc).__name__,
            str(exc),
            exc.offset,
            exc.event_index,
            merger.snapshot().to_dict(),
            snapshots,
        )


def texts_of(result: dict[str, Any]) -> dict[str, str]:
    out = result["output"]
    return {
        TEXT: out[0]["content"][0]["text"],
        ARGS: out[1]["arguments"],
        SUMMARY: out[2]["summary"][0]["text"],
    }


@pytest.mark.parametrize("seed", range(150))
def test_clean_spellings_merge_the_written_text(backend: ssedelta.Backend, seed: int) -> None:
    rng = random.Random(seed)
    data, texts = stream(rng, 0.0)
    merged = responses.merge(pieces(data, rng), backend=backend)
    assert texts_of(merged.to_dict()) == texts


@pytest.mark.parametrize("seed", range(400))
@pytest.mark.parametrize("mark", [pytest.param(0, marks=needs_native)])
def test_adversarial_spellings_agree_with_the_twin(seed: int, mark: int) -> None:
    rng = random.Random(f"adv{seed}")
    data, _ = stream(rng, (0.02, 0.06, 0.3)[seed % 3])
    parts = pieces(data, rng)
    assert outcome("native", parts) == outcome("python", parts)


@pytest.mark.parametrize("mark", [pytest.param(0, marks=needs_native)])
def test_frequent_deltas_skip_the_general_path(monkeypatch: pytest.MonkeyPatch, mark: int) -> None:
    """The native merger takes a repeated delta event from its bytes: only the events that open a
    place (and the first delta there) go through the shared state's general path."""
    calls = []
    general = _state.ResponsesState.merge_object

    def counting(self: Any, obj: Any, *args: Any) -> int:
        calls.append(obj)
        return general(self, obj, *args)

    monkeypatch.setattr(_state.ResponsesState, "merge_object", counting)
    rng = random.Random(7)
    for order in ("openai", "xai", "sorted"):
        calls.clear()
        events = opening()
        for seq in range(100):
            items = members(TEXT, rng.choice(STRINGS)[0], seq)
            if order == "xai":
                items = sorted(items, key=lambda kv: kv[0] != "sequence_number")
            elif order == "sorted":
                items = sorted(items)
            events.append(("{" + ",".join(f'"{k}":{v}' for k, v in items) + "}").encode())
        data = b"".join(b"event: response.output_text.delta\ndata: " + e + b"\n\n" for e in events)
        merger = responses.merger_class(ssedelta.get_backend("native"))()
        assert merger.feed(data) == len(events)
        assert len(calls) == len(opening()) + 1, order


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("mark", [pytest.param(0, marks=needs_native)])
def test_add_between_feeds_agrees_with_the_twin(seed: int, mark: int) -> None:
    """Events given to ``add`` between fed ones (and snapshots between them) move the place a
    following fed delta appends to, on both backends alike."""
    rng = random.Random(f"add{seed}")
    data, _ = stream(rng, 0.0)
    events = [e + b"\n\n" for e in data.split(b"\n\n") if e]
    plan = [rng.random() < 0.2 for _ in events]

    def run(backend: str) -> Any:
        merger = responses.merger_class(ssedelta.get_backend(backend))()
        snapshots = []
        for event, add in zip(events, plan, strict=True):
            if add:
                merger.add(orjson.loads(event[event.index(b"data: ") + 6 :]))
            else:
                merger.feed(event)
            snapshots.append(merger.snapshot().to_dict())
        return merger.finish().to_dict(), snapshots

    assert run("native") == run("python")
