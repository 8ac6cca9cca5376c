"""Response streams for one HTTP stack, written once and built for httpx and for httpx2.

httpx and httpx2 check streams with ``isinstance`` against their own ``SyncByteStream`` and
``AsyncByteStream``, which are different classes, so each stack gets its own subclasses: see
`StackStreams`. The logic is shared; only the base classes differ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from .._core.errors import IncompleteRecordingError
from .._core.faults import stall_plan
from .._core.model import StreamError
from .._core.recording import Recording
from .routing import Replay


def replay_error(module: Any, error: StreamError, request: Any) -> Exception:
    """The recorded transport error as the same class of ``module`` (httpx or httpx2), falling
    back to its ``ReadError`` when that name is not a transport error there."""
    cls = getattr(module, error.type, None)
    if not (isinstance(cls, type) and issubclass(cls, module.TransportError)):
        cls = module.ReadError
    exc: Exception = cls(error.message, request=request)
    return exc


def read_timeout(request: Any) -> float | None:
    """The client's read timeout for ``request`` (httpx and httpx2 put it in the request's
    ``timeout`` extension), or None when it has none."""
    read = (request.extensions.get("timeout") or {}).get("read")
    return float(read) if isinstance(read, int | float) else None


def _incomplete(replay: Replay) -> IncompleteRecordingError:
    n = len(replay.response.chunks)
    return IncompleteRecordingError(
        f"The stream recorded in {replay.origin} was closed by the client after {n} chunk(s), "
        "so the cassette holds no more, but this replay read past that point. Record it again "
        'with code that reads the stream to the end (record_mode="all").'
    )


class StackStreams:
    """The four stream classes of one stack: replay and recording tee, sync and async."""

    def __init__(self, module: Any) -> None:
        self.module = module

        class ReplayStream(module.SyncByteStream):  # type: ignore[misc]
            def __init__(self, replay: Replay, request: Any) -> None:
                self.replay, self.request = replay, request

            def __iter__(self) -> Iterator[bytes]:
                response = self.replay.response
                if (
                    self.replay.pacer.paces
                    or self.replay.stalls
                    or response.error is not None
                    or response.closed
                ):
                    return self._paced()
                # The common case, instant and complete: iterate a plain list, so no Python
                # frame is resumed per chunk (see docs/benchmarks.md: a generator here cost
                # ~15% of the transport's time at 10,000 chunks, this list ~4%).
                return iter([chunk.data for chunk in response.chunks])

            def _paced(self) -> Iterator[bytes]:
                response, pacer = self.replay.response, self.replay.pacer
                stalls = stall_plan(self.replay.stalls)
                for index, chunk in enumerate(response.chunks):
                    if index in stalls:
                        self._stall(stalls[index])
                    if pacer.paces:
                        pacer.wait(pacer.due(index, chunk.t))
                    yield chunk.data
                if len(response.chunks) in stalls:
                    self._stall(stalls[len(response.chunks)])
                if response.error is not None:
                    raise replay_error(module, response.error, self.request)
                if response.closed:
                    raise _incomplete(self.replay)

            def _stall(self, seconds: float) -> None:
                limit = read_timeout(self.request)
                if limit is not None and seconds > limit:
                    self.replay.pacer.stall(limit)
                    raise timed_out(self.replay, self.request)
                self.replay.pacer.stall(seconds)

        class AsyncReplayStream(module.AsyncByteStream):  # type: ignore[misc]
            def __init__(self, replay: Replay, request: Any) -> None:
                self.replay, self.request = replay, request

            async def __aiter__(self) -> AsyncIterator[bytes]:
                response, pacer = self.replay.response, self.replay.pacer
                if pacer.paces or self.replay.stalls:
                    stalls = stall_plan(self.replay.stalls)
                    for index, chunk in enumerate(response.chunks):
                        if index in stalls:
                            await self._stall(stalls[index])
                        await pacer.await_(pacer.due(index, chunk.t))
                        yield chunk.data
                    if len(response.chunks) in stalls:
                        await self._stall(stalls[len(response.chunks)])
                else:
                    for chunk in response.chunks:
                        yield chunk.data
                if response.error is not None:
                    raise replay_error(module, response.error, self.request)
                if response.closed:
                    raise _incomplete(self.replay)

            async def _stall(self, seconds: float) -> None:
                limit = read_timeout(self.request)
                if limit is not None and seconds > limit:
                    await self.replay.pacer.astall(limit)
                    raise timed_out(self.replay, self.request)
                await self.replay.pacer.astall(seconds)

        def timed_out(replay: Replay, request: Any) -> Exception:
            """An injected stall outlasted the client's read timeout: what the stack raises."""
            replay.release()  # the recording was not delivered: a retry may replay it
            exc: Exception = module.ReadTimeout("The read operation timed out", request=request)
            return exc

        class TeeStream(module.SyncByteStream):  # type: ignore[misc]
            """Hands each chunk to the application the moment it arrives, stamping a copy."""

            def __init__(self, inner: Any, recording: Recording) -> None:
                self.inner, self.recording = inner, recording

            def __iter__(self) -> Iterator[bytes]:
                record = self.recording.chunk
                try:
                    for data in self.inner:
                        record(data)
                        yield data
                except Exception as exc:
                    self.recording.fail(exc)
                    raise
                self.recording.complete()

            def close(self) -> None:
                self.recording.close()
                self.inner.close()

        class AsyncTeeStream(module.AsyncByteStream):  # type: ignore[misc]
            def __init__(self, inner: Any, recording: Recording) -> None:
                self.inner, self.recording = inner, recording

            async def __aiter__(self) -> AsyncIterator[bytes]:
                record = self.recording.chunk
                try:
                    async for data in self.inner:
                        record(data)
                        yield data
                except Exception as exc:
                    self.recording.fail(exc)
                    raise
                self.recording.complete()

            async def aclose(self) -> None:
                self.recording.close()
                await self.inner.aclose()

        self.ReplayStream = ReplayStream
        self.AsyncReplayStream = AsyncReplayStream
        self.TeeStream = TeeStream
        self.AsyncTeeStream = AsyncTeeStream
