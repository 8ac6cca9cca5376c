"""AWS event-stream (``application/vnd.amazon.eventstream``), decoded incrementally.

Bedrock's ``converse-stream`` and ``invoke-with-response-stream`` answer with binary frames::

    total length (u32 BE) | headers length (u32 BE) | prelude CRC32 (of the 8 bytes before)
    headers | payload | message CRC32 (of everything before it)

A header is a name (u8 length, then bytes), a type byte and a value (0 true, 1 false, 2 byte,
3 short, 4 int, 5 long, 6 bytes with a u16 length, 7 string with a u16 length, 8 timestamp in
milliseconds, 9 UUID). Both CRCs and all lengths are checked; a mismatch is a `FramingError`
naming the frame's byte offset, because a corrupt frame means the recording is wrong.

Header values become text: booleans ``true``/``false``, integers in decimal, bytes in base64,
timestamps in ISO 8601 UTC with milliseconds, UUIDs in their canonical form.
"""

from __future__ import annotations

import base64
import struct
import uuid
import zlib
from datetime import UTC, datetime, timedelta

from .event import Event, FramingError

_PRELUDE = struct.Struct(">III")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INTEGERS = {2: struct.Struct(">b"), 3: struct.Struct(">h"), 4: struct.Struct(">i")}
_LONG = struct.Struct(">q")
_U16 = struct.Struct(">H")
_MINIMUM_FRAME = _PRELUDE.size + 4


class EventStreamDecoder:
    """Incremental AWS event-stream decoder: one event per frame."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._base = 0  # stream offset of self._buffer[0]

    def decode(self, data: bytes) -> list[Event]:
        if not data:
            return []
        self._buffer += data
        events: list[Event] = []
        pos = 0
        while (frame := self._frame(pos)) is not None:
            events.append(frame)
            pos = frame.end - self._base
        del self._buffer[:pos]
        self._base += pos
        return events

    def flush(self) -> list[Event]:
        if self._buffer:
            raise FramingError(
                f"The AWS event-stream ended inside the frame that starts at byte {self._base} "
                f"({len(self._buffer)} bytes of it arrived)."
            )
        return []

    def _frame(self, pos: int) -> Event | None:
        """The complete frame at ``pos`` in the buffer as an event, or None if it is partial."""
        buffer = self._buffer
        offset = self._base + pos
        if len(buffer) - pos < _PRELUDE.size:
            return None
        total, headers_length, prelude_crc = _PRELUDE.unpack_from(buffer, pos)
        if zlib.crc32(buffer[pos : pos + 8]) != prelude_crc:
            raise FramingError(
                f"The AWS event-stream frame at byte {offset} has a bad prelude CRC32."
            )
        if total < _MINIMUM_FRAME or headers_length > total - _MINIMUM_FRAME:
            raise FramingError(
                f"The AWS event-stream frame at byte {offset} has impossible lengths: "
                f"total {total}, headers {headers_length}."
            )
        if len(buffer) - pos < total:
            return None
        frame = bytes(buffer[pos : pos + total])
        if zlib.crc32(frame[:-4]) != int.from_bytes(frame[-4:], "big"):
            raise FramingError(f"The AWS event-stream frame at byte {offset} has a bad CRC32.")
        start = _PRELUDE.size
        headers = _headers(frame[start : start + headers_length], offset)
        payload = frame[start + headers_length : -4]
        names = dict(headers)
        kind = names.get(":event-type") or names.get(":exception-type") or names.get(":error-code")
        return Event(
            data=payload.decode("utf-8", errors="replace"),
            event=kind,
            headers=headers,
            end=offset + total,
        )


def _headers(raw: bytes, offset: int) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    pos = 0
    try:
        while pos < len(raw):
            size = raw[pos]
            name = raw[pos + 1 : pos + 1 + size].decode("utf-8")
            pos += 1 + size
            kind = raw[pos]
            pos += 1
            value, pos = _value(raw, pos, kind)
            headers.append((name, value))
    except (IndexError, ValueError, struct.error) as exc:
        raise FramingError(
            f"The AWS event-stream frame at byte {offset} has malformed headers: {exc}."
        ) from exc
    return tuple(headers)


def _value(raw: bytes, pos: int, kind: int) -> tuple[str, int]:
    """Header value of type ``kind`` at ``pos`` rendered as text, and the position after it."""
    if kind in (0, 1):
        return ("true" if kind == 0 else "false"), pos
    if kind in _INTEGERS:
        number = _INTEGERS[kind]
        return str(number.unpack_from(raw, pos)[0]), pos + number.size
    if kind in (5, 8):
        (number,) = _LONG.unpack_from(raw, pos)
        if kind == 5:
            return str(number), pos + 8
        moment = _EPOCH + timedelta(milliseconds=number)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"), pos + 8
    if kind in (6, 7):
        (size,) = _U16.unpack_from(raw, pos)
        value = raw[pos + 2 : pos + 2 + size]
        if len(value) != size:
            raise ValueError(f"a {size}-byte value is cut short")
        text = value.decode("utf-8") if kind == 7 else base64.b64encode(value).decode("ascii")
        return text, pos + 2 + size
    if kind == 9:
        value = raw[pos : pos + 16]
        if len(value) != 16:
            raise ValueError("a UUID is cut short")
        return str(uuid.UUID(bytes=value)), pos + 16
    raise ValueError(f"unknown header value type {kind}")
