"""Fault injection on replay: what real networks do to streams, applied to recorded responses.

A fault reshapes the recorded response of a replay: `Rechunk` splits or joins its chunks, `Cut`
breaks the stream after a chunk with a transport error, `Stall` pauses before a chunk (long
enough, the client's read timeout fires), `ErrorStatus` answers an HTTP error instead. Each
affects the replays it reaches after skipping ``skip`` of them, ``times`` of them (all when
None), counted per cassette activation. Chunk numbers in `Cut` and `Stall` count the recorded
chunks (as ``streamtest show`` numbers them), whatever else applies: re-chunking comes last,
whatever the order given, and a stall moves to the piece holding its chunk's first byte. So a
suite-wide ``rechunk=bytes`` leaves a test's own ``cut=5`` meaning what it meant. A replay
that ends in an injected failure (a cut, an error status, a stall the client timed out on)
leaves its recording unplayed, so a retry replays it again. `Cut` and `Stall` also reach
object streams (items, not chunks); the others reshape HTTP responses only.

Faults are values (frozen dataclasses); `Fault` is the protocol for writing your own. Their
text form (``cut=3,error=timeout``), which the marker, the command lines and
``STREAMTEST_FAULTS`` take, is read in `streamtest._core.faulttext`.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import random
import threading
from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from .errorbody import error_body
from .model import Chunk, Headers, ObjectStream, Request, Response, StreamError


@dataclass(frozen=True, slots=True)
class Shaped:
    """A replay as faults left it: the ``response`` to send, pauses of ``stalls`` (seconds
    before chunk number ``index``; ``len(chunks)`` is before the end), and whether it ends in an
    injected failure (``fails``: the recording stays unplayed). ``faults`` names what applied."""

    response: Response
    stalls: tuple[tuple[int, float], ...] = ()
    fails: bool = False
    faults: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ShapedStream:
    """An object stream's replay as faults left it (see `Shaped`)."""

    stream: ObjectStream
    stalls: tuple[tuple[int, float], ...] = ()
    fails: bool = False
    faults: tuple[str, ...] = ()


@runtime_checkable
class Fault(Protocol):
    """What a fault is: a reshaping, with which replays it reaches."""

    @property
    def skip(self) -> int:
        """How many replays it reaches are left alone first."""
        ...

    @property
    def times(self) -> int | None:
        """How many replays it reshapes after those (None: all)."""
        ...

    def reshape(self, shaped: Shaped, request: Request) -> Shaped:
        """``shaped`` with this fault applied; ``request`` is the live request (redacted)."""
        ...


@runtime_checkable
class StreamFault(Protocol):
    """A fault that also reshapes object streams (`Cut` and `Stall` do)."""

    def reshape_stream(self, shaped: ShapedStream) -> ShapedStream:
        """``shaped`` with this fault applied to its items."""
        ...


def _stalls_within(
    stalls: tuple[tuple[int, float], ...], kept: int
) -> tuple[tuple[int, float], ...]:
    """The stalls still reached once only ``kept`` chunks (or items) remain."""
    return tuple((index, seconds) for index, seconds in stalls if index <= kept)


def _check_targeting(skip: int, times: int | None) -> None:
    if not (isinstance(skip, int) and skip >= 0):
        raise ValueError(f"skip must be a whole number of replays, 0 or more, not {skip!r}.")
    if times is not None and not (isinstance(times, int) and times >= 1):
        raise ValueError(f"times must be a whole number of replays, 1 or more, not {times!r}.")


def _check_index(name: str, value: int) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        raise ValueError(f"{name} must be a chunk number, 0 or more, not {value!r}.")


def _pieces(chunks: tuple[Chunk, ...], sizes: Iterator[int]) -> tuple[Chunk, ...]:
    """The body of ``chunks`` cut into pieces of ``sizes``; a piece arrives at the offset of
    the recorded chunk holding its last byte (when all of it had been received)."""
    body = b"".join(chunk.data for chunk in chunks)
    ends = list(itertools.accumulate(len(chunk.data) for chunk in chunks))
    out, start = [], 0
    while start < len(body):
        end = min(start + next(sizes), len(body))
        holder = bisect.bisect_left(ends, end)  # the first chunk ending at or after `end`
        out.append(Chunk(chunks[holder].t, body[start:end]))
        start = end
    return tuple(out)


