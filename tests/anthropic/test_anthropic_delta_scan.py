"""The native core's scan of string ``content_block_delta`` events against the twin.

Deltas are written in the spellings servers use (the API's compact keys with spaces padded before
``}``, sorted keys, shuffled keys, spacing) and in adversarial variants a byte scan must not take
for the frequent shape (extra, duplicate and escaped keys, a delta of the wrong kind for its key,
wrong types, huge and negative indexes, invalid UTF-8, lone surrogates, trailing bytes, an
``event: error`` line). Both backends must give the same result, errors and byte offsets; the
clean variants must give the text the generator wrote.
"""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pytest

import ssedelta
from ssedelta import anthropic as sa
from ssedelta._env import NO_EXTENSIONS
from ssedelta.anthropic import _state

needs_native = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

#: block index -> (block start, delta type, delta key)
BLOCKS = {
    0: ({"type": "thinking", "thinking": "", "signature": ""}, "thinking_delta", "thinking"),
    1: ({"type": "text", "text": ""}, "text_delta", "text"),
    2: ({"type": "tool_use", "id": "t", "name": "f", "input": {}}, "input_json_delta", "partial_json"),
}
STRINGS = [
    ('"Hi"', "Hi"),
    ('" there"', " there"),
    ('""', ""),
    ('"caf\\u00e9"', "café"),
    ('"\\ud83d\\ude00!"', "😀!"),
    ('"a\\"b\\\\c\\/d\\n\\t"', 'a"b\\c/d\n\t'),
    ('"東京 🙂"', "東京 🙂"),
    ('"}{,:\\""', '}{,:"'),
]
BAD_VALUES = ['"\\ud83d"', '"\\x41"', '"a\x01b"', "5", "null", "[]", '{"a":1}', '"unterminated']


def opening() -> list[bytes]:
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": []}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {**message, "usage": {"input_tokens": 3, "output_tokens": 1}}}
    ]
    events += [
        {"type": "content_block_start", "index": i, "content_block": start}
        for i, (start, _, _) in BLOCKS.items()
    ]
    return [orjson.dumps(e) for e in events]


def spell_object(rng: random.Random, items: list[tuple[str, str]], pad: bool) -> str:
    order = rng.choice(["api", "sorted", "shuffled"])
    if order == "sorted":
        items = sorted(items)
    elif order == "shuffled":
        items = rng.sample(items, len(items))
    ws = rng.choice(["", "", " ", "\t"])
    inner = f",{ws}".join(f'"{k}"{ws}:{ws}{v}' for k, v in items)
    return f"{{{ws}{inner}{ws}{' ' * rng.randint(1, 20) if pad else ''}}}"


def delta_items(index: int, value: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    _, kind, key = BLOCKS[index]
    return [("type", '"content_block_delta"'), ("index", str(index))], [("type", f'"{kind}"'), (key, value)]


def spell(rng: random.Random, top: list[tuple[str, str]], delta: list[tuple[str, str]]) -> bytes:
    pad = rng.random() < 0.5
    inner = spell_object(rng, delta, False)
    return spell_object(rng, [*top, ("delta", inner)], pad).encode()


def adversarial(rng: random.Random, top: list[tuple[str, str]], delta: list[tuple[str, str]]) -> bytes:
    pick = rng.randrange(11)
    if pick == 0:
        (top if rng.random() < 0.5 else delta).append((rng.choice(["foo", "error", "Type"]), "1"))
    elif pick == 1:
        target = top if rng.random() < 0.5 else delta
        k, v = rng.choice(target)
        target.insert(rng.randrange(len(target) + 1), (k, v if rng.random() < 0.5 else '"x"'))
    elif pick == 2:
        target = top if rng.random() < 0.5 else delta
        k, v = target.pop(0)
        target.insert(0, (k.replace("e", "\\u0065", 1).replace("t", "\\u0074", 1), v))
    elif pick == 3:
        delta[1] = (delta[1][0], rng.choice(BAD_VALUES))
    elif pick == 4:
        value = rng.choice(
            ["-1", "7", "99999999999999999999", "1000000000000000000", "0.0", '"1"', "true", "-0"]
        )
        top[1] = ("index", value)
    elif pick == 5:
        other = rng.choice([b for b in BLOCKS.values()])
        if rng.random() < 0.5:
            delta[0] = ("type", f'"{other[1]}"')  # the key of one kind with the type of another
        else:
            delta[1] = (other[2], delta[1][1])
    elif pick == 6:
        (top if rng.random() < 0.5 else delta).pop(rng.randrange(2))
    elif pick == 7:
        top[0] = ("type", rng.choice(['"content_block_Delta"', '"content_block_delt\\u0061"', "3"]))
    data = spell(rng, top, delta)
    if pick == 8:
        data += rng.choice([b" x", b"}", b",", b"\x00"])
    elif pick == 9:
        data = data[: rng.randrange(1, len(data))]
    elif pick == 10:
        key = delta[1][0].encode()
        i = data.find(b'"' + key + b'"')
        j = data.find(b'"', data.find(b":", i) + 1) + 1
        data = data[:j] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80"]) + data[j:]
    return data


BARE = ["content_block_stop", "content_block_stop", "ping", "message_stop"]
#: A block whose ``text`` is not a string: a first ``text_delta`` of it must fail on both backends.
ODD_BLOCK = orjson.dumps(
    {"type": "content_block_start", "index": 3, "content_block": {"type": "odd", "text": 5}}
)


def bare(rng: random.Random) -> bytes:
    """A ``content_block_stop`` (of a block, of none), ``ping`` or ``message_stop`` payload in a
    random spelling, or in a variant a byte scan must not take for it."""
    kind = rng.choice(BARE)
    items = [("type", f'"{kind}"')]
    if kind == "content_block_stop":
        items.append(("index", rng.choice(["0", "1", "2", "3", "5", "-1"])))
    pick = rng.randrange(12)
    if pick == 0:
        items.append((rng.choice(["index", "foo", "type"]), rng.choice(["1", '"ping"', "null"])))
    elif pick == 1:
        items[-1] = (items[-1][0], rng.choice(["1.0", "1e0", "-0", "99999999999999999999", '"1"', "true"]))
    elif pick == 2:
        items[0] = ("typ\u0065", items[0][1])
    elif pick == 3:
        items[0] = ("type", rng.choice(['"Ping"', '"pin\u0067"', '"message_stop "', "7"]))
    elif pick == 4 and len(items) > 1:
        items.pop(rng.randrange(2))
    data = spell_object(rng, rng.sample(items, len(items)), rng.random() < 0.5).encode()
    if pick == 5:
        data += rng.choice([b" x", b"}", b",", b"\x00"])
    elif pick == 6:
        data = data[: rng.randrange(1, len(data))]
    return data


def stream(rng: random.Random, adversarial_share: float) -> tuple[bytes, dict[int, str]]:
    frames = [(b"", p) for p in opening()]
    if adversarial_share:
        frames.append((b"", ODD_BLOCK))
    texts = dict.fromkeys(BLOCKS, "")
    index = 1
    for _ in range(rng.randint(1, 60)):
        if rng.random() < 0.2:
            index = 3 if rng.random() < adversarial_share / 4 else rng.choice(list(BLOCKS))
        value, text = rng.choice(STRINGS)
        top, delta = delta_items(index if index in BLOCKS else 1, value)
        top[1] = ("index", str(index))
        if rng.random() < adversarial_share / 2:
            frames.append((b"event: error\n" if rng.random() < 0.05 else b"", bare(rng)))
        if rng.random() < adversarial_share:
            event = b"event: error\n" if rng.random() < 0.1 else b""
            frames.append((event, adversarial(rng, top, delta)))
        else:
            frames.append(
                (b"event: content_block_delta\n" if rng.random() < 0.5 else b"", spell(rng, top, delta))
            )
            texts[index] = texts.get(index, "") + text
    data = b"".join(event + b"data: " + payload + b"\n\n" for event, payload in frames)
    return data, texts


def pieces(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 40))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def outcome(backend: str, parts: list[bytes]) -> Any:
    merger = sa.merger_class(ssedelta.get_backend(backend))()
    snapshots = []
    try:
        for part in parts:
            merger.feed(part)
            snapshots.append(merger.snapshot().to_dict())
        return ("ok", merger.finish().to_dict(), merger.merged, snapshots)
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


