"""Replaying recorded object streams: decoded items, paced, ending as the recording ended."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from .._core import fileformat
from .._core.choices import parse_choice
from .._core.clock import Clock, Pacer, RealClock, Timing, check_speed
from .._core.errors import (
    CassetteError,
    IncompleteRecordingError,
    RecordedStreamError,
    UnmatchedStreamError,
)
from .._core.faults import stall_plan
from .._core.model import ObjectStream
from .._core.redaction import Redaction
from .._session import StreamReplay, same_stream
from .codecs import Undecodable, decode, scrub
from .recording import encode_value

# Raising these from a generator would end it (or become a RuntimeError), not fail it.
_NOT_REPLAYABLE = (StopIteration, StopAsyncIteration)


def _decode_item(replay: StreamReplay, index: int) -> Any:
    try:
        return decode(replay.stream.items[index].value)
    except Undecodable as exc:
        raise CassetteError(
            replay.path,
            f"item {index} of the object stream {replay.stream.name!r} (object stream "
            f"{replay.index}) cannot be decoded: {exc}.",
        ) from None


def _end_error(replay: StreamReplay) -> Exception | None:
    """The exception a replay raises after the last item, as the recording ended."""
    stream = replay.stream
    if stream.error is not None:
        cls = getattr(builtins, stream.error.type, None)
        if isinstance(cls, type) and issubclass(cls, Exception) and cls not in _NOT_REPLAYABLE:
            try:
                exc: Exception = cls(stream.error.message)
                return exc
            except Exception:  # a builtin that wants other arguments (UnicodeDecodeError)
                pass
        return RecordedStreamError(stream.error.type, stream.error.message, origin=replay.origin)
    if stream.closed:
        return IncompleteRecordingError(
            f"The object stream recorded in {replay.origin} was closed by its consumer after "
            f"{len(stream.items)} item(s), so the cassette holds no more, but this replay "
            "asked for more. Record it again with code that reads the stream to the end "
            '(record_mode="all").'
        )
    return None


def replay_items(replay: StreamReplay) -> Iterator[Any]:
    pacer, stalls = replay.pacer, stall_plan(replay.stalls)
    for index, item in enumerate(replay.stream.items):
        if index in stalls:
            pacer.stall(stalls[index])
        if pacer.paces:
            pacer.wait(item.t)
        yield _decode_item(replay, index)
    if len(replay.stream.items) in stalls:
        pacer.stall(stalls[len(replay.stream.items)])
    error = _end_error(replay)
    if error is not None:
        raise error


async def areplay_items(replay: StreamReplay) -> AsyncIterator[Any]:
    pacer, stalls = replay.pacer, stall_plan(replay.stalls)
    for index, item in enumerate(replay.stream.items):
        if index in stalls:
            await pacer.astall(stalls[index])
        if pacer.paces:
            await pacer.await_(item.t)
        yield _decode_item(replay, index)
    if len(replay.stream.items) in stalls:
        await pacer.astall(stalls[len(replay.stream.items)])
    error = _end_error(replay)
    if error is not None:
        raise error


class StreamPlayback:
    """A recorded object stream to consume with ``for`` or ``async for``, as often as needed:
    each iteration replays it from its first item, paced from that iteration's start."""

    def __init__(
        self,
        stream: ObjectStream,
        *,
        path: Path,
        index: int,
        timing: Timing,
        speed: float,
        clock: Clock,
    ) -> None:
        self.stream, self.path, self.index = stream, path, index
        self._timing, self._speed, self._clock = timing, speed, clock

    def __repr__(self) -> str:
        return (
            f"<StreamPlayback of object stream {self.index} ({self.stream.name!r}) in {self.path}>"
        )

    def _replay(self) -> StreamReplay:
        pacer = Pacer(self._clock, self._timing, self._speed)
        return StreamReplay(self.stream, pacer, self.path, self.index)

    def __iter__(self) -> Iterator[Any]:
        yield from replay_items(self._replay())  # a generator: paced from the first next()

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for item in areplay_items(self._replay()):
            yield item


def replay_stream(
    path: str | Path,
    *,
    name: str = "stream",
    key: Any = None,
    index: int | None = None,
    timing: Timing | str = Timing.INSTANT,
    speed: float = 1.0,
    clock: Clock | None = None,
) -> StreamPlayback:
    """The object stream named ``name`` recorded in the cassette at ``path``, to replay with
    ``for`` or ``async for`` (for code that consumes a stream it does not produce: a UI).

    ``key``, when given, picks only streams recorded with an equal key; ``index`` picks among
    the streams that match (0, the default, is the first; -1 the last).
    """
    timing = parse_choice(Timing, timing, "timing")
    check_speed(speed)
    path = Path(path)
    cassette = fileformat.load(path)
    streams = cassette.streams
    if key is None:
        matches = [i for i, stream in enumerate(streams) if stream.name == name]
    else:
        wanted = scrub(
            encode_value(key, f"the key of the object stream {name!r}"), Redaction().scrubber()
        )
        matches = [i for i, stream in enumerate(streams) if same_stream(stream, name, wanted)]
    try:
        chosen = matches[0 if index is None else index]
    except IndexError:
        raise UnmatchedStreamError(
            _missing(path, streams, name, key, index, len(matches))
        ) from None
    return StreamPlayback(
        streams[chosen],
        path=path,
        index=chosen,
        timing=timing,
        speed=speed,
        clock=clock or RealClock(),
    )


def _missing(
    path: Path, streams: list[ObjectStream], name: str, key: Any, index: int | None, found: int
) -> str:
    wanted = f"the object stream {name!r}" + ("" if key is None else f" with key {key!r}")
    if found:
        return (
            f"Cassette {path} holds {found} recording(s) of {wanted}, so there is no index "
            f"{index}. Pass an index from {-found} to {found - 1}."
        )
    names = sorted({repr(stream.name) for stream in streams})
    holds = f"the object streams {', '.join(names)}" if names else "no object streams"
    if key is not None and repr(name) in names:
        keys = [repr(s.key) for s in streams if s.name == name]
        holds += f"; the keys recorded for {name!r} are {', '.join(keys)}"
    return (
        f"Cassette {path} holds no recording of {wanted}; it holds {holds}. Pass one of those "
        "names (and keys), or record the stream first with streamtest.record_stream."
    )