def _moved_stalls(
    stalls: tuple[tuple[int, float], ...], chunks: tuple[Chunk, ...], pieces: tuple[Chunk, ...]
) -> tuple[tuple[int, float], ...]:
    """Stalls before recorded chunks, moved before the piece holding each one's first byte
    (before the end stays before the end)."""
    starts = [0, *itertools.accumulate(len(chunk.data) for chunk in chunks)]
    piece_ends = list(itertools.accumulate(len(piece.data) for piece in pieces))
    return tuple(
        (
            len(pieces) if index >= len(chunks) else bisect.bisect_right(piece_ends, starts[index]),
            seconds,
        )
        for index, seconds in stalls
    )


@dataclass(frozen=True, slots=True)
class Rechunk:
    """Re-chunk the body: ``"bytes"`` (one byte per chunk), ``"random"`` (pieces of 1 to
    ``max_size`` bytes, from ``random.Random(seed)``: the same seed, the same pieces) or
    ``"whole"`` (the body in one chunk). The bytes are unchanged; multi-byte characters, SSE
    lines and JSON documents end up split across chunks, as TCP may split them."""

    how: Literal["bytes", "random", "whole"] = "bytes"
    seed: int = 0
    max_size: int = 64
    skip: int = field(default=0, kw_only=True)
    times: int | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.how not in ("bytes", "random", "whole"):
            raise ValueError(f"Rechunk how must be 'bytes', 'random' or 'whole', not {self.how!r}.")
        if not (isinstance(self.max_size, int) and self.max_size >= 1):
            raise ValueError(f"Rechunk max_size must be 1 or more bytes, not {self.max_size!r}.")
        _check_targeting(self.skip, self.times)

    def reshape(self, shaped: Shaped, request: Request) -> Shaped:
        chunks = shaped.response.chunks
        if self.how == "bytes":
            sizes: Iterator[int] = itertools.repeat(1)
        elif self.how == "whole":
            sizes = itertools.repeat(max(1, sum(len(chunk.data) for chunk in chunks)))
        else:
            rng = random.Random(self.seed)
            sizes = (rng.randint(1, self.max_size) for _ in itertools.count())
        pieces = _pieces(chunks, sizes)
        response = replace_response(shaped.response, chunks=pieces)
        stalls = _moved_stalls(shaped.stalls, chunks, pieces)
        return Shaped(response, stalls, shaped.fails, (*shaped.faults, self.describe()))

    def describe(self) -> str:
        if self.how == "random":
            return f"rechunk=random,seed={self.seed},max={self.max_size}"
        return f"rechunk={self.how}"


CutError = Literal["reset", "timeout", "incomplete"]
# What httpx and httpx2 raise when a real connection fails that way mid-body.
CUT_ERRORS: dict[str, StreamError] = {
    "reset": StreamError("ReadError", "[Errno 104] Connection reset by peer"),
    "timeout": StreamError("ReadTimeout", "The read operation timed out"),
    "incomplete": StreamError(
        "RemoteProtocolError",
        "peer closed connection without sending complete message body (incomplete chunked read)",
    ),
}


# An object stream has no transport: a cut raises the builtin error closest to each.
STREAM_CUT_ERRORS: dict[str, StreamError] = {
    "reset": StreamError("ConnectionResetError", "[Errno 104] Connection reset by peer"),
    "timeout": StreamError("TimeoutError", "The read operation timed out"),
    "incomplete": StreamError("ConnectionAbortedError", "The stream ended before its end"),
}


