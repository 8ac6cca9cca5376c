"""A response being recorded: chunks are stamped with their offset as they pass through."""

from __future__ import annotations

import threading

from .clock import Clock
from .model import Chunk, Headers, Interaction, Request, Response, StreamError


class Recording:
    """Collects one interaction while the application reads it live.

    Created when the request is sent (offsets count from then). The wire calls `head` when the
    response headers arrive, `chunk` for every network read, then exactly one of `complete`,
    `fail` or `close`; later calls are ignored, so a close after a failure keeps the failure.
    """

    def __init__(self, request: Request, clock: Clock) -> None:
        self.request = request
        self._clock = clock
        self._start = clock.now()
        self._status = 0
        self._headers: Headers = ()
        self._t_head = 0.0
        self._chunks: list[Chunk] = []
        self._error: StreamError | None = None
        self._closed = False
        self.ended = threading.Event()

    def head(self, status: int, headers: Headers) -> None:
        self._status, self._headers = status, headers
        self._t_head = self._clock.now() - self._start

    def chunk(self, data: bytes) -> None:
        if not self.ended.is_set():
            self._chunks.append(Chunk(self._clock.now() - self._start, bytes(data)))

    def complete(self) -> None:
        self.ended.set()

    def fail(self, error: BaseException) -> None:
        if not self.ended.is_set():
            self._error = StreamError(type(error).__name__, str(error))
            self.ended.set()

    def close(self) -> None:
        """The client closed the response; unless the stream already ended, it ended early."""
        if not self.ended.is_set():
            self._closed = True
            self.ended.set()

    @property
    def started(self) -> bool:
        """Whether response headers arrived (a request that failed before them holds nothing)."""
        return self._status != 0

    def interaction(self) -> Interaction:
        """The interaction so far; a stream still open counts as closed by the client."""
        closed = self._closed or not self.ended.is_set()
        response = Response(
            self._status,
            self._headers,
            tuple(self._chunks),
            self._error,
            closed and self._error is None,
            self._t_head,
        )
        return Interaction(self.request, response)
