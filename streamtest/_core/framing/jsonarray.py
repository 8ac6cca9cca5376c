"""A JSON array streamed element by element, decoded incrementally.

Gemini's ``:streamGenerateContent`` without ``alt=sse`` answers ``[{...}\\n,\\r\\n{...}\\n]``:
one array whose elements arrive over time. Each top-level element is one event holding its
exact JSON text. The scanner works on bytes, because every structural character is ASCII and
UTF-8 never reuses ASCII bytes inside a multi-byte character. An element that has fully
arrived is matched by one regular expression; otherwise the scanner resumes where it stopped,
jumping over strings and other bytes between brackets, so Python only runs per bracket. It
tracks nesting and strings only: it does not validate the JSON inside an element.
"""

from __future__ import annotations

import re

from .event import Event, FramingError

_NOT_WHITESPACE = re.compile(rb"[^ \t\r\n]")
# The inside of a string up to its closing quote (or to a lone backslash at the end).
_STRING_BODY = re.compile(rb'(?s)[^"\\]*+(?:\\.[^"\\]*+)*+')
# Everything up to the next bracket outside a string (or the quote of an unfinished string).
_SKIP = re.compile(rb'(?s)[^"{}\[\]]*+(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"[^"{}\[\]]*+)*+')
_SCALAR_END = re.compile(rb"[,\]\s]")


def _whole_element(depth: int) -> re.Pattern[bytes]:
    """A complete object or array nested at most ``depth`` deep, matched in one call. Possessive
    quantifiers (Python 3.11+) make a failed match linear: no backtracking."""
    other = rb'[^"{}\[\]]++|"[^"\\]*+(?:\\.[^"\\]*+)*+"'
    inside = rb"(?:" + other + rb")*+"
    for _ in range(depth - 1):
        inside = rb"(?:" + other + rb"|[\[{]" + inside + rb"[\]}])*+"
    return re.compile(rb"(?s)[\[{]" + inside + rb"[\]}]")


# The fast path for an element that has fully arrived; deeper or unfinished ones take the loop.
_WHOLE_ELEMENT = _whole_element(16)

# Where the scanner is (ints, not an Enum: this is the inner loop).
_START = 0  # before the opening "["
_VALUE = 1  # after "[" or ",": an element (or, right after "[", the closing "]")
_AFTER = 2  # after an element: "," or "]"
_ELEMENT = 3  # inside an element
_DONE = 4  # after the closing "]"


class JSONArrayDecoder:
    """Incremental decoder of a streamed JSON array: one event per top-level element."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._base = 0  # stream offset of self._buffer[0]
        self._pos = 0  # where scanning resumes, in self._buffer
        self._state = _START
        self._start = 0  # where the current element starts, in self._buffer
        self._depth = 0  # nesting inside the current element
        self._in_string = False
        self._first = True  # no element yet: "]" may close the array right after "["

    def decode(self, data: bytes) -> list[Event]:
        if not data:
            return []
        self._buffer += data
        events = self._scan()
        keep = self._start if self._state == _ELEMENT else self._pos
        del self._buffer[:keep]
        self._base += keep
        self._pos -= keep
        self._start -= keep
        return events

    def flush(self) -> list[Event]:
        events = self._scan()
        if self._state == _ELEMENT:
            raise FramingError(
                "The JSON array stream ended inside the element that starts at byte "
                f"{self._base + self._start}."
            )
        return events

    def _error(self, what: str, at: int) -> FramingError:
        found = bytes(self._buffer[at : at + 1])
        return FramingError(
            f"The JSON array stream is malformed at byte {self._base + at}: expected {what}, "
            f"found {found!r}."
        )

    def _emit(self, stop: int) -> Event:
        text = self._buffer[self._start : stop].decode("utf-8", errors="replace")
        self._state = _AFTER
        self._first = False
        self._pos = stop
        return Event(data=text, end=self._base + stop)

    def _scan(self) -> list[Event]:
        buffer = self._buffer
        events: list[Event] = []
        while True:
            if self._state == _ELEMENT:
                if (event := self._scan_element()) is None:
                    return events
                events.append(event)
                continue
            found = _NOT_WHITESPACE.search(buffer, self._pos)
            if found is None:
                self._pos = len(buffer)
                return events
            pos = found.start()
            byte = buffer[pos]
            self._pos = pos + 1
            if self._state == _START:
                if byte != 0x5B:  # "["
                    raise self._error('"[" to open the array', pos)
                self._state = _VALUE
            elif self._state == _VALUE:
                if byte == 0x5D and self._first:  # "]": an empty array
                    self._state = _DONE
                elif byte in b",]":
                    raise self._error("an array element", pos)
                else:
                    self._state, self._start, self._pos = _ELEMENT, pos, pos
                    self._depth, self._in_string = 0, False
            elif self._state == _AFTER:
                if byte == 0x2C:  # ","
                    self._state = _VALUE
                elif byte == 0x5D:
                    self._state = _DONE
                else:
                    raise self._error('"," or "]" after an array element', pos)
            else:
                raise self._error('nothing after the closing "]"', pos)

    def _scan_element(self) -> Event | None:
        """Advance through the current element: its event once complete, else None."""
        buffer = self._buffer
        size = len(buffer)
        if self._pos == self._start:
            first = buffer[self._start]
            if first not in b'"{[':  # a number, true, false or null
                end = _SCALAR_END.search(buffer, self._start)
                return None if end is None else self._emit(end.start())
            if first != 0x22 and (whole := _WHOLE_ELEMENT.match(buffer, self._start)):
                return self._emit(whole.end())
            self._pos += 1
            self._in_string = first == 0x22
            self._depth = 0 if self._in_string else 1
        while True:
            if self._in_string:
                match = _STRING_BODY.match(buffer, self._pos)
                at = match.end() if match else self._pos
                if at == size or buffer[at] == 0x5C:
                    self._pos = at  # the string, or an escape in it, runs past the end
                    return None
                self._pos = at + 1
                self._in_string = False
                if self._depth == 0:
                    return self._emit(at + 1)
                continue
            match = _SKIP.match(buffer, self._pos)
            at = match.end() if match else self._pos
            if at == size:
                self._pos = at
                return None
            byte = buffer[at]
            self._pos = at + 1
            if byte == 0x22:  # a string that runs past the end of what arrived
                self._in_string = True
            elif byte == 0x7B or byte == 0x5B:  # "{" or "["
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    return self._emit(at + 1)
