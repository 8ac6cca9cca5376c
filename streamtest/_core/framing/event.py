"""What every stream decoder produces and promises: the `Event` value, the `Decoder` protocol,
the `Framing` kinds, and `FramingError`.

Decoders are incremental and do no I/O, like httpx's content decoders: ``decode()`` takes the
bytes that arrived and returns the events they completed, ``flush()`` ends the stream. Each event
carries ``end``, its offset in the decoded byte stream, so callers can cut a body at event
boundaries (see ``body.split_events``) without knowing the framing.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Protocol

import msgspec

from ..errors import StreamtestError


class FramingError(StreamtestError, ValueError):
    """A stream is malformed for its framing; the message says what and at which byte offset."""


class Framing(StrEnum):
    """How a response body is cut into events."""

    SSE = "sse"
    NDJSON = "ndjson"
    JSON_ARRAY = "json-array"
    EVENTSTREAM = "aws-eventstream"
    JSON = "json"
    """One JSON document, not streamed."""
    RAW = "raw"
    """Unknown: one event holding the whole body."""


class Event(msgspec.Struct, frozen=True):
    """One decoded stream event.

    ``data`` is, per framing: SSE, the data lines joined with ``"\\n"`` (None when the block had
    no data line); NDJSON, the line without its line ending; JSON array, the element's exact JSON
    text; AWS event-stream, the payload decoded as UTF-8 (invalid bytes replaced); JSON and raw,
    the whole body. ``event`` is the SSE ``event:`` field or the AWS ``:event-type`` header (or
    ``:exception-type``, ``:error-code``). ``id`` and ``retry`` are the SSE fields of this block.
    ``comment`` joins the block's SSE comment lines. ``headers`` are the AWS frame headers with
    values rendered as text. ``end`` is the offset, in the decoded (decompressed) byte stream,
    just past this event's bytes: past the SSE block's blank line, the NDJSON newline, the JSON
    array element's last character, or the AWS frame.
    """

    data: str | None
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    comment: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    end: int = 0

    def json(self) -> Any:
        """``data`` parsed as JSON, or None when there is no data or it is not JSON."""
        if self.data is None:
            return None
        try:
            return json.loads(self.data)
        except ValueError:
            return None


class Decoder(Protocol):
    """An incremental stream decoder: feed bytes in order, then flush once at the end."""

    def decode(self, data: bytes) -> list[Event]:
        """Consume ``data`` and return the events it completed (possibly none)."""
        ...

    def flush(self) -> list[Event]:
        """End the stream: return what is still pending, or raise `FramingError` when the
        stream stopped where the framing does not allow it."""
        ...


class WholeBodyDecoder:
    """Collects the whole body and returns it as one event on flush (`Framing.JSON` and RAW)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def decode(self, data: bytes) -> list[Event]:
        if data:
            self._parts.append(data)
        return []

    def flush(self) -> list[Event]:
        body = b"".join(self._parts)
        self._parts = []
        if not body:
            return []
        return [Event(data=body.decode("utf-8", errors="replace"), end=len(body))]


class JSONDecoder(WholeBodyDecoder):
    """One JSON document, not streamed: the whole body is one event (`Framing.JSON`)."""


class RawDecoder(WholeBodyDecoder):
    """An unknown framing: the whole body is one event (`Framing.RAW`)."""
