"""Server-sent events, decoded incrementally as the WHATWG spec describes.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

Lines end in CRLF, LF or CR. Bytes are split into lines first and each complete line is decoded
as UTF-8 on its own, so a chunk boundary inside a multi-byte character changes nothing. A CR at
the very end of the bytes seen so far is held back until the next byte shows whether an LF
follows: that keeps every event, and its ``end`` offset, identical whatever the chunk boundaries.

Two deliberate departures from a browser's ``EventSource``, because streamtest records and
compares streams rather than driving an application: every block that has any line (a comment,
an unknown field) is an event, with ``data`` None when it had no data line; and a final block
with no blank line after it is still returned by ``flush()``. ``id`` is the block's own ``id:``
field, not the spec's persistent last-event-id.
"""

from __future__ import annotations

from .event import Event

_BOM = b"\xef\xbb\xbf"
_CR = 0x0D


class SSEDecoder:
    """Incremental ``text/event-stream`` decoder (see the module docstring for the rules)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._base = 0  # stream offset of self._buffer[0]
        self._scanned = 0  # self._buffer[:_scanned] holds no line ending
        self._first_line = True
        self._reset_block()

    def _reset_block(self) -> None:
        self._has_line = False
        self._data: list[str] = []
        self._comments: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None

    def decode(self, data: bytes) -> list[Event]:
        if not data:
            return []
        self._buffer += data
        return self._consume(final=False)

    def flush(self) -> list[Event]:
        events = self._consume(final=True)
        if self._has_line:
            events.append(self._dispatch(self._base))
        return events

    def _consume(self, *, final: bool) -> list[Event]:
        buffer = self._buffer
        limit = len(buffer)
        if not final and limit and buffer[-1] == _CR:
            limit -= 1  # this CR may be the first half of a CRLF split across chunks
        cut = max(
            buffer.rfind(b"\n", self._scanned, limit), buffer.rfind(b"\r", self._scanned, limit)
        )
        cut = len(buffer) if final else cut + 1
        if cut <= 0:
            self._scanned = limit
            return []
        events: list[Event] = []
        offset = self._base
        data = self._data
        for raw in bytes(buffer[:cut]).splitlines(keepends=True):
            offset += len(raw)
            line = raw.rstrip(b"\r\n")
            if self._first_line:
                self._first_line = False
                line = line.removeprefix(_BOM)
            if line.startswith(b"data:"):  # the common case, kept short
                self._has_line = True
                value = line[6:] if line[5:6] == b" " else line[5:]
                data.append(value.decode("utf-8", errors="replace"))
            elif line:
                self._field(line.decode("utf-8", errors="replace"))
            elif self._has_line:
                events.append(self._dispatch(offset))
                data = self._data
        del buffer[:cut]
        self._base += cut
        self._scanned = 0
        return events

    def _field(self, line: str) -> None:
        self._has_line = True
        if line[0] == ":":
            self._comments.append(line[2:] if line[1:2] == " " else line[1:])
            return
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)

    def _dispatch(self, end: int) -> Event:
        event = Event(
            data="\n".join(self._data) if self._data else None,
            event=self._event,
            id=self._id,
            retry=self._retry,
            comment="\n".join(self._comments) if self._comments else None,
            end=end,
        )
        self._reset_block()
        return event
