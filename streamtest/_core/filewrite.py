"""Writing chunk cassettes: `dumps`, and `save` (atomic, the file encoded piece by piece)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import msgspec

from .filerecords import FORMAT_VERSION, Line, ResponseRecord, StreamRecord, TextChunk
from .filerecords import request_record as _request_record
from .model import Cassette, Chunk, Item

_encoder = msgspec.json.Encoder()
_lines_encoder = msgspec.json.Encoder()  # runs of chunk and item lines, with encode_lines
_PIECE = 1 << 20  # aim for pieces of about 1 MiB: large enough for speed, small beside a stream
_MAX_LINES = 4096
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")


def _coarse(offsets: list[float]) -> bool:
    """Whether ``round(t, 6)`` gives back every offset (offsets are stored to the microsecond).

    True of every offset of a loaded cassette, and found in one pass, where ``round`` (an exact
    decimal conversion, ~0.4 us) cost more than msgspec's whole encoding of a chunk line. msgspec
    writes a float ``t`` as digits that read back as ``t``; with at most 6 decimals those digits
    are a whole number of microseconds within half a unit in the last place of ``t``, so the
    microsecond nearest ``t`` reads back as ``t`` too, and that is what ``round(t, 6)`` returns.
    Any run of 7 digits (more decimals, or ``t`` of a million seconds or more) or an exponent
    means: round. The first offset is tried alone first, so fresh offsets skip the pass.
    """
    if not offsets or round(offsets[0], 6) != offsets[0]:
        return False
    written = _encoder.encode(offsets)
    return b"e" not in written and b"0000000" not in written.translate(_DIGITS_AS_ZERO)


def _chunk_line(t: float | None, chunk: Chunk) -> Line:
    try:
        return Line(t=t, text=chunk.data.decode("utf-8"))
    except UnicodeDecodeError:
        return Line(t=t, b64=chunk.data)


def _chunk_lines(chunks: tuple[Chunk, ...], *, timed: bool) -> list[Any]:
    if not timed:  # unknown timing is left out, never invented
        return [_chunk_line(None, chunk) for chunk in chunks]
    coarse = _coarse([chunk.t for chunk in chunks])
    try:  # the common case, every chunk UTF-8 text: one comprehension, no calls
        if coarse:
            return [TextChunk(c.t, c.data.decode()) for c in chunks]
        return [TextChunk(round(c.t, 6), c.data.decode()) for c in chunks]
    except UnicodeDecodeError:
        return [_chunk_line(c.t if coarse else round(c.t, 6), c) for c in chunks]


def _item_lines(items: tuple[Item, ...]) -> list[Line]:
    if _coarse([item.t for item in items]):
        return [Line(t=item.t, item=item.value) for item in items]
    return [Line(t=round(item.t, 6), item=item.value) for item in items]


def _line(record: Line) -> bytes:
    return _encoder.encode(record) + b"\n"


def _runs(records: tuple[Any, ...], lines: Callable[[Any], list[Any]]) -> Iterator[bytes]:
    """``records`` (chunks or items) encoded as lines by ``lines``, in pieces of about `_PIECE`
    bytes: the number of records per piece follows the size of the last piece."""
    count, start = 256, 0
    while start < len(records):
        piece = _lines_encoder.encode_lines(lines(records[start : start + count]))
        yield piece
        start += count
        count = max(16, min(_MAX_LINES, count * _PIECE // max(len(piece), 1)))


def _pieces(cassette: Cassette, recorded_with: str) -> Iterator[bytes]:
    """The cassette as format v1 JSON Lines, in pieces: one line, or a run of chunk or item
    lines."""
    yield _line(Line(streamtest=FORMAT_VERSION, recorded_with=recorded_with))
    for interaction in cassette.interactions:
        response = interaction.response
        headers = list(response.headers)
        if response.timed:
            head = ResponseRecord(response.status, round(response.t, 6), headers)
        else:  # no "t": msgspec leaves out a field holding its very default object
            head = ResponseRecord(response.status, headers=headers, timing="unknown")
        yield _line(Line(request=_request_record(interaction.request), response=head))
        yield from _runs(response.chunks, partial(_chunk_lines, timed=response.timed))
        chunk_count = len(response.chunks)
        yield _line(Line(end=response.end.value, chunks=chunk_count, error=response.error))
    for stream in cassette.streams:
        yield _line(Line(stream=StreamRecord(stream.name, stream.key)))
        yield from _runs(stream.items, _item_lines)
        yield _line(Line(end=stream.end.value, items=len(stream.items), error=stream.error))


def dumps(cassette: Cassette, *, recorded_with: str) -> bytes:
    """The cassette encoded as format v1 JSON Lines."""
    return b"".join(_pieces(cassette, recorded_with))


def save(cassette: Cassette, *, recorded_with: str) -> None:
    """Write ``cassette`` atomically: readers see the old file or the new one, never half.

    The file is encoded piece by piece into the temporary file, so a cassette holding a large
    stream is never held in memory a second time (``writelines`` lets go of each piece before
    the next is made). A piece that fails to encode leaves no file behind (the temporary file
    is removed; the folder may have been created).
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
            handle.writelines(pieces)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
