"""Writes the adversarial streams of this folder: ``python tests/data/adversarial/generate.py``.

Each ``*.sse`` file is small and deterministic; the large cases (1 MB keys,
64 MiB events, 100k-deep nesting) are built at test time by
``tests/test_adversarial.py`` from the functions here. Both backends must give
the same result or the same typed error on every file, in any split.
"""

from __future__ import annotations

import json
import os
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
HEAD = b'"id":"chatcmpl-x","object":"chat.completion.chunk","created":1700000000,"model":"gpt-x"'


def ev(payload: bytes, eol: bytes = b"\n") -> bytes:
    return b"data: " + payload + eol + eol


def chunk(inner: bytes, head: bytes = HEAD) -> bytes:
    """A chunk whose first choice's delta is ``inner`` (raw JSON members)."""
    return b"{" + head + b',"choices":[{"index":0,"delta":{' + inner + b'},"finish_reason":null}]}'


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


DONE = ev(b"[DONE]")
START = ev(chunk(b'"role":"assistant","content":""'))


def stream(*payloads: bytes, done: bool = True) -> bytes:
    return START + b"".join(ev(p) for p in payloads) + (DONE if done else b"")


def big_key(size: int) -> bytes:
    key = b"k" * size
    return stream(
        b"{" + HEAD + b',"' + key + b'":1,"choices":[]}',
        chunk(b'"content":"a","' + key + b'":"v"'),
        chunk(b'"content":"b","' + key + b'":"w"'),
    )


def big_event(size: int) -> bytes:
    """One event whose content is ``size`` bytes of text."""
    return ev(chunk(b'"content":"' + b"x" * size + b'"')) + DONE


def deep(depth: int) -> bytes:
    return stream(chunk(b'"content":"a","deep":' + b"[" * depth + b"]" * depth))