@dataclass(frozen=True, slots=True)
class Cut:
    """Break the stream after ``after`` chunks (after the last, when it has fewer) with a
    transport ``error``: ``"reset"`` (connection reset by peer: httpx's ``ReadError``),
    ``"timeout"`` (``ReadTimeout``, raised at once; use `Stall` to wait for the client's own
    timeout) or ``"incomplete"`` (the server closed mid-body: ``RemoteProtocolError``). An
    object stream breaks after ``after`` items with ``ConnectionResetError``, ``TimeoutError``
    or ``ConnectionAbortedError``."""

    after: int
    error: CutError = "reset"
    skip: int = field(default=0, kw_only=True)
    times: int | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        _check_index("Cut after", self.after)
        if self.error not in CUT_ERRORS:
            raise ValueError(
                f"Cut error must be one of {', '.join(map(repr, CUT_ERRORS))}, not {self.error!r}."
            )
        _check_targeting(self.skip, self.times)

    def reshape(self, shaped: Shaped, request: Request) -> Shaped:
        response = replace_response(
            shaped.response,
            chunks=shaped.response.chunks[: self.after],
            error=CUT_ERRORS[self.error],
            closed=False,
        )
        stalls = _stalls_within(shaped.stalls, len(response.chunks))
        return Shaped(response, stalls, True, (*shaped.faults, self.describe()))

    def reshape_stream(self, shaped: ShapedStream) -> ShapedStream:
        stream = msgspec.structs.replace(
            shaped.stream,
            items=shaped.stream.items[: self.after],
            error=STREAM_CUT_ERRORS[self.error],
            closed=False,
        )
        stalls = _stalls_within(shaped.stalls, len(stream.items))
        return ShapedStream(stream, stalls, True, (*shaped.faults, self.describe()))

    def describe(self) -> str:
        return f"cut={self.after},error={self.error}"


@dataclass(frozen=True, slots=True)
class Stall:
    """Pause ``seconds`` of real time before chunk number ``before`` (the chunk count: before
    the end). Real time whatever the replay timing, so client timeouts are exercised: when the
    client's read timeout is shorter, replay waits that long and raises the stack's
    ``ReadTimeout``, as the network would. Later chunks are delayed by the pause. In an object
    stream, the pause comes before item ``before``."""

    before: int
    seconds: float
    skip: int = field(default=0, kw_only=True)
    times: int | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        _check_index("Stall before", self.before)
        if not (isinstance(self.seconds, int | float) and math.isfinite(self.seconds)):
            raise ValueError(f"Stall seconds must be a finite number, not {self.seconds!r}.")
        if self.seconds < 0:
            raise ValueError(f"Stall seconds must be 0 or more, not {self.seconds!r}.")
        _check_targeting(self.skip, self.times)

    def reshape(self, shaped: Shaped, request: Request) -> Shaped:
        return replace(shaped, **self._added(shaped.stalls, shaped.faults, shaped.response.chunks))

    def reshape_stream(self, shaped: ShapedStream) -> ShapedStream:
        return replace(shaped, **self._added(shaped.stalls, shaped.faults, shaped.stream.items))

    def _added(
        self, stalls: tuple[tuple[int, float], ...], faults: tuple[str, ...], parts: Sized
    ) -> dict[str, Any]:
        """The ``stalls`` and ``faults`` fields with this stall added (clamped to the end)."""
        stall = (min(self.before, len(parts)), float(self.seconds))
        return {"stalls": (*stalls, stall), "faults": (*faults, self.describe())}

    def describe(self) -> str:
        return f"stall={self.before},seconds={self.seconds:g}"


