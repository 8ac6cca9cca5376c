"""A response being recorded: chunks are stamped with their offset as they pass through."""

from __future__ import annotations

import threading
import time

from .clock import Clock, RealClock
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
        # The hot path (`chunk`, once per network read) only appends the raw clock reading and
        # the bytes; the `Chunk` values are built when the interaction is asked for, after the
        # stream (see docs/benchmarks.md, "recording overhead").
        # RealClock.now is time.perf_counter: call that directly, one Python call less per chunk.
        self._now = time.perf_counter if type(clock) is RealClock else clock.now
        self._times: list[float] = []
        self._data: list[bytes] = []
        self._error: StreamError | None = None
        self._closed = False
        self._ended = False  # mirrors `ended`, cheaper to test once per chunk
        self._interaction: Interaction | None = None  # built once the stream has ended
        self.ended = threading.Event()

    def head(self, status: int, headers: Headers) -> None:
        self._status, self._headers = status, headers
        self._t_head = self._clock.now() - self._start

    def chunk(self, data: bytes) -> None:
        if not self._ended:
            self._times.append(self._now())
            self._data.append(data if type(data) is bytes else bytes(data))

    def _end(self) -> None:
        self._ended = True
        self.ended.set()

    def complete(self) -> None:
        self._end()

    def fail(self, error: BaseException) -> None:
        if not self._ended:
            self._error = StreamError(type(error).__name__, str(error))
            self._end()

    def close(self) -> None:
        """The client closed the response; unless the stream already ended, it ended early."""
        if not self._ended:
            self._closed = True
            self._end()

    @property
    def started(self) -> bool:
        """Whether response headers arrived (a request that failed before them holds nothing)."""
        return self._status != 0

    def interaction(self) -> Interaction:
        """The interaction so far; a stream still open counts as closed by the client."""
        if self._interaction is not None:
            return self._interaction
        closed = self._closed or not self._ended
        start = self._start
        chunks = tuple(
            Chunk(t - start, data) for t, data in zip(self._times, self._data, strict=False)
        )
        response = Response(
            self._status,
            self._headers,
            chunks,
            self._error,
            closed and self._error is None,
            self._t_head,
        )
        interaction = Interaction(self.request, response)
        if self._ended:  # final: keep it, and let go of the raw readings before the cassette
            # is written (a large stream's clock readings and list slots, ~40 bytes a chunk)
            self._interaction, self._times, self._data = interaction, [], []
        return interaction