@pytest.mark.parametrize("seed", range(150))
def test_clean_spellings_merge_the_written_text(backend: ssedelta.Backend, seed: int) -> None:
    rng = random.Random(seed)
    data, texts = stream(rng, 0.0)
    merger = sa.merger_class(backend)()
    for part in pieces(data, rng):
        merger.feed(part)
    content = merger.finish().to_dict()["content"]
    assert content[0]["thinking"] == texts[0]
    assert content[1]["text"] == texts[1]
    assert content[2]["input"] == expected_input(texts[2])


def expected_input(text: str) -> Any:
    """A tool input's JSON text parsed, as the merge rules say: the start's ``{}`` without any text,
    the object the text is, or the text itself when it is not a JSON object."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


@pytest.mark.parametrize("seed", range(400))
@pytest.mark.parametrize("mark", [pytest.param(0, marks=needs_native)])
def test_adversarial_spellings_agree_with_the_twin(seed: int, mark: int) -> None:
    rng = random.Random(f"adv{seed}")
    data, _ = stream(rng, (0.02, 0.06, 0.3)[seed % 3])
    parts = pieces(data, rng)
    assert outcome("native", parts) == outcome("python", parts)


@pytest.mark.parametrize("mark", [pytest.param(0, marks=needs_native)])
def test_frequent_deltas_skip_the_general_path(monkeypatch: pytest.MonkeyPatch, mark: int) -> None:
    """String deltas (the first of a block too), block stops, pings and the message stop are read
    from their bytes: only the events that open the message and its blocks go through the shared
    state's general path."""
    calls = []
    general = _state.MessagesState.merge_payload

    def counting(self: Any, obj: Any, payload: bytes, *args: Any) -> bool:
        calls.append(payload)
        return general(self, obj, payload, *args)

    monkeypatch.setattr(_state.MessagesState, "merge_payload", counting)
    rng = random.Random(3)
    for pad in (False, True):
        calls.clear()
        frames = opening()
        text = ""
        for _ in range(100):
            value, written = rng.choice(STRINGS)
            text += written
            top, delta = delta_items(1, value)
            inner = "{" + ",".join(f'"{k}":{v}' for k, v in delta) + "}"
            frames.append(
                ("{" + ",".join(f'"{k}":{v}' for k, v in [*top, ("delta", inner)]) + " " * pad + "}").encode()
            )
            if rng.random() < 0.1:
                frames.append(b'{"type": "ping"}')
        frames += [b'{"type":"content_block_stop","index":%d%s}' % (i, b" " * pad) for i in BLOCKS]
        frames.append(b'{"type":"message_stop"%s}' % (b" " * pad))
        data = b"".join(b"event: content_block_delta\ndata: " + f + b"\n\n" for f in frames)
        merger = sa.merger_class(ssedelta.get_backend("native"))()
        assert merger.feed(data) == len(frames)
        assert len(calls) == len(opening())
        assert merger.done
        assert merger.finish().content[1].text == text
