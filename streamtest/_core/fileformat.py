"""Chunk cassette format v1: JSON Lines, one record per line (see docs/cassette-format.md).

    {"streamtest":1,"recorded_with":"streamtest 0.1.0"}           header, first line
    {"request":{...},"response":{"status":200,"t":0.08,...}}       an interaction begins
    {"t":0.081234,"text":"data: {...}\\n\\n"}                       a chunk that is valid UTF-8
    {"t":0.092001,"b64":"8J+Y"}                                     any other chunk, base64
    {"end":"completed","chunks":2}                                  it ends: completed/failed/closed
    {"stream":{"name":"answer","key":["q",1]}}                      an object stream begins
    {"t":0.012345,"item":{"text":"Hel"}}                           one item, as encoded JSON
    {"end":"completed","items":1}                                   it ends, like an interaction

Reading decodes each line into one typed msgspec Struct (fast, and unknown keys are errors) and
checks the order of records, so a truncated or hand-broken file is reported with its line.
Writing is atomic: a temporary file in the same folder, fsynced, then renamed over the target.
"""

from __future__ import annotations

import gc
import json
import os
import secrets
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import msgspec

from .errors import CassetteError
from .model import (
    Cassette,
    Chunk,
    Interaction,
    Item,
    ObjectStream,
    Request,
    Response,
    StreamError,
    parse_json,
)

FORMAT_VERSION = 1
_FIX_RERECORD = (
    "Restore it from version control, or delete it and record it again "
    '(record_mode="all" or --streamtest-record-mode=all).'
)