FILES: dict[str, bytes] = {
    # NUL bytes: raw in JSON strings (invalid), escaped (valid), in field names, ids, payload ends.
    "nul-bytes.sse": stream(
        chunk(b'"content":"a\\u0000b"'),
        chunk(b'"content":"raw\x00nul"'),
        done=False,
    )
    + b"id: a\x00b\ndata: "
    + chunk(b'"content":"c"')
    + b"\n\n"
    + b"da\x00ta: x\n\n"
    + b"data: "
    + chunk(b'"content":"d"')
    + b"\x00\n\n"
    + DONE,
    "nul-escaped-only.sse": stream(chunk(b'"content":"\\u0000\\u0000","reasoning_content":"\\u0000"')),
    # Lone surrogates in \u escapes: invalid JSON for a strict parser, wherever they are.
    "surrogate-lone-high.sse": stream(chunk(b'"content":"a\\ud800b"')),
    "surrogate-lone-low.sse": stream(chunk(b'"content":"\\udc00"')),
    "surrogate-high-high.sse": stream(chunk(b'"content":"\\ud800\\ud800"')),
    "surrogate-high-then-letter.sse": stream(chunk(b'"content":"\\ud83d\\u0041"')),
    "surrogate-at-end.sse": stream(chunk(b'"content":"x\\ud83d"')),
    "surrogate-in-key.sse": stream(chunk(b'"content":"a","k\\ud800":1')),
    "surrogate-in-tool-args.sse": stream(
        chunk(b'"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"\\udfff"}}]')
    ),
    "surrogate-pair-ok.sse": stream(chunk(b'"content":"\\ud83d\\ude00 \\uD83D\\uDE00"')),
    # Overlong and otherwise invalid UTF-8, raw in strings (becomes U+FFFD) and in structure.
    "overlong-utf8.sse": stream(
        chunk(b'"content":"\xc0\xaf"'),
        chunk(b'"content":"\xe0\x80\xaf"'),
        chunk(b'"content":"\xf0\x80\x80\xaf"'),
        chunk(b'"content":"\xed\xa0\x80"'),
        chunk(b'"content":"\xf4\x90\x80\x80"'),
        chunk(b'"content":"\xc3"'),
        chunk(b'"content":"\xe2\x82"'),
        chunk(b'"content":"\xff\xfe"'),
    ),
    "overlong-utf8-in-key.sse": stream(chunk(b'"content":"a","\xc0\xafk":1')),
    "invalid-utf8-outside-strings.sse": stream(chunk(b'"content":"a"\xff')),
    "invalid-utf8-in-event-and-id.sse": b"event: \xff\xfe\nid: \xc0\xaf\ndata: "
    + chunk(b'"content":"a"')
    + b"\n\n"
    + DONE,
    # Large keys (the 1 MB ones are made at test time).
    "big-key-16k.sse": big_key(16 * 1024),
    # Long arrays.
    "array-10k-ints.sse": stream(chunk(b'"content":"a","ids":' + dumps(list(range(10_000))))),
    "array-tool-calls.sse": stream(
        chunk(
            b'"tool_calls":'
            + dumps(
                [{"index": i, "id": f"c{i}", "function": {"name": "f", "arguments": ""}} for i in range(1000)]
            )
        )
    ),
    "array-logprobs.sse": stream(
        b"{"
        + HEAD
        + b',"choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":'
        + dumps([{"token": "a", "logprob": -0.5, "bytes": [97]} for _ in range(1000)])
        + b'},"finish_reason":null}]}'
    ),
    "array-indexed-many.sse": stream(
        chunk(b'"content":"a","reasoning_details":' + dumps([{"index": i, "text": "t"} for i in range(2000)]))
    ),
    # Numbers.
    "numbers-infinite.sse": stream(
        chunk(b'"content":"a","x":1e999'),
        chunk(b'"content":"b","x":-1e999'),
        b"{" + HEAD[:-1] + b'","created":1e999,"choices":[]}',
        done=True,
    ),
    "numbers-negative-zero.sse": stream(
        chunk(b'"content":"a","x":-0,"y":-0.0,"z":0e0,"w":-0E-0'),
        b'{"id":"a","created":-0,"choices":[{"index":-0,"delta":{"content":"z"}}]}',
    ),
    "numbers-edge.sse": stream(
        chunk(
            b'"content":"a","x":1e-999,"y":2.2250738585072014e-308,"z":4.9e-324,"w":1.7976931348623157e308'
        ),
        chunk(b'"content":"b","big":123456789012345678901234567890,"neg":-99999999999999999999'),
        b'{"id":"a","created":123456789012345678901234567890,"choices":[]}',
        b'{"id":"a","choices":[{"index":0,"logprobs":{"content":[{"token":"t","logprob":-1e999,"bytes":null}]}}]}',
    ),
    "numbers-index.sse": stream(
        b'{"id":"a","choices":[{"index":1e2,"delta":{"content":"z"}}]}',
        b'{"id":"a","choices":[{"index":99999999999999999999999,"delta":{"content":"z"}}]}',
        b'{"id":"a","choices":[{"index":-1,"delta":{"content":"z"}}]}',
    ),
    "numbers-invalid.sse": stream(
        chunk(b'"content":"a","x":01'),
        chunk(b'"content":"a","x":1.'),
        chunk(b'"content":"a","x":.5'),
        chunk(b'"content":"a","x":+1'),
        chunk(b'"content":"a","x":NaN'),
        chunk(b'"content":"a","x":Infinity'),
        chunk(b'"content":"a","x":0x10'),
    ),
    # Duplicate keys at every level (the last one wins for a JSON parser).
    "duplicate-keys.sse": stream(
        b'{"id":"a","id":"b","choices":[{"index":0,"delta":{"content":"1"}}]}',
        b'{"id":"a","choices":[],"choices":[{"index":0,"delta":{"content":"2"}}]}',
        b'{"id":"a","choices":[{"index":0,"index":1,"delta":{"content":"3"}}]}',
        b'{"id":"a","choices":[{"index":0,"delta":{"content":"4","content":"5"}}]}',
        b'{"id":"a","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"index":1,"id":"c"}]}}]}',
        b'{"id":"a","choices":[{"index":0,"delta":{"x":1,"x":2,"content":"6"}}]}',
        b'{"id":"a","u":1,"u":null,"choices":[{"index":0,"delta":{"content":"7"},"e":1,"e":2}]}',
        b'{"id":"a","choices":[{"index":0,"logprobs":{"content":[],"content":null}}]}',
        b'{"id":"a","choices":[{"index":0,"delta":{"content":"8"},"delta":{"content":"9"}}]}',
    ),
    # [DONE] in every position and shape.
    "done-first.sse": DONE + stream(chunk(b'"content":"never"')),
    "done-middle.sse": START + DONE + ev(chunk(b'"content":"never"')) + DONE,
    "done-shapes.sse": START
    + ev(b" [DONE]")
    + ev(b"[DONE] ")
    + ev(b"[done]")
    + ev(b"[DONE]x")
    + b"data:[DONE]\n\n",
    "done-multiline.sse": START + b"data: [DONE]\ndata: \n\n" + ev(chunk(b'"content":"after"')) + DONE,
    "done-with-event.sse": START + b"event: done\ndata: [DONE]\n\n" + ev(chunk(b'"content":"never"')),
    "done-in-string.sse": stream(chunk(b'"content":"[DONE]"'), b'"[DONE]"'),
    "done-without-blank-line.sse": START + b"data: [DONE]\n",
    # Line endings.
    "cr-only.sse": stream(chunk(b'"content":"a"'), chunk(b'"content":"b\\r"')).replace(b"\n", b"\r"),
    "crlf.sse": stream(chunk(b'"content":"a"'), chunk(b'"content":"b"')).replace(b"\n", b"\r\n"),
    "mixed-eol.sse": START.replace(b"\n\n", b"\r\n\r")
    + b"data: "
    + chunk(b'"content":"a"')
    + b"\r\r\n"
    + b"data: "
    + chunk(b'"content":"b"')
    + b"\n\r"
    + DONE,
    "cr-at-every-place.sse": b"\r\r\r:c\r\rdata:"
    + chunk(b'"content":"a"')
    + b"\r\rid:\r\rretry:1\r\r"
    + DONE,
    "bom-then-cr.sse": b"\xef\xbb\xbf\r" + stream(chunk(b'"content":"a"')),
    "double-bom.sse": b"\xef\xbb\xbf\xef\xbb\xbf" + stream(chunk(b'"content":"a"')),
    # Framing oddities.
    "empty.sse": b"",
    "blank-lines-only.sse": b"\n" * 50 + b"\r\n" * 50,
    "comments-only.sse": b": a\n: b\n\n" * 20,
    "no-final-blank-line.sse": START + b"data: " + chunk(b'"content":"tail"'),
    "multi-line-data.sse": b"data: {\ndata: " + HEAD + b',\ndata: "choices":[]}\n\n' + DONE,
    "field-without-colon.sse": b"data\n\n" + b"data\ndata\n\n" + stream(chunk(b'"content":"a"')),
    "many-tiny-events.sse": b"data: {}\n\n" * 3000 + DONE,
    "keepalives.sse": b"data: : ping\n\n" * 50 + b"data: \n\n" * 50 + stream(chunk(b'"content":"a"')),
    "retry-and-id.sse": b"retry: 99999999999999999999999\nid: x\nretry: -1\n"
    + b"data: "
    + chunk(b'"content":"a"')
    + b"\n\n"
    + DONE,
    # Long and huge retry/id/event fields: a retry of more than 18 digits is ignored (past
    # CPython's 4,300-digit int() limit too), and every field counts toward max_event_size.
    "retry-long.sse": b"retry: 999999999999999999\n"
    + ev(chunk(b'"content":"a"'))
    + b"retry: 1000000000000000000\n"
    + ev(chunk(b'"content":"b"'))
    + b"data: "
    + chunk(b'"content":"c"')
    + b"\nretry: "
    + b"9" * 4301
    + b"\n\n"
    + b"retry: "
    + b"8" * 30000
    + b"\n\n"
    + DONE,
    "id-huge.sse": b"id: "
    + b"i" * 40000
    + b"\n"
    + ev(chunk(b'"content":"a"'))
    + b"id: j\n"
    + stream(chunk(b'"content":"b"')),
    "event-huge.sse": b"event: "
    + b"e" * 40000
    + b"\n"
    + ev(chunk(b'"content":"a"'))
    + stream(chunk(b'"content":"b"')),
    "fields-huge-without-data.sse": b"id: "
    + b"i" * 9000
    + b"\nevent: "
    + b"e" * 9000
    + b"\nretry: "
    + b"7" * 9000
    + b"\n\n"
    + stream(chunk(b'"content":"a"')),
    # An error of each kind with events after it: what feeding goes on to do after the error.
    "after-invalid-json.sse": stream(chunk(b'"content":"a"'), b"{nope", chunk(b'"content":"b"')),
    "after-invalid-chunk.sse": stream(chunk(b'"content":"a"'), b'{"choices":5}', chunk(b'"content":"b"')),
    "after-not-object.sse": stream(chunk(b'"content":"a"'), b"[1]", chunk(b'"content":"b"')),
    "after-deep-nesting.sse": stream(
        chunk(b'"content":"a"'), chunk(b'"x":' + b"[" * 1100 + b"]" * 1100), chunk(b'"content":"b"')
    ),
    "after-upstream-error.sse": stream(
        chunk(b'"content":"a"'), b'{"error":{"message":"boom"}}', chunk(b'"content":"b"')
    ),
    "after-event-too-large.sse": stream(
        chunk(b'"content":"a"'), chunk(b'"content":"' + b"x" * 400 + b'"'), chunk(b'"content":"b"')
    ),
    "after-line-too-long.sse": START + b": " + b"c" * 400 + b"\n\n" + stream(chunk(b'"content":"b"')),
    "after-count-limits.sse": stream(
        chunk(b'"content":"a"'),
        b'{"id":"a","a":1,"b":2,"c":3,"d":4,"choices":[{"index":1,"delta":{"content":"x"}},'
        b'{"index":2,"delta":{"content":"y"}},{"index":3,"delta":{"tool_calls":[{"index":0},{"index":1},'
        b'{"index":2},{"index":3}]}}]}',
        chunk(b'"content":"b"'),
    ),
    "after-merged-size.sse": stream(*[chunk(b'"content":"' + b"m" * 60 + b'"') for _ in range(40)]),
    # Escapes.
    "escapes-invalid.sse": stream(
        chunk(b'"content":"\\x41"'),
        chunk(b'"content":"\\u12"'),
        chunk(b'"content":"\\uZZZZ"'),
        chunk(b'"content":"\\'),
        chunk(b'"content":"\t"'),
    ),
    "escapes-valid.sse": stream(chunk(b'"content":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u2028"')),
    "escaped-keys.sse": stream(b'{"id":"a","choices":[{"index":0,"delta":{"cont\\u0065nt":"e"}}]}'),
    # Types where they do not belong, and upstream errors.
    "wrong-types.sse": stream(
        b'{"id":"a","choices":[{"index":"0","delta":{"content":"a"}}]}',
        b'{"id":"a","choices":[{"index":0,"delta":{"content":1}}]}',
        b'{"id":"a","choices":{"index":0}}',
    ),
    "upstream-errors.sse": stream(
        b'{"error":{"message":"boom","code":500}}',
        b'{"id":"a","choices":[{"index":0,"delta":{"content":"x"}}],"error":{"message":"late"}}',
    ),
    "event-error.sse": START + b"event: error\ndata: not json\n\n" + DONE,
    "event-error-object.sse": START + b'event: error\ndata: {"message":"m"}\n\n' + DONE,
    "not-objects.sse": stream(b"[1]", b"null", b'"s"', b"1", b"true"),
    # Deep nesting within the parser's limit (deeper ones are made at test time).
    "deep-1020.sse": deep(1020),
    "deep-1021.sse": deep(1021),
    "deep-objects.sse": stream(chunk(b'"content":"a","deep":' + b'{"k":' * 600 + b"1" + b"}" * 600)),
    "deep-merge.sse": stream(
        chunk(b'"content":"a","m":' + b'{"k":' * 40 + b'"x"' + b"}" * 40),
        chunk(b'"content":"a","m":' + b'{"k":' * 40 + b'"y"' + b"}" * 40),
    ),
}


