"""Reading chunk cassettes: `load` and `loads`, which check the order of records line by line."""

from __future__ import annotations

import gc
from itertools import islice
from pathlib import Path

import msgspec

from .errors import CassetteError
from .filerecords import (
    FIX_RERECORD,
    FORMAT_VERSION,
    Line,
    ResponseRecord,
    StreamRecord,
    request_body,
)
from .model import Cassette, Chunk, Interaction, Item, ObjectStream, Request, Response

MAX_OFFSET = 7 * 24 * 3600.0
"""The largest ``t`` a cassette may hold (seconds; 7 days): a realtime replay sleeps that long."""
_FIX_OFFSET = (
    f'Set "t" to the seconds since the request was sent (0 to {MAX_OFFSET:,.0f}), restore the '
    "file from version control, or delete it and record it again."
)

_decoder = msgspec.json.Decoder(Line)


def load(path: Path | str) -> Cassette:
    """Read the cassette at ``path``; raise `CassetteError` naming the line and what is wrong."""
    path = path if isinstance(path, Path) else Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CassetteError(path, f"it cannot be read ({exc.strerror or exc}).") from exc
    return loads(data, path=path)


def loads(data: bytes, *, path: Path) -> Cassette:
    if not data or data.isspace():  # not `data.strip()`: that copies the file
        raise CassetteError(path, "the file is empty.", line=1, fix=FIX_RERECORD)
    # One decoder call for the whole file is ~3x faster than one call per line; only when it
    # fails are lines decoded one by one, to name the bad line. The cyclic garbage collector is
    # paused meanwhile: the load allocates ~2 objects per chunk and none of them form cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        line_count = data.count(b"\n") + (not data.endswith(b"\n"))
        reader = _Reader(path)
        reader.feed_all(_lines(data, path, line_count))
        return reader.finish(line_count)
    finally:
        if gc_was_enabled:
            gc.enable()


def _lines(data: bytes, path: Path, line_count: int) -> list[Line]:
    """Every line of ``data`` decoded as a `Line`; a `CassetteError` names the first that is
    not one."""
    try:
        records = _decoder.decode_lines(data)
    except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError):
        records = []
    # decode_lines skips blank lines and accepts two records on one line; either would shift
    # every later line number, so a count that is off means: decode line by line instead.
    if len(records) != line_count:
        lines = data.split(b"\n")[:line_count]
        records = [_decode(path, number, raw) for number, raw in enumerate(lines, start=1)]
    return records


def _decode(path: Path, number: int, raw: bytes) -> Line:
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        if number == 1:
            _check_header_version(path, raw)
        raise CassetteError(
            path, f"the record is not of format v1 ({exc}).", line=number, fix=FIX_RERECORD
        ) from exc
    except msgspec.DecodeError as exc:
        what = "it is empty" if not raw.strip() else f"it is not valid JSON ({exc})"
        raise CassetteError(
            path, f"the line cannot be read: {what}.", line=number, fix=FIX_RERECORD
        ) from exc
    except UnicodeDecodeError as exc:
        raise CassetteError(
            path, f"the line is not valid UTF-8 ({exc}).", line=number, fix=FIX_RERECORD
        ) from exc
    except RecursionError as exc:
        raise CassetteError(
            path, "the line nests its values too deeply to be read.", line=number, fix=FIX_RERECORD
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
        self.head: ResponseRecord | None = None
        self.stream: StreamRecord | None = None
        self.start_line = 0  # where the open interaction or object stream began
        self.chunks: list[Chunk] = []
        self.items: list[Item] = []

    def fail(self, number: int, what: str, fix: str = FIX_RERECORD) -> CassetteError:
        return CassetteError(self.path, what, line=number, fix=fix)

    def check_offset(self, number: int, t: float, whose: str) -> None:
        """Refuse an offset a replay cannot wait for (JSON has no NaN or infinity, but a number
        like 1e300 reads as a float all the same)."""
        if not 0.0 <= t <= MAX_OFFSET:  # also refuses NaN, which compares false
            what = "negative" if t < 0 else "more than 7 days" if t > 0 else "not a number"
            raise self.fail(
                number,
                f'{whose} "t" is {t!r}, {what}: an offset is the number of seconds from sending '
                f"the request, from 0 to {MAX_OFFSET:,.0f} (7 days), and a realtime replay "
                "waits that long.",
                _FIX_OFFSET,
            )

    def feed_all(self, records: list[Line]) -> None:
        """`feed` every record; runs of plain chunk lines take a fast path with the same checks."""
        number, count = 0, len(records)
        while number < count:
            line = records[number]
            number += 1
            self.feed(number, line)
            if self.head is not None and self.head.timing is None:
                number = self._timed_text_chunks(records, number)

    def _timed_text_chunks(self, records: list[Line], index: int) -> int:
        """Inside an interaction with timing, take the chunk lines from ``records[index]`` on
        that have ``t`` (an offset `check_offset` accepts) and ``text`` and nothing `feed`
        would treat first (``streamtest``, ``request``, ``item``) or refuse (``b64`` beside
        ``text``): what `_chunk` accepts, built the same way. Returns the index of the first
        line left to `feed`."""
        chunks, unset, high = self.chunks, msgspec.UNSET, MAX_OFFSET
        append, before = chunks.append, len(chunks)
        for line in islice(records, index, None):
            t, text = line.t, line.text
            if (
                text is None
                or t is None
                or not 0.0 <= t <= high
                or line.b64 is not None
                or line.request is not None
                or line.item is not unset
                or line.streamtest is not None
            ):
                break
            append(Chunk(t or 0.0, text.encode()))  # `or`, as in `_chunk`: -0.0 loads as 0.0
        return index + len(chunks) - before

    def feed(self, number: int, line: Line) -> None:
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

    def _begin_stream(self, number: int, record: StreamRecord) -> None:
        self._check_nothing_open(number, "object stream")
        self.stream, self.start_line, self.items = record, number, []

    def _item(self, number: int, line: Line) -> None:
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
        self.check_offset(number, line.t, "the item's")
        self.items.append(Item(line.t, line.item))

    def _begin(self, number: int, line: Line) -> None:
        self._check_nothing_open(number, "interaction")
        if line.response is None:
            raise self.fail(number, "the interaction has a request but no response.")
        if line.response.timing not in (None, "unknown"):
            raise self.fail(
                number, f'"timing" is {line.response.timing!r}; the only value is "unknown".'
            )
        self.check_offset(number, line.response.t, "the response's")
        assert line.request is not None
        self.request = Request(
            line.request.method,
            line.request.url,
            tuple(line.request.headers),
            request_body(line.request),
        )
        self.head, self.start_line, self.chunks = line.response, number, []

    def _chunk(self, number: int, line: Line) -> None:
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
        if line.t is not None:
            self.check_offset(number, line.t, "the chunk's")
        data = line.text.encode("utf-8") if line.text is not None else line.b64
        assert data is not None
        self.chunks.append(Chunk(line.t or 0.0, data))

    def _check_end(self, number: int, line: Line) -> None:
        if line.end not in ("completed", "failed", "closed"):
            raise self.fail(number, f'"end" is {line.end!r}; expected completed, failed or closed.')
        if (line.end == "failed") != (line.error is not None):
            raise self.fail(number, 'an "error" belongs exactly to an end that is "failed".')

    def _end(self, number: int, line: Line) -> None:
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

    def _end_stream(self, number: int, line: Line, record: StreamRecord) -> None:
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