class _RequestRecord(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    method: str
    url: str
    headers: list[tuple[str, str]] = []
    json: Any = msgspec.UNSET
    text: str | None = None
    b64: bytes | None = None


class _ResponseRecord(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    status: int
    t: float = 0.0
    headers: list[tuple[str, str]] = []
    timing: str | None = None  # "unknown", or absent when the offsets were measured


class _StreamRecord(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    name: str
    key: Any = None


class _Line(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """Every record kind shares this one shape, so each line decodes in a single typed pass."""

    streamtest: int | None = None
    recorded_with: str | None = None
    request: _RequestRecord | None = None
    response: _ResponseRecord | None = None
    t: float | None = None
    text: str | None = None
    b64: bytes | None = None
    end: str | None = None
    chunks: int | None = None
    items: int | None = None
    error: StreamError | None = None
    stream: _StreamRecord | None = None
    item: Any = msgspec.UNSET  # JSON null is a legitimate item, so absence is UNSET


_decoder = msgspec.json.Decoder(_Line)
_encoder = msgspec.json.Encoder()
_lines_encoder = msgspec.json.Encoder()  # runs of chunk and item lines, with encode_lines


def _micro(t: float) -> float:
    return round(t, 6)


def _request_record(request: Request) -> _RequestRecord:
    record = _RequestRecord(request.method, request.url, list(request.headers))
    parsed = parse_json(request.body)
    try:
        strict = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        same = strict.encode() == request.body
    except (ValueError, UnicodeEncodeError):  # NaN/Infinity, lone surrogates: keep verbatim
        same = False
    # Readable JSON only when loading gives back the same bytes; any other body (pretty-printed,
    # imported from vcrpy, ...) is kept verbatim as text, so every body round-trips exactly.
    if parsed is not None and same:
        record.json = parsed
    elif request.body:
        try:
            record.text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            record.b64 = request.body
    return record


def _compact_json(value: Any) -> bytes:
    """The compact form httpx and the openai/anthropic SDKs send."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _request_body(record: _RequestRecord) -> bytes:
    if record.json is not msgspec.UNSET:
        return _compact_json(record.json)
    if record.text is not None:
        return record.text.encode("utf-8")
    return record.b64 or b""


class _TextChunk(msgspec.Struct):
    """A timed UTF-8 chunk line: encodes exactly as ``_Line(t=..., text=...)``, built faster."""

    t: float
    text: str


_BATCH = 4096  # lines encoded per piece: a large cassette is written without a second copy


def _chunk_line(chunk: Chunk, timed: bool) -> _Line:
    t = _micro(chunk.t) if timed else None  # unknown timing is left out, never invented
    try:
        return _Line(t=t, text=chunk.data.decode("utf-8"))
    except UnicodeDecodeError:
        return _Line(t=t, b64=chunk.data)


def _chunk_lines(chunks: tuple[Chunk, ...], timed: bool) -> list[Any]:
    if timed:
        try:  # the common case, every chunk timed UTF-8 text: one comprehension, no calls
            return [_TextChunk(round(c.t, 6), c.data.decode("utf-8")) for c in chunks]
        except UnicodeDecodeError:
            pass
    return [_chunk_line(chunk, timed) for chunk in chunks]


def _line(record: _Line) -> bytes:
    return _encoder.encode(record) + b"\n"


def _pieces(cassette: Cassette, recorded_with: str) -> Iterator[bytes]:
    """The cassette as format v1 JSON Lines, in pieces: one line, or up to `_BATCH` chunk or
    item lines."""
    encode = _lines_encoder.encode_lines
    yield _line(_Line(streamtest=FORMAT_VERSION, recorded_with=recorded_with))
    for interaction in cassette.interactions:
        response = interaction.response
        head = _ResponseRecord(response.status, _micro(response.t), list(response.headers))
        if not response.timed:
            head.t, head.timing = 0.0, "unknown"
        yield _line(_Line(request=_request_record(interaction.request), response=head))
        chunks = response.chunks
        for start in range(0, len(chunks), _BATCH):
            yield encode(_chunk_lines(chunks[start : start + _BATCH], response.timed))
        yield _line(_Line(end=response.end.value, chunks=len(chunks), error=response.error))
    for stream in cassette.streams:
        yield _line(_Line(stream=_StreamRecord(stream.name, stream.key)))
        items = stream.items
        for start in range(0, len(items), _BATCH):
            batch = items[start : start + _BATCH]
            yield encode([_Line(t=_micro(item.t), item=item.value) for item in batch])
        yield _line(_Line(end=stream.end.value, items=len(items), error=stream.error))


def dumps(cassette: Cassette, *, recorded_with: str) -> bytes:
    """The cassette encoded as format v1 JSON Lines."""
    return b"".join(_pieces(cassette, recorded_with))


def save(cassette: Cassette, *, recorded_with: str) -> None:
    """Write ``cassette`` atomically: readers see the old file or the new one, never half.

    The file is encoded piece by piece into the temporary file, so a cassette holding a large
    stream is never held in memory a second time as one ``bytes``. A piece that fails to encode
    leaves no file behind (the temporary file is removed; the folder may have been created).
    """
    pieces = _pieces(cassette, recorded_with)
    first = next(pieces)
    path = cassette.path
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkstemp: it creates the file 0o600, and the rename would carry that over to
    # the cassette. os.open with 0o666 gets the permissions of any file written with open().
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(first)
            for piece in pieces:
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load(path: Path | str) -> Cassette:
    """Read the cassette at ``path``; raise `CassetteError` naming the line and what is wrong."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CassetteError(path, f"it cannot be read ({exc.strerror or exc}).") from exc
    return loads(data, path=path)


def loads(data: bytes, *, path: Path) -> Cassette:
    if not data.strip():
        raise CassetteError(path, "the file is empty.", line=1, fix=_FIX_RERECORD)
    # One decoder call for the whole file is ~3x faster than one call per line; only when it
    # fails are lines decoded one by one, to name the bad line. The cyclic garbage collector is
    # paused meanwhile: the load allocates ~2 objects per chunk and none of them form cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        line_count = data.count(b"\n") + (not data.endswith(b"\n"))
        try:
            records = _decoder.decode_lines(data)
        except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError):
            records = []
        # decode_lines skips blank lines and accepts two records on one line; either would shift
        # every later line number, so a count that is off means: decode line by line instead.
        if len(records) != line_count:
            lines = data.split(b"\n")[:line_count]
            records = [_decode(path, number, raw) for number, raw in enumerate(lines, start=1)]
        reader = _Reader(path)
        reader.feed_all(records)
        return reader.finish(len(records))
    finally:
        if gc_was_enabled:
            gc.enable()


def _decode(path: Path, number: int, raw: bytes) -> _Line:
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        if number == 1:
            _check_header_version(path, raw)
        raise CassetteError(
            path, f"the record is not of format v1 ({exc}).", line=number, fix=_FIX_RERECORD
        ) from exc
    except msgspec.DecodeError as exc:
        what = "it is empty" if not raw.strip() else f"it is not valid JSON ({exc})"
        raise CassetteError(
            path, f"the line cannot be read: {what}.", line=number, fix=_FIX_RERECORD
        ) from exc
    except UnicodeDecodeError as exc:
        raise CassetteError(
            path, f"the line is not valid UTF-8 ({exc}).", line=number, fix=_FIX_RERECORD
        ) from exc
    except RecursionError as exc:
        raise CassetteError(
            path, "the line nests its values too deeply to be read.", line=number, fix=_FIX_RERECORD
        ) from exc


def _check_header_version(path: Path, raw: bytes) -> None:
    """A header from a newer streamtest may carry fields v1 does not know: name the version."""
    try:
        header = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return
    if isinstance(header, dict) and "streamtest" in header:
        _check_version(path, header["streamtest"])


def _check_version(path: Path, version: object) -> None:
    if version != FORMAT_VERSION:
        raise CassetteError(
            path,
            f"its format version is {version!r}, and this streamtest reads version "
            f"{FORMAT_VERSION} only.",
            line=1,
            fix="Upgrade streamtest to read it, or record the cassette again with this version.",
        )


class _Reader:
    """Checks the record order while building the interactions and object streams."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.interactions: list[Interaction] = []
        self.streams: list[ObjectStream] = []
        self.request: Request | None = None
        self.head: _ResponseRecord | None = None
        self.stream: _StreamRecord | None = None
        self.start_line = 0  # where the open interaction or object stream began
        self.chunks: list[Chunk] = []
        self.items: list[Item] = []

    def fail(self, number: int, what: str) -> CassetteError:
        return CassetteError(self.path, what, line=number, fix=_FIX_RERECORD)

    def feed_all(self, records: list[_Line]) -> None:
        """`feed` every record; runs of plain chunk lines take a fast path with the same checks."""
        number, count = 0, len(records)
        while number < count:
            line = records[number]
            number += 1
            self.feed(number, line)
            if self.head is not None and self.head.timing is None:
                number = self._timed_text_chunks(records, number)

    def _timed_text_chunks(self, records: list[_Line], index: int) -> int:
        """Inside an interaction with timing, take the chunk lines from ``records[index]`` on
        that have ``t`` and ``text`` and nothing `feed` would treat first (``streamtest``,
        ``request``, ``item``) or refuse (``b64`` beside ``text``): what `_chunk` accepts,
        built the same way. Returns the index of the first line left to `feed`."""
        chunks, unset = self.chunks, msgspec.UNSET
        append, before = chunks.append, len(chunks)
        for line in islice(records, index, None):
            t, text = line.t, line.text
            if (
                t is None
                or text is None
                or line.b64 is not None
                or line.streamtest is not None
                or line.request is not None
                or line.item is not unset
            ):
                break
            append(Chunk(t or 0.0, text.encode()))  # `or`, as in `_chunk`: -0.0 loads as 0.0
        return index + len(chunks) - before

    def feed(self, number: int, line: _Line) -> None:
        if number == 1:
            if line.streamtest is None:
                raise self.fail(1, 'the first line is not a streamtest header ({"streamtest": 1}).')
            _check_version(self.path, line.streamtest)
        elif line.streamtest is not None:
            raise self.fail(number, "a second header line appears in the middle of the file.")
        elif line.request is not None:
            self._begin(number, line)
        elif line.item is not msgspec.UNSET:
            self._item(number, line)
        elif line.t is not None or line.text is not None or line.b64 is not None:
            self._chunk(number, line)
        elif line.stream is not None:
            self._begin_stream(number, line.stream)
        elif line.end is not None:
            self._end(number, line)
        else:
            raise self.fail(
                number,
                "the record is neither an interaction, a chunk, an object stream, an item nor an "
                "end.",
            )

    def _check_nothing_open(self, number: int, what: str) -> None:
        if self.request is None and self.stream is None:
            return
        open_one = "interaction" if self.request is not None else "object stream"
        one = "the one" if open_one == what else f"the {open_one}"
        raise self.fail(
            number,
            f"a new {what} begins before {one} on line {self.start_line} has its end record.",
        )

    def _begin_stream(self, number: int, record: _StreamRecord) -> None:
        self._check_nothing_open(number, "object stream")
        self.stream, self.start_line, self.items = record, number, []

    def _item(self, number: int, line: _Line) -> None:
        if self.request is not None:
            raise self.fail(
                number,
                f"an item appears inside the interaction that begins on line {self.start_line}; "
                "items belong to object streams.",
            )
        if self.stream is None:
            raise self.fail(number, "an item appears outside an object stream.")
        if line.t is None or line.text is not None or line.b64 is not None:
            raise self.fail(number, 'an item record holds exactly "t" and "item".')
        self.items.append(Item(line.t, line.item))

    def _begin(self, number: int, line: _Line) -> None:
        self._check_nothing_open(number, "interaction")
        if line.response is None:
            raise self.fail(number, "the interaction has a request but no response.")
        if line.response.timing not in (None, "unknown"):
            raise self.fail(
                number, f'"timing" is {line.response.timing!r}; the only value is "unknown".'
            )
        assert line.request is not None
        self.request = Request(
            line.request.method,
            line.request.url,
            tuple(line.request.headers),
            _request_body(line.request),
        )
        self.head, self.start_line, self.chunks = line.response, number, []

    def _chunk(self, number: int, line: _Line) -> None:
        if self.request is None or self.head is None:
            if self.stream is not None:
                raise self.fail(
                    number,
                    "a chunk appears inside the object stream that begins on line "
                    f"{self.start_line}; chunks belong to interactions.",
                )
            raise self.fail(number, "a chunk appears outside an interaction.")
        if (line.text is None) == (line.b64 is None):
            raise self.fail(number, 'a chunk needs exactly one of "text" or "b64".')
        if (line.t is None) != (self.head.timing == "unknown"):
            raise self.fail(
                number,
                'a chunk has "t" exactly when its interaction\'s timing is known (the interaction '
                f"on line {self.start_line} {'says' if self.head.timing else 'does not say'} "
                '"timing": "unknown").',
            )
        data = line.text.encode("utf-8") if line.text is not None else line.b64
        assert data is not None
        self.chunks.append(Chunk(line.t or 0.0, data))

    def _check_end(self, number: int, line: _Line) -> None:
        if line.end not in ("completed", "failed", "closed"):
            raise self.fail(number, f'"end" is {line.end!r}; expected completed, failed or closed.')
        if (line.end == "failed") != (line.error is not None):
            raise self.fail(number, 'an "error" belongs exactly to an end that is "failed".')

    def _end(self, number: int, line: _Line) -> None:
        if self.stream is not None:
            self._end_stream(number, line, self.stream)
            return
        if self.request is None or self.head is None:
            raise self.fail(
                number, "an end record appears outside an interaction or an object stream."
            )
        if line.items is not None:
            raise self.fail(
                number, 'the end record of an interaction counts "chunks", not "items".'
            )
        self._check_end(number, line)
        if line.chunks != len(self.chunks):
            raise self.fail(
                number,
                f"the end record counts {line.chunks} chunks but the "
                f"interaction on line {self.start_line} has {len(self.chunks)}.",
            )
        response = Response(
            self.head.status,
            tuple(self.head.headers),
            tuple(self.chunks),
            line.error,
            line.end == "closed",
            self.head.t,
            self.head.timing != "unknown",
        )
        self.interactions.append(Interaction(self.request, response))
        self.request, self.head = None, None

    def _end_stream(self, number: int, line: _Line, record: _StreamRecord) -> None:
        if line.chunks is not None:
            raise self.fail(
                number, 'the end record of an object stream counts "items", not "chunks".'
            )
        self._check_end(number, line)
        if line.items != len(self.items):
            raise self.fail(
                number,
                f"the end record counts {line.items} items but the "
                f"object stream on line {self.start_line} has {len(self.items)}.",
            )
        stream = ObjectStream(
            record.name, tuple(self.items), record.key, line.error, line.end == "closed"
        )
        self.streams.append(stream)
        self.stream = None

    def finish(self, last_line: int) -> Cassette:
        what = "interaction" if self.request is not None else "object stream"
        if self.request is not None or self.stream is not None:
            raise self.fail(
                last_line,
                f"the file ends inside the {what} that begins on line {self.start_line}, "
                "which has no end record: it was cut short.",
            )
        return Cassette(self.path, self.interactions, streams=self.streams)
