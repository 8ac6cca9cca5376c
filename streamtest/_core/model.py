"""The cassette model: immutable values for what went over the wire, and the `Cassette`.

Values are frozen msgspec Structs: as safe as frozen dataclasses and fast enough to build 100,000
chunks per load (see ``docs/cassette-format.md`` for the measurements).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import msgspec

Headers = tuple[tuple[str, str], ...]
"""Header pairs in wire order; names keep their case; repeated names stay repeated."""


def header_value(headers: Headers, name: str) -> str | None:
    """The first value of the header ``name`` (case-insensitive), or None."""
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


class Chunk(msgspec.Struct, frozen=True):
    """One network read: ``t`` seconds after the request was sent, its exact ``data`` bytes."""

    t: float
    data: bytes


class Request(msgspec.Struct, frozen=True):
    """A recorded (or live, about to be matched) request."""

    method: str
    url: str
    headers: Headers = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        return parse_json(self.body)


class StreamError(msgspec.Struct, frozen=True):
    """A transport error raised while the body streamed: its class name and message."""

    type: str
    message: str


class End(StrEnum):
    """How a response stream ended."""

    COMPLETED = "completed"
    FAILED = "failed"
    CLOSED = "closed"


class Response(msgspec.Struct, frozen=True):
    """A recorded response: status and headers (received ``t`` seconds after the request), then
    its chunks, then how it ended: ``error`` is set when it failed; ``closed`` when the client
    closed it before the end. ``timed`` is False when the timing is unknown (imported from a
    cassette that kept none): then every ``t`` is 0 and means nothing."""

    status: int
    headers: Headers = ()
    chunks: tuple[Chunk, ...] = ()
    error: StreamError | None = None
    closed: bool = False
    t: float = 0.0
    timed: bool = True

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    @property
    def end(self) -> End:
        if self.error is not None:
            return End.FAILED
        return End.CLOSED if self.closed else End.COMPLETED

    @property
    def body(self) -> bytes:
        """The raw body bytes as they came over the wire (still compressed if they were)."""
        return b"".join(chunk.data for chunk in self.chunks)


class Interaction(msgspec.Struct, frozen=True):
    request: Request
    response: Response


class Item(msgspec.Struct, frozen=True):
    """One item of an object stream: ``t`` seconds after the consumer first asked for an item,
    and its ``value`` as encoded JSON (see ``docs/cassette-format.md``), not the Python object."""

    t: float
    value: Any


class ObjectStream(msgspec.Struct, frozen=True):
    """The items an iterator yielded (a local model, a runnable, a graph: anything not HTTP),
    recorded under ``name`` and an optional JSON ``key``, then how it ended, as for `Response`."""

    name: str
    items: tuple[Item, ...] = ()
    key: Any = None
    error: StreamError | None = None
    closed: bool = False

    @property
    def end(self) -> End:
        if self.error is not None:
            return End.FAILED
        return End.CLOSED if self.closed else End.COMPLETED


class Cassette:
    """The interactions of one cassette file, in the order their requests were sent, and its
    object streams, in the order they began."""

    def __init__(
        self,
        path: Path | str,
        interactions: list[Interaction] | None = None,
        *,
        streams: list[ObjectStream] | None = None,
    ) -> None:
        self.path = Path(path)
        self.interactions: list[Interaction] = list(interactions or [])
        self.streams: list[ObjectStream] = list(streams or [])

    def __repr__(self) -> str:
        streams = f" and {len(self.streams)} object stream(s)" if self.streams else ""
        return (
            f"<Cassette {str(self.path)!r} with {len(self.interactions)} interaction(s){streams}>"
        )

    def __len__(self) -> int:
        """The number of interactions (object streams are counted in ``streams``)."""
        return len(self.interactions)


def parse_json(body: bytes) -> Any:
    """``body`` parsed as JSON, or None when it is empty or not JSON."""
    if body.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