# Huge, tiny and fractional numbers in every numeric field (one file per field and number, as the
# first error ends a stream): timestamps, indexes, logprobs and their bytes, token counts,
# expires_at, unknown keys.
HUGE_NUMBERS = [
    b"123456789012345678901234567890",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"1e308",
    b"1e309",
    b"4.9e-324",
    b"99999999999999999999.5",
    b"12.0",
    b"-0",
    b"1" + b"0" * 4300,
]
NUMBER_FIELDS: dict[str, bytes] = {
    "created": b'{"id":"a","created":N,"choices":[{"index":0,"delta":{"content":"x"}}]}',
    "index": b'{"id":"a","choices":[{"index":N,"delta":{"content":"x"}}]}',
    "tool-index": b'{"id":"a","choices":[{"index":0,"delta":{"tool_calls":[{"index":N,"id":"c",'
    b'"function":{"name":"f","arguments":"{}"}}]}}]}',
    "logprob": b'{"id":"a","choices":[{"index":0,"delta":{"content":"x"},"logprobs":{"content":[{"token":"t",'
    b'"logprob":N,"bytes":[N],"top_logprobs":[{"token":"t","logprob":N,"bytes":[1,N]}]}]}}]}',
    "usage": b'{"id":"a","choices":[],"usage":{"prompt_tokens":N,"completion_tokens":N,"total_tokens":N,'
    b'"completion_tokens_details":{"reasoning_tokens":N},"prompt_tokens_details":{"cached_tokens":N}}}',
    "expires-at": b'{"id":"a","choices":[{"index":0,"delta":{"audio":{"id":"au","expires_at":N}}}]}',
    "unknown": b'{"id":"a","n":N,"choices":[{"index":0,"m":N,"delta":{"content":"x","k":N}}]}',
}
FILES.update(
    {
        f"numbers-huge-{field}-{k}.sse": stream(template.replace(b"N", number))
        for field, template in NUMBER_FIELDS.items()
        for k, number in enumerate(HUGE_NUMBERS)
    }
)


def main() -> None:
    for name, data in FILES.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(FILES)} files to {HERE}")


if __name__ == "__main__":
    main()
