"""`use_cassette`: ties a cassette file, record mode, matching, redaction and clock to the wire."""

from __future__ import annotations

import functools
import inspect
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

from ._core import fileformat, filelock
from ._core.choices import parse_choice
from ._core.clock import Clock, Pacer, RealClock, Timing, check_gap, check_speed
from ._core.errors import (
    StreamtestError,
    StreamtestWarning,
    UnmatchedRequestError,
    UnmatchedStreamError,
)
from ._core.faults import Fault, Injector
from ._core.faulttext import environment_faults, faults_of
from ._core.matching import (
    DEFAULT_MATCH_ON,
    Matcher,
    NamedMatcher,
    canonical_json,
    resolve_matchers,
)
from ._core.model import Cassette, Interaction, ObjectStream, Request
from ._core.modes import Plan, RecordMode, default_record_mode
from ._core.recording import Recording
from ._core.redaction import Redaction, Scrubber
from ._unmatched import stream_miss_message, unmatched_message
from ._version import __version__
from ._wire import patch
from ._wire.routing import Replay

F = TypeVar("F", bound=Callable[..., Any])


class StreamRecorder(Protocol):
    """An object stream being recorded, as the session sees it (see ``streamtest._objects``)."""

    def recorded(self) -> ObjectStream | None:
        """The stream so far (one still open ends ``closed``), or None when there is nothing to
        keep."""
        ...


@dataclass(frozen=True, slots=True)
class StreamReplay:
    """Replay ``stream``, recorded as object stream number ``index`` of the cassette at ``path``,
    paced by ``pacer``, with injected ``stalls`` (see `streamtest._core.faults`)."""

    stream: ObjectStream
    pacer: Pacer
    path: Path
    index: int
    stalls: tuple[tuple[int, float], ...] = ()
    faults: tuple[str, ...] = ()
    """Injected pauses (seconds before item number ``index``) and the faults applied."""

    @property
    def origin(self) -> str:
        """Where the stream is recorded, for error messages."""
        faults = f" with injected faults ({'; '.join(self.faults)})" if self.faults else ""
        return f"{self.path} (object stream {self.index}, {self.stream.name!r}){faults}"


def same_stream(stream: ObjectStream, name: str, key: Any) -> bool:
    """Whether ``stream`` is recorded under ``name`` and a key equal to ``key`` as JSON."""
    return stream.name == name and canonical_json(stream.key) == canonical_json(key)


