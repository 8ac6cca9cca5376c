"""Newline-delimited JSON (NDJSON, JSON Lines), decoded incrementally.

Each non-blank line is one event; lines end in LF or CRLF. The JSON is not parsed here
(``Event.json()`` does that on demand), so a malformed line is still an event a test can see.
"""

from __future__ import annotations

from .event import Event


class NDJSONDecoder:
    """Incremental NDJSON decoder: one event per non-blank line, ``data`` without the ending."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._base = 0  # stream offset of self._buffer[0]
        self._scanned = 0  # self._buffer[:_scanned] holds no newline

    def decode(self, data: bytes) -> list[Event]:
        if not data:
            return []
        self._buffer += data
        cut = self._buffer.rfind(b"\n", self._scanned) + 1
        if cut == 0:
            self._scanned = len(self._buffer)
            return []
        return self._take(cut)

    def flush(self) -> list[Event]:
        return self._take(len(self._buffer))

    def _take(self, cut: int) -> list[Event]:
        chunk = bytes(self._buffer[:cut])
        events: list[Event] = []
        start = 0
        while start < cut:
            newline = chunk.find(b"\n", start)
            stop = cut if newline < 0 else newline + 1
            line = chunk[start:stop].rstrip(b"\n")
            if line.endswith(b"\r"):
                line = line[:-1]
            if line.strip():
                text = line.decode("utf-8", errors="replace")
                events.append(Event(data=text, end=self._base + stop))
            start = stop
        del self._buffer[:cut]
        self._base += cut
        self._scanned = 0
        return events