@dataclass(frozen=True, slots=True)
class ErrorStatus:
    """Answer HTTP ``status`` instead of the recording, with ``body`` (by default a JSON error
    in the shape the provider's SDK reads: Anthropic's for ``/v1/messages``, else OpenAI's) and
    extra ``headers``; ``retry_after`` (seconds) sets ``retry-after`` and ``retry-after-ms``,
    which the openai and anthropic SDKs obey between their automatic retries."""

    status: int
    body: bytes | str | None = None
    headers: Headers = ()
    retry_after: float | None = None
    skip: int = field(default=0, kw_only=True)
    times: int | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if not (isinstance(self.status, int) and 400 <= self.status <= 599):
            raise ValueError(f"ErrorStatus status must be 400 to 599, not {self.status!r}.")
        if self.retry_after is not None and not self.retry_after >= 0:
            raise ValueError(f"retry_after must be 0 or more seconds, not {self.retry_after!r}.")
        _check_targeting(self.skip, self.times)

    def reshape(self, shaped: Shaped, request: Request) -> Shaped:
        body = self.body
        headers: list[tuple[str, str]] = []
        if body is None:
            try:
                reason = HTTPStatus(self.status).phrase
            except ValueError:
                reason = "Error"
            message = (
                f"streamtest injected HTTP {self.status} ({reason}) in place of the recorded "
                "response (an ErrorStatus fault)."
            )
            document = error_body(request.url, message, status=self.status, code="injected")
            body = json.dumps(document).encode()
            headers.append(("content-type", "application/json"))
        data = body.encode() if isinstance(body, str) else body
        if self.retry_after is not None:
            headers.append(("retry-after", f"{math.ceil(self.retry_after)}"))
            headers.append(("retry-after-ms", f"{self.retry_after * 1000:g}"))
        headers += [*self.headers, ("content-length", str(len(data)))]
        t = shaped.response.t
        response = Response(
            self.status, tuple(headers), (Chunk(t, data),) if data else (), t=t, timed=True
        )
        return Shaped(response, (), True, (*shaped.faults, self.describe()))

    def describe(self) -> str:
        return f"status={self.status}"


def replace_response(response: Response, **changes: object) -> Response:
    """``response`` with ``changes``; a changed body drops a stale ``content-length``."""
    if "chunks" in changes:
        headers = tuple((n, v) for n, v in response.headers if n.lower() != "content-length")
        changes.setdefault("headers", headers)
    return msgspec.structs.replace(response, **changes)


def stall_plan(stalls: Iterable[tuple[int, float]]) -> dict[int, float]:
    """Injected pauses (see `Shaped.stalls`) by chunk number, several at one chunk added up."""
    plan: dict[int, float] = {}
    for index, seconds in stalls:
        plan[index] = plan.get(index, 0.0) + seconds
    return plan


class Injector:
    """Faults and how many replays each has reached: one per cassette activation (or server)."""

    def __init__(self, faults: Sequence[Fault]) -> None:
        # Re-chunking last: chunk numbers in the other faults count the recorded chunks.
        self.faults = sorted(faults, key=lambda fault: isinstance(fault, Rechunk))
        self._reached = [0] * len(self.faults)
        self._applied = [0] * len(self.faults)
        self._lock = threading.Lock()

    def unused(self) -> list[Fault]:
        """The faults that reshaped no replay yet."""
        with self._lock:
            return [f for f, n in zip(self.faults, self._applied, strict=True) if n == 0]

    def _due(self, kind: type) -> list[object]:
        """The faults of ``kind`` due for this replay; each fault of ``kind`` counts it."""
        due: list[object] = []
        with self._lock:
            for number, fault in enumerate(self.faults):
                if not isinstance(fault, kind):
                    continue
                reached = self._reached[number]
                self._reached[number] = reached + 1
                if reached >= fault.skip and (
                    fault.times is None or reached < fault.skip + fault.times
                ):
                    due.append(fault)
                    self._applied[number] += 1
        return due

    def shape(self, response: Response, request: Request) -> Shaped | None:
        """The faults due for this replay applied to ``response``; None when none is due."""
        due = self._due(Fault)
        if not due:
            return None
        shaped = Shaped(response)
        for fault in due:
            assert isinstance(fault, Fault)
            shaped = fault.reshape(shaped, request)
        return shaped

    def shape_stream(self, stream: ObjectStream) -> ShapedStream | None:
        """The stream faults due for this object stream's replay, applied; None when none is
        due. Faults that only reshape HTTP (`Rechunk`, `ErrorStatus`) do not count it."""
        due = self._due(StreamFault)
        if not due:
            return None
        shaped = ShapedStream(stream)
        for fault in due:
            assert isinstance(fault, StreamFault)
            shaped = fault.reshape_stream(shaped)
        return shaped