class Session:
    """One activation of a cassette: routes each live request, and each object stream, to replay
    or recording."""

    def __init__(
        self,
        cassette: Cassette,
        plan: Plan,
        *,
        matchers: tuple[NamedMatcher, ...],
        scrubber: Scrubber,
        clock: Clock,
        timing: Timing,
        speed: float,
        untimed_gap: float,
        allow_playback_repeats: bool,
        started_with: filelock.FileState = None,
        injector: Injector | None = None,
    ) -> None:
        """``started_with``: the cassette file's state before it was read (see `finish`);
        ``injector``: the faults to inject into replays (see `streamtest._core.faults`)."""
        self.injector = injector
        self.cassette, self.plan = cassette, plan
        self.started_with = started_with
        self.untimed_gap = untimed_gap
        self.matchers, self.scrubber, self.clock = matchers, scrubber, clock
        self.timing, self.speed, self.repeats = timing, speed, allow_playback_repeats
        self.recorded: tuple[Interaction, ...] = (
            tuple(cassette.interactions) if plan.replays else ()
        )
        self.played: set[int] = set()
        self.recordings: list[Recording] = []
        self.recorded_streams = tuple(cassette.streams) if plan.replays else ()
        self.played_streams: set[int] = set()
        self.stream_recorders: list[StreamRecorder] = []
        self.misses: list[UnmatchedRequestError | UnmatchedStreamError] = []
        self.finished = False
        self._lock = threading.Lock()

    def _matches(self, live: Request) -> list[int]:
        return [
            i
            for i, it in enumerate(self.recorded)
            if all(m.match(live, it.request) for m in self.matchers)
        ]

    def route(self, request: Request) -> Replay | Recording:
        live = self.scrubber.request(request)
        with self._lock:
            matches = self._matches(live)
            fresh = [i for i in matches if i not in self.played]
            if fresh or (matches and self.repeats):
                index = fresh[0] if fresh else matches[-1]
                return self._replay(index, live)
            if self.plan.records:
                recording = Recording(live, self.clock)
                self.recordings.append(recording)
                return recording
            error = UnmatchedRequestError(
                unmatched_message(
                    live,
                    self.recorded,
                    self.matchers,
                    played=self.played,
                    path=self.cassette.path,
                    mode=self.plan.mode,
                    exists=self.plan.replays,
                )
            )
            self.misses.append(error)
            raise error

    def _replay(self, index: int, live: Request) -> Replay:
        origin = f"{self.cassette.path} (interaction {index})"
        response = self.recorded[index].response
        gap = None if response.timed else self.untimed_gap
        pacer = Pacer(self.clock, self.timing, self.speed, untimed_gap=gap)
        shaped = None if self.injector is None else self.injector.shape(response, live)
        if shaped is None:
            self.played.add(index)
            return Replay(response, pacer, origin)
        if not shaped.fails:  # an injected failure leaves the recording for a retry
            self.played.add(index)
        origin += f" with injected faults ({'; '.join(shaped.faults)})"
        return Replay(
            shaped.response, pacer, origin, shaped.stalls, functools.partial(self._release, index)
        )

    def _release(self, index: int) -> None:
        with self._lock:
            self.played.discard(index)

    def route_stream(self, name: str, key: Any, recorder: StreamRecorder) -> StreamReplay | None:
        """Replay the first unplayed recorded object stream named ``name`` whose key equals
        ``key`` (an encoded, redacted JSON value), or else one recorded without a key; else
        keep ``recorder``'s stream for the cassette and return None; else raise
        `UnmatchedStreamError`."""
        with self._lock:
            if self.finished:
                raise StreamtestError(
                    f"The object stream {name!r} began after the cassette {self.cassette.path} "
                    "was closed, so it can be neither replayed nor recorded. Iterate the stream "
                    "inside the `with use_cassette(...)` block (or the test) that created it."
                )
            matches = [
                i
                for i, stream in enumerate(self.recorded_streams)
                if same_stream(stream, name, key)
            ] or [
                # a stream recorded without a key answers a call with any key, when no stream
                # recorded with that very key does
                i
                for i, stream in enumerate(self.recorded_streams)
                if stream.name == name and stream.key is None
            ]
            fresh = [i for i in matches if i not in self.played_streams]
            if fresh or (matches and self.repeats):
                index = fresh[0] if fresh else matches[-1]
                pacer = Pacer(self.clock, self.timing, self.speed)
                stream = self.recorded_streams[index]
                shaped = None if self.injector is None else self.injector.shape_stream(stream)
                if shaped is None or not shaped.fails:  # (as for interactions: see _replay)
                    self.played_streams.add(index)
                if shaped is None:
                    return StreamReplay(stream, pacer, self.cassette.path, index)
                return StreamReplay(
                    shaped.stream, pacer, self.cassette.path, index, shaped.stalls, shaped.faults
                )
            if self.plan.records:
                self.stream_recorders.append(recorder)
                return None
            error = UnmatchedStreamError(
                stream_miss_message(
                    name,
                    key,
                    self.recorded_streams,
                    played=matches,
                    path=self.cassette.path,
                    mode=self.plan.mode,
                    exists=self.plan.replays,
                )
            )
            self.misses.append(error)
            raise error

    def new_interactions(self) -> list[Interaction]:
        with self._lock:
            recordings = [r for r in self.recordings if r.started]
        out = []
        for recording in recordings:
            interaction = recording.interaction()
            out.append(
                Interaction(interaction.request, self.scrubber.response(interaction.response))
            )
        return out

    def new_streams(self) -> list[ObjectStream]:
        with self._lock:
            recorders = list(self.stream_recorders)
        return [stream for r in recorders if (stream := r.recorded()) is not None]

    def finish(self) -> None:
        """Store what was recorded, atomically; a replay-only session writes nothing."""
        with self._lock:
            self.finished = True  # first: a stream routed after this point is refused, not lost
        new, streams = self.new_interactions(), self.new_streams()
        if not new and not streams:
            return
        path = self.cassette.path
        with filelock.locked(path):
            # Another process (a pytest-xdist worker sharing this cassette) may have saved it
            # while this session ran: add to the file as it is now, not as it was at start. In
            # mode "all" the file is replaced, unless it changed since the start: then it holds
            # what another process recorded in this same run.
            changed = filelock.file_state(path) not in (self.started_with, None)
            if path.exists() and (changed or self.plan.mode is not RecordMode.ALL):
                current = fileformat.load(path)
                kept, kept_streams = current.interactions, current.streams
            else:
                kept, kept_streams = list(self.recorded), list(self.recorded_streams)
            self.cassette.interactions = [*kept, *new]
            self.cassette.streams = [*kept_streams, *streams]
            fileformat.save(self.cassette, recorded_with=f"streamtest {__version__}")


_scrubbers: dict[object, Scrubber] = {}
# pytest rewrites this variable for every phase of every test: left out of the key unless a
# secret pattern could match it.
_VOLATILE = frozenset({"PYTEST_CURRENT_TEST", b"PYTEST_CURRENT_TEST"})


def _environment_key(redact: Redaction) -> frozenset[object] | None:
    environ = getattr(os.environ, "_data", None)  # CPython's raw mapping: no decoding per read
    if not isinstance(environ, dict):
        return None
    if any(fnmatchcase("PYTEST_CURRENT_TEST", p.upper()) for p in redact.env_patterns):
        return frozenset(environ.items())
    return frozenset(item for item in environ.items() if item[0] not in _VOLATILE)


