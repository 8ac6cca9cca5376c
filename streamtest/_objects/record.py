"""`record_stream`: record the items of any iterator or async iterator, or replay them.

The stream is routed at the consumer's first request for an item, not when `record_stream` is
called: only then is it known to be consumed, and recorded offsets count from then. Replay never
iterates the source (a generator source is closed unstarted, so none of its code runs).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

from .._core import fileformat, filelock
from .._core.clock import Clock, Timing
from .._core.errors import StreamtestError
from .._core.model import Cassette
from .._core.modes import RecordMode
from .._core.redaction import Redaction
from .._session import Session, StreamReplay, same_stream, use_cassette
from .._version import __version__
from .._wire import patch
from .codecs import scrub
from .recording import ObjectRecording, encode_value
from .replay import areplay_items, replay_items

T = TypeVar("T")
_write_lock = threading.Lock()  # one standalone write at a time: each reads the file it extends


@dataclass(frozen=True, slots=True)
class _Route:
    replay: StreamReplay | None
    recording: ObjectRecording
    done: Callable[[], None]  # called once the stream has ended; writes a standalone cassette


class _Target:
    """The session a stream is routed in: the active one, or a standalone one for this stream."""

    def __init__(self, name: str, key: Any, path: Path | None, options: dict[str, Any]) -> None:
        self.name = name
        self.key = encode_value(key, f"the key of the object stream {name!r}")
        self.standalone = use_cassette(path, **options) if path is not None else None
        self.session: Session | None = None
        if self.standalone is None:
            if given := [option for option, value in options.items() if value is not None]:
                raise ValueError(
                    f"record_stream got {', '.join(given)} without path=: inside a cassette the "
                    "cassette's own options apply. Pass them to use_cassette (or the streamtest "
                    "marker), or pass path= to record this stream in a cassette of its own."
                )
            router = patch.current()
            if not isinstance(router, Session):
                raise StreamtestError(
                    f"record_stream found no active cassette for the object stream {name!r}. "
                    "Pass path= (a cassette file for this stream), or call it inside "
                    "`with streamtest.use_cassette(...)` or a pytest test that uses the "
                    "cassette fixture or the streamtest marker."
                )
            self.session = router

    def route(self) -> _Route:
        session = self.session
        if session is None:
            assert self.standalone is not None
            session = self.standalone.session()  # the file is read now, at the first item
        key = scrub(self.key, session.scrubber)
        recording = ObjectRecording(self.name, key, session.clock, session.scrubber)
        replay = session.route_stream(self.name, key, recording)
        done = (lambda: None) if self.standalone is None else (lambda: _save_merged(session))
        return _Route(replay, recording, done)


def _save_merged(session: Session) -> None:
    """Add a standalone stream's recording to its file as the file is now, atomically; in
    record mode "all" it replaces the recordings of the same name and key."""
    streams = session.new_streams()
    if not streams:
        return
    path = session.cassette.path
    with _write_lock, filelock.locked(path):
        current = fileformat.load(path) if path.exists() else Cassette(path)
        kept = current.streams
        if session.plan.mode is RecordMode.ALL:
            kept = [s for s in kept if not any(same_stream(s, n.name, n.key) for n in streams)]
        current.streams = [*kept, *streams]
        fileformat.save(current, recorded_with=f"streamtest {__version__}")


def _record(source: Iterable[T], target: _Target) -> Iterator[T]:
    route = target.route()  # a generator: this runs at the consumer's first next()
    if route.replay is not None:
        if inspect.isgenerator(source):
            source.close()
        yield from replay_items(route.replay)
        return
    recording = route.recording
    iterator: Iterator[T] | None = None
    try:
        while True:
            try:
                # iter() in here too: a source that cannot even start has failed
                iterator = iter(source) if iterator is None else iterator
                item = next(iterator)
            except StopIteration:
                recording.complete()
                return
            except Exception as exc:
                recording.fail(exc)
                raise  # the source's own exception, unchanged
            recording.item(item)
            yield item
    finally:
        recording.close()  # the consumer stopped early (a no-op when the stream ended)
        if inspect.isgenerator(iterator):
            iterator.close()
        route.done()


async def _arecord(source: AsyncIterable[T], target: _Target) -> AsyncIterator[T]:
    route = target.route()  # runs at the consumer's first __anext__()
    if route.replay is not None:
        if inspect.isasyncgen(source):
            await source.aclose()
        async for replayed in areplay_items(route.replay):
            yield replayed
        return
    recording = route.recording
    iterator: AsyncIterator[T] | None = None
    try:
        while True:
            try:
                # aiter() in here too: a source that cannot even start has failed
                iterator = aiter(source) if iterator is None else iterator
                item = await anext(iterator)
            except StopAsyncIteration:
                recording.complete()
                return
            except Exception as exc:
                recording.fail(exc)
                raise
            recording.item(item)
            yield item
    finally:
        recording.close()
        if inspect.isasyncgen(iterator):
            await iterator.aclose()
        route.done()


def file_options(
    path: str | Path | None, record_mode: str | None, timing: str, speed: float
) -> dict[str, Any]:
    """The `record_stream` options of a wrapper given ``cassette=path`` (`CassetteChatModel`,
    `CassetteGraph`): none without a path, where the active cassette's own options apply."""
    if path is None:
        return {}
    return {"path": path, "record_mode": record_mode, "timing": timing, "speed": speed}


@overload
def record_stream(
    source: AsyncIterable[T],
    *,
    name: str = ...,
    key: Any = ...,
    path: str | Path | None = ...,
    record_mode: RecordMode | str | None = ...,
    timing: Timing | str | None = ...,
    speed: float | None = ...,
    clock: Clock | None = ...,
    redact: Redaction | None = ...,
) -> AsyncIterator[T]: ...


@overload
def record_stream(
    source: Iterable[T],
    *,
    name: str = ...,
    key: Any = ...,
    path: str | Path | None = ...,
    record_mode: RecordMode | str | None = ...,
    timing: Timing | str | None = ...,
    speed: float | None = ...,
    clock: Clock | None = ...,
    redact: Redaction | None = ...,
) -> Iterator[T]: ...


def record_stream(
    source: Iterable[T] | AsyncIterable[T],
    *,
    name: str = "stream",
    key: Any = None,
    path: str | Path | None = None,
    record_mode: RecordMode | str | None = None,
    timing: Timing | str | None = None,
    speed: float | None = None,
    clock: Clock | None = None,
    redact: Redaction | None = None,
) -> Iterator[T] | AsyncIterator[T]:
    """The items of ``source``, recorded into a cassette as they pass, or replayed from it.

    Returns an async iterator when ``source`` has ``__aiter__``, else an iterator. Without
    ``path`` the stream lives in the innermost active cassette (``use_cassette`` or the pytest
    fixture/marker) and follows its options; with ``path`` it has a cassette of its own, with
    the other options as for ``use_cassette``: the file is read at the first item and written
    when the stream ends, merged with what the file holds then. The stored form is described in
    ``docs/cassette-format.md`` ("Object streams").
    """
    options = {
        "record_mode": record_mode,
        "timing": timing,
        "speed": speed,
        "clock": clock,
        "redact": redact,
    }
    if path is not None:  # use_cassette's own defaults for the options not given
        options = {option: value for option, value in options.items() if value is not None}
    if not isinstance(source, AsyncIterable | Iterable):
        raise TypeError(
            f"record_stream needs an iterable or an async iterable, not {type(source).__name__}."
        )
    target = _Target(name, key, None if path is None else Path(path), options)
    if isinstance(source, AsyncIterable):
        return _arecord(source, target)
    return _record(source, target)
