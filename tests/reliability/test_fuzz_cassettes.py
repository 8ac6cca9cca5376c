"""Hostile and broken cassettes (issue 9, item 4): the chunk cassette reader and the vcrpy
importer, fuzzed with hypothesis. Only `streamtest.CassetteError` ever escapes, naming the path
(and, from the reader, the line); nothing hangs, eats memory or runs code from the file.

- Reader: valid cassettes generated from the model and saved by `fileformat.save`, then broken
  by one to three mutations: cut at a byte, a line deleted, duplicated, swapped or replaced, a
  JSON value replaced by one of the wrong type, an unknown or absurd version, huge, negative or
  non-finite offsets, invalid base64, 100,000-deep nesting, huge numbers, invalid UTF-8, a BOM,
  CRLF, NUL bytes, or plain garbage. An offset below 0 or over 7 days, planted in a chunk, an
  item or a response, is refused on its own line. `load_cassette` returns a `Cassette` or raises a
  `CassetteError` whose message holds ``path:LINE``, LINE within the file. Any valid cassette
  saved and loaded again is equal to itself.
- Importer: vcrpy cassettes (YAML and JSON, SSE / NDJSON / gzip / binary bodies) broken the same
  way, plus wrong Python types in any field and YAML hostility: ``!!python/object/apply`` and
  ``!!python/name`` tags planting a command, ``%TAG`` spellings of them, self-referential
  anchors, invalid ``!!binary``. `import_vcr` returns a `Cassette` whose file loads, or raises a
  `CassetteError` naming the file and leaves no output; the planted command never runs.
- Isolated, in a child process limited in address space (`BUDGET` over its start-up size) and
  time (`TIMEOUT`), so a failure cannot take the machine down: billion-laughs alias bombs used
  as a body, header, status or ``parsed_body``; 100,000-deep YAML flow nesting; a gzip bomb; a
  large ``!!binary`` body; and the planted command under the unsafe loader of vcrpy < 8.2.1.

Counts: `EXAMPLES` per property, 50 by default and derandomized (the same examples every run,
so CI is deterministic), 2000 with random examples under ``STREAMTEST_RELIABILITY=full``. Each
example has a 2 s deadline.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streamtest
from streamtest import Cassette, Chunk, Interaction, Item, ObjectStream, Request, Response
from streamtest._core import fileformat

FULL = os.environ.get("STREAMTEST_RELIABILITY") == "full"
EXAMPLES = 2000 if FULL else 50
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=2),
    derandomize=not FULL,
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BUDGET = 384 * 1024 * 1024  # bytes of address space a child may add to its start-up size
TIMEOUT = 15.0  # seconds a child may take


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# ---------------------------------------------------------------------------------------------
# Valid cassettes, from the model

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)  # any str a file can hold
SECONDS = st.floats(0, 3600).map(lambda t: round(t, 6))  # the file keeps microseconds
JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
# What a client may send: Python's json.dumps in any style (NaN, lone surrogates included).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=8)  # surrogates too
BODY_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from([math.nan, math.inf, -math.inf])
    | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=6,
)
BODY_DOCUMENT = st.lists(BODY_VALUE, max_size=3) | st.dictionaries(ANY_TEXT, BODY_VALUE, max_size=3)
JSON_BODY = st.builds(
    lambda value, ascii, compact: json.dumps(
        value, ensure_ascii=ascii, separators=(",", ":") if compact else None
    ).encode("utf-8", "surrogatepass"),
    BODY_DOCUMENT,
    st.booleans(),
    st.booleans(),
)
BODY = st.just(b"") | JSON_BODY | st.binary(max_size=24) | TEXT.map(str.encode)
HEADERS = st.lists(st.tuples(st.text("abcxyz-ABC", min_size=1, max_size=8), TEXT), max_size=3)
ERROR = st.builds(streamtest.StreamError, TEXT, TEXT)
END = st.sampled_from(["completed", "failed", "closed"])


@st.composite
def responses(draw: st.DrawFn) -> Response:
    timed, end = draw(st.booleans()), draw(END)
    chunk = st.builds(Chunk, SECONDS if timed else st.just(0.0), st.binary(max_size=16))
    text_chunk = st.builds(
        Chunk, SECONDS if timed else st.just(0.0), TEXT.map(str.encode).filter(bool)
    )
    return Response(
        draw(st.integers(100, 599)),
        tuple(draw(HEADERS)),
        tuple(draw(st.lists(chunk | text_chunk, max_size=4))),
        draw(ERROR) if end == "failed" else None,
        end == "closed",
        draw(SECONDS) if timed else 0.0,
        timed,
    )


INTERACTION = st.builds(
    Interaction,
    st.builds(Request, TEXT, TEXT, HEADERS.map(tuple), BODY),
    responses(),
)


@st.composite
def object_streams(draw: st.DrawFn) -> ObjectStream:
    end = draw(END)
    items = draw(st.lists(st.builds(Item, SECONDS, JSON_VALUE), max_size=3))
    error = draw(ERROR) if end == "failed" else None
    return ObjectStream(draw(TEXT), tuple(items), draw(JSON_VALUE), error, end == "closed")


@st.composite
def cassettes(draw: st.DrawFn) -> Cassette:
    interactions = draw(st.lists(INTERACTION, max_size=3))
    return Cassette(
        "unsaved.jsonl", interactions, streams=draw(st.lists(object_streams(), max_size=2))
    )


def saved(cassette: Cassette, path: Path) -> bytes:
    cassette.path = path
    fileformat.save(cassette, recorded_with="fuzz")
    return path.read_bytes()


# ---------------------------------------------------------------------------------------------
# Broken cassettes: mutations of valid ones


def nested(depth: int, open_: str = "[", close: str = "]", core: str = "") -> bytes:
    return (open_ * depth + core + close * depth).encode()


HOSTILE_JSON = [  # raw JSON text (some of it not JSON at all) put where a value was
    *(b"null", b"true", b"false", b"0", b"-1", b"1.5", b'""', b'"x"', b"[]", b"{}", b"[1,[2]]"),
    *(b'{"a":1}', b"-0", b"1e308", b"-1e308", b"1e400", b"-1e400", b"NaN", b"Infinity"),
    *(b"-Infinity", b"9223372036854775808", b"18446744073709551616", b"1" + b"0" * 5000),
    *(b'"!!!"', b'"===="', b'"QQ"', b'"\\ud800"', b'"\\u0000"', b'"\xff\xfe"', b'"\xed\xa0\x80"'),
    *(b'"' + b"a" * 100_000 + b'"', nested(50), nested(999), nested(1001), nested(5000)),
    *(nested(100_000), nested(100_000, '{"a":', "}", "1"), b"[" * 100_000),
]
VERSIONS = [b"0", b"2", b"-1", b"99999999999999999999999", b"1.0", b'"1"', b"true", b"null"]
MANGLED_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\r", b"\r\n", b"\xef\xbb\xbf"]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


def _set(value: Any, path: tuple[Any, ...], new: Any) -> None:
    for key in path[:-1]:
        value = value[key]
    if new is _DELETE:
        del value[path[-1]]
    else:
        value[path[-1]] = new


_DELETE = object()
_SLOT = "\x00fuzz-slot\x00"  # a string no generated value holds, swapped for raw bytes


HOSTILE = st.sampled_from(HOSTILE_JSON) | JSON_VALUE.map(lambda v: json.dumps(v).encode())
# Offsets JSON can hold but a replay cannot wait for: below 0, or beyond `fileformat.MAX_OFFSET`.
HOSTILE_OFFSET = st.floats(max_value=0.0, exclude_max=True, allow_infinity=False) | st.floats(
    min_value=fileformat.MAX_OFFSET, exclude_min=True, allow_infinity=False
)


@st.composite
def _edit_value(draw: st.DrawFn, line: bytes, keys: tuple[str, ...]) -> bytes:
    """``line`` with one JSON value (one under ``keys`` if there is one) replaced by hostile raw
    text (for ``t``, often a hostile offset) or removed, or with a key added."""
    offsets = HOSTILE_OFFSET.map(lambda t: json.dumps(t).encode())
    raw = draw(offsets | HOSTILE if "t" in keys else HOSTILE)
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # broken by an earlier mutation
        return raw
    if not isinstance(record, dict):
        return raw
    paths = _paths(record)
    wanted = [path for path in paths if path[-1] in keys]
    if wanted or (paths and draw(st.integers(0, 9)) > 0):
        new = _DELETE if draw(st.integers(0, 5)) == 0 else _SLOT
        _set(record, draw(st.sampled_from(wanted or paths)), new)
    else:
        record[draw(st.sampled_from(["x", "t", "b64", "chunks", "json", "item", "end"]))] = _SLOT
    return json.dumps(record).encode().replace(json.dumps(_SLOT).encode(), raw)


@st.composite
def _mutated(draw: st.DrawFn, data: bytes) -> bytes:
    lines = data.split(b"\n")
    body = [i for i, line in enumerate(lines) if line]
    kind = draw(st.sampled_from(["cut", "line", "value", "offset", "b64", "version", "bytes"]))
    if kind == "cut":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "bytes":
        where = draw(st.integers(0, len(data)))
        piece = draw(st.sampled_from(MANGLED_BYTES) | st.binary(min_size=1, max_size=4))
        if draw(st.booleans()):
            return data[:where] + piece + data[where + 1 :]
        return draw(st.sampled_from([b"\xef\xbb\xbf" + data, data.replace(b"\n", b"\r\n")]))
    if not body:
        return data + draw(st.sampled_from(HOSTILE_JSON))
    i = draw(st.sampled_from(body))
    if kind == "line":
        j = draw(st.sampled_from(body))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "blank"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(j, lines[i])
        elif op == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "replace":
            lines[i] = draw(st.sampled_from(HOSTILE_JSON) | st.binary(max_size=30))
        else:
            lines.insert(i, b"")
    elif kind == "version":
        version = draw(st.sampled_from(VERSIONS) | st.integers().map(lambda n: str(n).encode()))
        extra = draw(st.sampled_from([b"", b',"recorded_with":7', b',"future":{"x":1}']))
        lines[0] = b'{"streamtest":' + version + extra + b"}"
    else:
        keys = {"offset": ("t",), "b64": ("b64",), "value": ()}[kind]
        candidates = [n for n in body if any(f'"{k}"'.encode() in lines[n] for k in keys)]
        i = draw(st.sampled_from(candidates or body))
        lines[i] = draw(_edit_value(lines[i], keys))
        if kind == "b64" and draw(st.booleans()):  # text that is no base64: keep the JSON valid
            bad = draw(st.text("ABCab+/=!-_ \n.", max_size=12))
            lines[i] = json.dumps({"t": 0.5, "b64": bad}).encode()
    return b"\n".join(lines)


@st.composite
def broken_cassettes(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 19)) == 0:  # not a cassette at all
        return draw(st.binary(max_size=64) | st.sampled_from([b"", b" \n\n", b"\n"]))
    data = draw(st.builds(fileformat.dumps, cassettes(), recorded_with=TEXT))
    for _ in range(draw(st.integers(1, 3))):
        data = draw(_mutated(data))
    return data


def load_or_refuse(path: Path) -> Cassette | None:
    """`load_cassette`, asserting that a refusal is a `CassetteError` naming ``path:LINE``."""
    data = path.read_bytes()
    try:
        return streamtest.load_cassette(path)
    except streamtest.CassetteError as exc:
        lines = max(1, data.count(b"\n") + (not data.endswith(b"\n")))
        assert exc.line is not None and 1 <= exc.line <= lines, (exc.line, lines, str(exc))
        assert f"{path}:{exc.line}" in str(exc)
        return None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the point: name whatever else escapes
        raise AssertionError(
            f"load_cassette let {type(exc).__module__}.{type(exc).__qualname__} escape: {exc!r}"
        ) from exc


# ---------------------------------------------------------------------------------------------
# The reader


@FUZZ
@given(cassette=cassettes())
def test_a_saved_cassette_loads_equal(cassette: Cassette, workdir: Path) -> None:
    path = workdir / "roundtrip.jsonl"
    saved(cassette, path)
    loaded = streamtest.load_cassette(path)
    assert loaded.interactions == cassette.interactions
    assert loaded.streams == cassette.streams


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[NaN]", id="nan"),
        pytest.param(b'{"x":Infinity}', id="infinity"),
        pytest.param(b'["\\ud83d"]', id="lone-surrogate-escape"),
        pytest.param(b'{"\\udfff":1}', id="lone-surrogate-key"),
    ],
)
def test_request_bodies_that_python_json_reads_round_trip(body: bytes, workdir: Path) -> None:
    """Bodies `json.dumps` writes by default, that are not RFC 8259 JSON (or not UTF-8 once
    parsed): they must be kept verbatim, not stored as a value that reads back different."""
    path = workdir / "body.jsonl"
    cassette = Cassette(path, [Interaction(Request("POST", "http://x/", (), body), Response(200))])
    saved(cassette, path)
    assert streamtest.load_cassette(path).interactions[0].request.body == body


@FUZZ
@given(data=broken_cassettes())
def test_a_broken_cassette_loads_or_raises_cassette_error_with_its_line(
    data: bytes, workdir: Path
) -> None:
    path = workdir / "broken.jsonl"
    path.write_bytes(data)
    load_or_refuse(path)


@st.composite
def hostile_offset_cassettes(draw: st.DrawFn) -> tuple[bytes, int, float]:
    """A valid cassette with one hostile offset planted in a chunk, an item or a response (where
    it may have had none), and the number of that line."""
    lines = fileformat.dumps(draw(cassettes()), recorded_with="fuzz").splitlines()
    where = [n for n, line in enumerate(lines) if {"t", "response"} & json.loads(line).keys()]
    if not where:  # nothing timed to break: add an object stream of one item
        lines += [b'{"stream":{"name":"s"}}', b'{"t":0,"item":1}', b'{"end":"completed","items":1}']
        where = [len(lines) - 2]
    n, offset = draw(st.sampled_from(where)), draw(HOSTILE_OFFSET)
    record = json.loads(lines[n])
    record.get("response", record)["t"] = offset
    lines[n] = json.dumps(record).encode()
    return b"".join(line + b"\n" for line in lines), n + 1, offset


@FUZZ
@given(planted=hostile_offset_cassettes())
def test_a_hostile_offset_is_refused_on_its_line(
    planted: tuple[bytes, int, float], workdir: Path
) -> None:
    data, line, offset = planted
    path = workdir / "offset.jsonl"
    path.write_bytes(data)

    with pytest.raises(streamtest.CassetteError) as caught:
        streamtest.load_cassette(path)

    assert caught.value.line == line
    assert f'"t" is {offset!r}' in str(caught.value)
    assert "from 0 to 604,800 (7 days)" in str(caught.value)


HEAD = b'{"streamtest":1}\n'
OPEN = b'{"request":{"method":"GET","url":"http://x/"},"response":{"status":200}}\n'
STREAM = b'{"stream":{"name":"s"}}\n'


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\xef\xbb\xbf" + HEAD, id="bom"),
        pytest.param(HEAD.replace(b"1", b'"1"'), id="version-string"),
        pytest.param(b'{"streamtest":99999999999999999999999999}\n', id="version-huge"),
        pytest.param(b'{"streamtest":-1}\n', id="version-negative"),
        pytest.param(
            HEAD + OPEN + b'{"t":-5,"text":"a"}\n{"end":"completed","chunks":1}\n', id="t-negative"
        ),
        pytest.param(
            HEAD + OPEN + b'{"t":1e400,"text":"a"}\n{"end":"completed","chunks":1}\n',
            id="t-overflow",
        ),
        pytest.param(
            HEAD + OPEN + b'{"t":NaN,"text":"a"}\n{"end":"completed","chunks":1}\n', id="t-nan"
        ),
        pytest.param(
            HEAD + OPEN + b'{"t":0,"b64":"!!!"}\n{"end":"completed","chunks":1}\n', id="b64-invalid"
        ),
        pytest.param(HEAD + OPEN + b'{"end":"completed","chunks":-1}\n', id="count-negative"),
        pytest.param(
            HEAD + OPEN + b'{"end":"completed","chunks":' + b"9" * 40 + b"}\n", id="count-huge"
        ),
        pytest.param(
            HEAD + OPEN + b'{"t":0,"text":"\xff\xfe"}\n{"end":"completed","chunks":1}\n',
            id="utf8-invalid-chunk",
        ),
        pytest.param(b'{"streamtest":2,"recorded_with":"\xff"}\n', id="utf8-invalid-header"),
        pytest.param(HEAD + STREAM + b'{"t":0,"item":' + nested(100_000) + b"}\n", id="deep-item"),
        pytest.param(
            HEAD + STREAM + b'{"t":0,"item":' + nested(2_000) + b"}\n", id="deep-item-2000"
        ),
        pytest.param(
            HEAD + b'{"stream":{"name":"s","key":' + nested(100_000, '{"a":', "}", "1") + b"}}\n",
            id="deep-key",
        ),
        pytest.param(
            HEAD + OPEN.replace(b'"url":"http://x/"', b'"url":"u","json":' + nested(100_000)),
            id="deep-request-json",
        ),
        pytest.param(b'{"streamtest":2,"x":' + nested(100_000) + b"}\n", id="deep-header"),
        pytest.param(
            HEAD + OPEN + b'{"t":0,"text":"' + b"a" * 5_000_000 + b'"}\n', id="huge-line-cut-short"
        ),
    ],
)
def test_hostile_lines_raise_cassette_error(data: bytes, workdir: Path) -> None:
    path = workdir / "hostile.jsonl"
    path.write_bytes(data)
    load_or_refuse(path)


# ---------------------------------------------------------------------------------------------
# The vcrpy importer, in process (bounded inputs)

SSE = "text/event-stream"


@st.composite
def vcr_bodies(draw: st.DrawFn) -> tuple[dict[str, list[str]], str | bytes]:
    events = draw(st.lists(TEXT, min_size=1, max_size=4))
    sse = "".join(f"data: {json.dumps({'delta': e})}\n\n" for e in events) + "data: [DONE]\n\n"
    kind = draw(st.sampled_from(["sse", "ndjson", "json", "gzip", "binary", "none"]))
    if kind == "sse":
        return {"Content-Type": [SSE]}, sse
    if kind == "ndjson":
        return {"Content-Type": ["application/x-ndjson"]}, "".join(
            f"{json.dumps(e)}\n" for e in events
        )
    if kind == "json":
        return {"Content-Type": ["application/json"]}, json.dumps(events)
    if kind == "gzip":
        return {"Content-Type": [SSE], "Content-Encoding": ["gzip"]}, gzip.compress(sse.encode())
    return {"Content-Type": ["application/octet-stream"]}, draw(st.binary(max_size=32))


@st.composite
def vcr_cassettes(draw: st.DrawFn) -> dict[str, Any]:
    interactions = []
    for _ in range(draw(st.integers(0, 3))):
        headers, body = draw(vcr_bodies())
        request = {
            "method": draw(st.sampled_from(["POST", "GET", "post"])),
            "uri": draw(
                st.sampled_from(
                    [
                        "https://api.openai.com/v1/chat/completions",
                        "https://x.test/v1beta/m:streamGenerateContent?key=k",
                    ]
                )
            ),
            "body": draw(st.none() | JSON_BODY.map(lambda b: b.decode("utf-8", "replace"))),
            "headers": {"Content-Type": ["application/json"], "authorization": ["Bearer sk-x"]},
        }
        response = {
            "status": {"code": draw(st.integers(100, 599)), "message": "OK"},
            "headers": headers,
            "body": {"string": body},
        }
        interactions.append({"request": request, "response": response})
    return {"interactions": interactions, "version": 1}


def _self_referential() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


HOSTILE_VALUES: list[Any] = [
    *(None, 0, -1, 10**30, 1.5, math.inf, -math.inf, math.nan, "", "x", b"\xff\x00", [], {}),
    *([1, "a"], {"a": [1]}, {"string": 7}, {"code": "x"}, {"parsed_body": {"a": [1]}}, {1, 2}),
    *(datetime(2001, 12, 14), True, "\ud800", "http://[::1/x", _self_referential()),
    *(json.loads(nested(150).decode()), {"a": json.loads(nested(100).decode())}),
]


def payloads(marker: Path) -> list[str]:
    """YAML values that would run code (create ``marker``) under an unsafe loader."""
    shell = f"touch {marker}"
    return [
        f'!!python/object/apply:os.system ["{shell}"]',
        f'!!python/object/apply:subprocess.call [["touch", "{marker}"]]',
        f'!!python/object/new:os.system ["{shell}"]',
        f'!!python/object/apply:builtins.open ["{marker}", "w"]',
        f'!<tag:yaml.org,2002:python/object/apply:os.system> ["{shell}"]',
        f'!!python/object:os.system {{"x": "{shell}"}}',
        "!!python/name:os.system",
        "!!python/module:os",
        "!!python/tuple [1, 2]",
        "!!python/object/apply:builtins.iter {args: [5]}",
        "!!python/object/new:_io.BytesIO {state: [!!binary aGk=]}",
        "!!python/object/new:_io.BytesIO {state: [5]}",
        "!!python/str x",
        "!!binary '!!!'",
        "!!binary aGk",
        "!!int x",
        "!!float x",
        "!!timestamp x",
        "!!set {a, b}",
        "!!omap [a: 1]",
        "&loop [*loop]",
        "*undefined",
        "{<<: 5}",
        nested(5000).decode(),
        "{a: " * 3000 + "1" + "}" * 3000,
    ]


@st.composite
def broken_vcr_files(draw: st.DrawFn, marker: Path) -> tuple[str, bytes]:
    data = draw(vcr_cassettes())
    as_json = draw(st.booleans())
    if draw(st.integers(0, 2)) > 0:  # a value of the wrong type or shape, anywhere
        paths = _paths(data)
        if paths:
            new = draw(st.sampled_from([_DELETE, *HOSTILE_VALUES]))
            _set(data, draw(st.sampled_from(paths)), new)
    text = ""
    if as_json:
        try:
            text = json.dumps(data, default=str)
        except ValueError:  # a self-referential value: YAML can hold it
            as_json = False
    if not as_json:
        text = yaml.safe_dump(data, allow_unicode=draw(st.booleans()))
    if not as_json and draw(st.booleans()):  # a tag in place of a value
        lines = text.split("\n")
        values = [
            i for i, line in enumerate(lines) if ": " in line or line.lstrip().startswith("- ")
        ]
        if values:
            i = draw(st.sampled_from(values))
            head = (
                lines[i].split(": ", 1)[0] + ": "
                if ": " in lines[i]
                else lines[i][: lines[i].index("- ") + 2]
            )
            lines[i] = head + draw(st.sampled_from(payloads(marker)))
        if draw(st.booleans()):
            lines = ["%TAG !py! tag:yaml.org,2002:python/", "---", *lines]
            lines.append(f'extra: !py!object/apply:os.system ["touch {marker}"]')
        text = "\n".join(lines)
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 3)) == 0:
        raw = draw(_mutated(raw))
    return (".json" if as_json else ".yaml"), raw


def import_or_refuse(src: Path, dest: Path) -> Cassette | None:
    """`import_vcr`, asserting that a refusal is a `CassetteError` naming ``src`` that leaves
    no output, and that an import writes a file that loads."""
    dest.unlink(missing_ok=True)
    try:
        cassette = streamtest.import_vcr(src, dest)
    except streamtest.CassetteError as exc:
        assert str(src) in str(exc)
        assert not dest.exists()
        return None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the point: name whatever else escapes
        raise AssertionError(
            f"import_vcr let {type(exc).__module__}.{type(exc).__qualname__} escape: {exc!r}"
        ) from exc
    assert streamtest.load_cassette(dest).interactions == cassette.interactions
    return cassette


@FUZZ
@given(data=st.data())
def test_a_broken_vcr_cassette_imports_or_raises_cassette_error(
    data: st.DataObject, workdir: Path
) -> None:
    marker = workdir / "PLANTED"
    suffix, raw = data.draw(broken_vcr_files(marker))
    src = workdir / f"vcr{suffix}"
    src.write_bytes(raw)
    import_or_refuse(src, workdir / "imported.jsonl")
    assert not marker.exists(), "a command planted in the cassette ran"


def _vcr_yaml(
    *,
    status: str = "200",
    headers: str = f"{{Content-Type: [{SSE}]}}",
    request_body: str = "'{}'",
    body: str = '"data: 1\\n\\n"',
    parsed_body: str | None = None,
) -> str:
    """A one-interaction vcrpy YAML cassette; each argument is the YAML text of that value."""
    parsed = "" if parsed_body is None else f"    parsed_body: {parsed_body}\n"
    return (
        "interactions:\n- request:\n    method: POST\n"
        "    uri: https://api.openai.com/v1/chat/completions\n"
        f"    body: {request_body}\n    headers: {{}}\n{parsed}"
        f"  response:\n    status: {{code: {status}, message: OK}}\n    headers: {headers}\n"
        f"    body: {{string: {body}}}\nversion: 1\n"
    )


def _vcr_json(path: tuple[Any, ...], value: Any) -> str:
    """A one-interaction vcrpy JSON cassette with the value at ``path`` replaced."""
    interaction: dict[str, Any] = {
        "request": {
            "method": "POST",
            "uri": "https://api.openai.com/v1/chat/completions",
            "body": "{}",
            "headers": {"Content-Type": ["application/json"]},
        },
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"Content-Type": [SSE]},
            "body": {"string": "data: 1\n\n"},
        },
    }
    _set(interaction, path, value)
    return json.dumps({"interactions": [interaction], "version": 1})


CIRCULAR = "interactions:\n- request: {method: POST, uri: 'http://x/', body: &b [*b]}\n" + (
    "  response: {status: {code: 200}, body: {string: ''}}\n"
)
DEEP = "[" * 5000 + "]" * 5000  # within what the YAML loader builds, beyond what json.dumps can
AT_BODY, AT_REQUEST_BODY = ("response", "body", "string"), ("request", "body")


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        pytest.param(".json", _vcr_json(AT_BODY, 7), id="body-string-int"),
        pytest.param(".json", _vcr_json(AT_BODY, ["a"]), id="body-string-list"),
        pytest.param(".json", _vcr_json(AT_BODY, {"a": 1}), id="body-string-dict"),
        pytest.param(
            ".yaml", _vcr_yaml(body="2001-12-14t21:59:43.10-05:00"), id="body-string-date"
        ),
        pytest.param(".json", _vcr_json(("response", "status", "code"), 1e400), id="status-inf"),
        pytest.param(".yaml", _vcr_yaml(status=".inf"), id="status-inf-yaml"),
        pytest.param(".json", _vcr_json(("request", "uri"), "http://[::1/v1"), id="uri-bad-ipv6"),
        pytest.param(".json", _vcr_json(AT_REQUEST_BODY, "\ud800"), id="surrogate-request-body"),
        pytest.param(".json", _vcr_json(AT_BODY, "\ud800"), id="surrogate-response-body"),
        pytest.param(".json", _vcr_json(("request", "uri"), "http://x/\ud800"), id="surrogate-uri"),
        pytest.param(".json", _vcr_json(("request", "method"), "P\ud800"), id="surrogate-method"),
        pytest.param(
            ".json", _vcr_json(("request", "headers"), {"x": ["\udfff"]}), id="surrogate-header"
        ),
        pytest.param(
            ".json",
            _vcr_json(("request", "headers"), {"\udfff": ["x"]}),
            id="surrogate-header-name",
        ),
        pytest.param(".yaml", CIRCULAR, id="circular-request-body"),
        pytest.param(".yaml", _vcr_yaml(request_body=DEEP), id="deep-request-body"),
        pytest.param(".yaml", _vcr_yaml(headers=f"{{x: {DEEP}}}"), id="deep-header"),
        pytest.param(".yaml", _vcr_yaml(parsed_body=DEEP), id="deep-parsed-body"),
        pytest.param(".json", '{"interactions": ' + DEEP + "}", id="deep-json-file"),
        pytest.param(".yaml", "interactions: 7", id="interactions-int"),
        pytest.param(".yaml", "- 1\n- 2", id="not-a-mapping"),
        pytest.param(".yaml", "", id="empty"),
        pytest.param(".yaml", "\ufeff" + _vcr_yaml(), id="bom"),
        pytest.param(".yaml", _vcr_yaml(body="!!binary '!!!'"), id="binary-invalid-base64"),
        pytest.param(".yaml", _vcr_yaml(status="1" + "0" * 5000), id="status-5000-digits"),
    ],
)
def test_hostile_vcr_values_raise_cassette_error(suffix: str, text: str, workdir: Path) -> None:
    src = workdir / f"hostile{suffix}"
    src.write_text(text, encoding="utf-8", errors="surrogatepass")
    import_or_refuse(src, workdir / "hostile-out.jsonl")


@pytest.mark.parametrize(
    "index", range(len(payloads(Path("M")))), ids=[p[:32] for p in payloads(Path("M"))]
)
def test_planted_yaml_tags_never_run(index: int, workdir: Path) -> None:
    marker = workdir / f"PLANTED-{index}"
    src = workdir / "planted.yaml"
    payload = payloads(marker)[index]
    for text in (_vcr_yaml(body=payload), _vcr_yaml(request_body=payload), payload):
        src.write_text(text, encoding="utf-8")
        import_or_refuse(src, workdir / "planted-out.jsonl")
        assert not marker.exists(), f"{payload} ran"


# ---------------------------------------------------------------------------------------------
# The vcrpy importer, in a child process bounded in memory and time

_CHILD = """
import json, resource, sys, time
import streamtest, vcr.serializers.yamlserializer, yaml
src, dest, budget, unsafe = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
if unsafe:  # vcrpy < 8.2.1 read cassettes with yaml.load(..., Loader=CLoader)
    vcr.serializers.yamlserializer.deserialize = lambda s: yaml.load(s, Loader=yaml.CLoader)
size = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize:"))
limit = size * 1024 + budget
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
start = time.perf_counter()
try:
    streamtest.import_vcr(src, dest)
    outcome = {"outcome": "imported"}
except streamtest.CassetteError as exc:
    outcome = {"outcome": "CassetteError", "message": str(exc)[:300]}
except BaseException as exc:
    outcome = {"outcome": type(exc).__name__, "message": repr(exc)[:300]}
outcome["seconds"] = round(time.perf_counter() - start, 2)
print(json.dumps(outcome))
"""


def import_in_child(src: Path, *, unsafe_loader: bool = False) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[2]
    command = [
        sys.executable,
        "-c",
        _CHILD,
        str(src),
        str(src.with_suffix(".jsonl")),
        str(BUDGET),
        "1" if unsafe_loader else "0",
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=root)
    except subprocess.TimeoutExpired:
        return {"outcome": f"no answer within {TIMEOUT} s (killed)"}
    if done.returncode != 0:
        return {
            "outcome": f"child died with status {done.returncode}",
            "stderr": done.stderr[-500:],
        }
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# Ten anchors, each a list of ten aliases of the one before: 10**10 leaves when expanded.
LAUGHS = "lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 10)}]\n" for n in range(1, 10)
)
BOMB = "*lol9"


def _gzip_bomb() -> str:
    import base64

    member = gzip.compress(b"\0" * (16 << 20), compresslevel=9)  # 16 MiB in ~16 KiB
    body = gzip.compress(b"data: 1\n\n") + member * 128  # then 2 GiB of zeros
    return _vcr_yaml(
        headers=f"{{Content-Type: [{SSE}], Content-Encoding: [gzip]}}",
        body="!!binary " + base64.b64encode(body).decode(),
    )


def _large_binary() -> str:
    import base64

    body = base64.b64encode(os.urandom(8 << 20)).decode()
    return _vcr_yaml(headers="{Content-Type: [application/octet-stream]}", body="!!binary " + body)


ISOLATED: list[Any] = [
    pytest.param(lambda: LAUGHS + _vcr_yaml(body=BOMB), id="laughs-response-body"),
    pytest.param(lambda: LAUGHS + _vcr_yaml(request_body=BOMB), id="laughs-request-body"),
    pytest.param(lambda: LAUGHS + _vcr_yaml(headers=f"{{x: {BOMB}}}"), id="laughs-header"),
    pytest.param(lambda: LAUGHS + _vcr_yaml(status=BOMB), id="laughs-status"),
    pytest.param(lambda: LAUGHS + _vcr_yaml(parsed_body=BOMB), id="laughs-parsed-body"),
    pytest.param(lambda: LAUGHS + _vcr_yaml(), id="laughs-unused"),
    pytest.param(lambda: _vcr_yaml(body="[" * 100_000 + "]" * 100_000), id="deep-flow-nesting"),
    pytest.param(lambda: "x: " + "[" * 100_000, id="deep-flow-nesting-unclosed"),
    pytest.param(_gzip_bomb, id="gzip-bomb-2GiB"),
    pytest.param(_large_binary, id="binary-8MiB"),
]


LINUX = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="the child measures itself in /proc (Linux)"
)


@LINUX
@pytest.mark.parametrize("make", ISOLATED)
def test_hostile_yaml_is_refused_or_imported_within_memory_and_time(
    make: Callable[[], str], tmp_path: Path
) -> None:
    src = tmp_path / "hostile.yaml"
    src.write_text(make(), encoding="utf-8")
    result = import_in_child(src)
    assert result["outcome"] in ("imported", "CassetteError"), result


@LINUX
def test_planted_command_never_runs_even_with_an_unsafe_vcrpy_loader(tmp_path: Path) -> None:
    """pyproject allows vcrpy>=7; before 8.2.1 vcrpy read YAML with ``yaml.CLoader``, which runs
    ``!!python/object/apply``. streamtest must not depend on that fix."""
    marker = tmp_path / "PLANTED"
    src = tmp_path / "planted.yaml"
    src.write_text(_vcr_yaml(body=payloads(marker)[0]), encoding="utf-8")
    result = import_in_child(src, unsafe_loader=True)
    assert not marker.exists(), f"the command planted in the cassette ran ({result})"
    assert result["outcome"] == "CassetteError", result


UNSAFE = re.compile(
    r"^\s*(import|from)\s+(pickle|marshal|shelve|dill|cloudpickle)\b"  # object deserializers
    r"|\b(unsafe_load|full_load|FullLoader|UnsafeLoader|CLoader)\b|\byaml\.Loader\b"  # YAML
    r"|(?<![\w.])(eval|exec)\("
)


def test_no_pickle_unsafe_yaml_or_eval_in_the_package() -> None:
    """No code path that could run code from a file: no pickle-like deserializer, no unsafe
    YAML loader, no eval/exec (the planted-tag tests above check the YAML loader in use)."""
    root = Path(streamtest.__file__).parent
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if UNSAFE.search(line)
    ]
    assert found == []