def _scrubber(redact: Redaction) -> Scrubber:
    """``redact.scrubber()``, reused while the environment is the same: the scrubber depends only
    on the rules and the environment, and reading the environment (every variable against the
    secret patterns) was the largest fixed cost of entering a cassette (docs/benchmarks.md)."""
    try:
        environment = _environment_key(redact)
        key = None if environment is None else (redact, environment)
        hash(key)
    except TypeError:  # rules built with unhashable values: nothing to key on
        key = None
    if key is None:
        return redact.scrubber()
    scrubber = _scrubbers.get(key)
    if scrubber is None:
        if len(_scrubbers) >= 32:
            _scrubbers.clear()
        scrubber = _scrubbers[key] = redact.scrubber()
    return scrubber


class use_cassette:  # named like a function: it is used like vcrpy's use_cassette
    """Replay (or record) the HTTP streams of the code inside, from the cassette at ``path``.

    A context manager (``with``/``async with``, yielding the `Cassette`) and a decorator for
    sync and async functions. See the README for each option.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        record_mode: RecordMode | str | None = None,
        timing: Timing | str = Timing.INSTANT,
        speed: float = 1.0,
        untimed_gap: float = 0.0,
        match_on: Sequence[str | Matcher] = DEFAULT_MATCH_ON,
        redact: Redaction | None = None,
        allow_playback_repeats: bool = False,
        clock: Clock | None = None,
        faults: Fault | str | Sequence[Fault | str] | None = None,
    ) -> None:
        self.path = Path(path)
        # a bad fault is an error here, not at the first replay
        self.own_faults = faults_of(faults)
        self.faults = (*self.own_faults, *environment_faults())
        self.record_mode = (
            default_record_mode() if record_mode is None else RecordMode.parse(record_mode)
        )
        self.timing = parse_choice(Timing, timing, "timing")
        check_speed(speed)
        check_gap(untimed_gap)
        self.speed, self.untimed_gap = speed, untimed_gap
        self.matchers = resolve_matchers(match_on)
        self.redact = Redaction() if redact is None else redact
        self.allow_playback_repeats = allow_playback_repeats
        self.clock = clock or RealClock()
        self._sessions: list[Session] = []

    def session(self) -> Session:
        """A new session on this cassette, not activated: nothing is patched. (A standalone
        ``record_stream(..., path=...)`` uses one for its single object stream.)"""
        started_with = filelock.file_state(self.path)  # first: a later save shows as a change
        plan = Plan(self.record_mode, exists=started_with is not None)
        # Only a cassette that replays is read: "all" records over a file, even a broken one.
        cassette = fileformat.load(self.path) if plan.replays else Cassette(self.path)
        return Session(
            cassette,
            plan,
            matchers=self.matchers,
            scrubber=_scrubber(self.redact),
            clock=self.clock,
            timing=self.timing,
            speed=self.speed,
            untimed_gap=self.untimed_gap,
            allow_playback_repeats=self.allow_playback_repeats,
            started_with=started_with,
            injector=Injector(self.faults) if self.faults else None,
        )

    def _start(self) -> Cassette:
        session = self.session()
        self._sessions.append(session)
        patch.activate(session)
        return session.cassette

    def _stop(self, exc: BaseException | None) -> None:
        session = self._sessions.pop()
        patch.deactivate(session)
        session.finish()
        if session.injector is not None:
            self._warn_unused(session.injector.unused(), session.plan.replays)
        if session.misses and exc not in session.misses:
            # The miss may have been swallowed or wrapped by the code under test: say it plainly.
            raise session.misses[0]

    def _warn_unused(self, unused: list[Fault], replays: bool) -> None:
        """A fault given to this cassette (not a suite-wide one from STREAMTEST_FAULTS) that
        reshaped nothing leaves a test passing without the failure it meant to exercise."""
        own = [f for f in self.own_faults if any(f is idle for idle in unused)]  # (as given)
        if not own:
            return
        why = (
            "it reached no replay (no request, or none it picks with skip and times)"
            if replays
            else f"faults reshape replays only, and this cassette recorded (record mode "
            f"{self.record_mode.value!r}, {'file present' if self.path.exists() else 'no file'})"
        )
        names = ", ".join(_described(fault) for fault in own)
        warnings.warn(
            f"The fault(s) {names} given to the cassette {self.path} changed nothing: {why}. "
            "Check the test sends the request it means to break, or remove the fault.",
            StreamtestWarning,
            stacklevel=3,
        )

    def __enter__(self) -> Cassette:
        return self._start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop(exc)

    async def __aenter__(self) -> Cassette:
        return self._start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop(exc)

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with self:
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def _described(fault: Fault) -> str:
    describe = getattr(fault, "describe", None)  # the built-in faults' text form
    return repr(describe()) if callable(describe) else repr(fault)


def load_cassette(path: str | Path) -> Cassette:
    """Read a cassette file; a bad one raises `CassetteError` naming the path and the problem."""
    return fileformat.load(path)
