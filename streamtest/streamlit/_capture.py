"""`capture_app` and `run_app`: an AppTest run under a cassette, and what the app showed."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack

from .._core import fileformat
from .._core.choices import parse_choice
from .._core.clock import Timing
from .._core.errors import StreamtestError
from .._core.faults import Fault
from .._core.matching import DEFAULT_MATCH_ON, Matcher
from .._core.model import Cassette
from .._core.modes import RecordMode
from .._core.redaction import Redaction
from .._objects import record_stream
from .._session import use_cassette
from ._frames import EMPTY, STREAM_NAME, Frame, delta_of, plain_value, strip_cursor
from ._hooks import installed

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

Streams = Literal["wire", "objects"]
_MARGIN = 5.0
"""Seconds of AppTest timeout beyond a realtime replay's recorded duration."""


class AppRun:
    """What an app showed while captured; filled in as it runs.

    ``frames``: every state of every element, in the order the app sent them (consecutive equal
    states of one element are kept once, placeholders are left out). ``values``: what each
    ``st.write_stream`` call returned, in call order. ``errors``: what the calls that failed
    raised. ``app``: the AppTest, for anything else (``shown.app.chat_message``, widgets...).
    """

    def __init__(self, app: AppTest, streams: Streams) -> None:
        self.app, self.streams_mode = app, streams
        self.frames: list[Frame] = []
        self.values: list[Any] = []
        self.errors: list[BaseException] = []
        self._run = -1
        self._context: Any = None
        self._calls = 0
        self._open: list[tuple[int, str]] = []  # (index, cursor) of write_stream calls running
        self._latest: dict[tuple[int, ...], Frame] = {}

    # -- what the tests read

    @property
    def value(self) -> Any:
        """What the last ``st.write_stream`` call returned (text, or a list of what it wrote)."""
        if not self.values:
            raise StreamtestError(
                "No st.write_stream call returned during the capture"
                + (f"; {len(self.errors)} raised (see .errors)." if self.errors else ".")
            )
        return self.values[-1]

    @property
    def elements(self) -> list[Frame]:
        """The final state of each element the last run showed, in page order."""
        last = [f for f in self._latest.values() if f.run == self._run and f.kind != EMPTY]
        return sorted(last, key=lambda frame: frame.path)

    def texts(self, stream: int | None = None, *, element: int = -1) -> list[str]:
        """The successive texts of one element drawn by ``st.write_stream`` call number
        ``stream`` (default: the last call that drew text): the answer as it was typed out.
        A call that wrote text, then a DataFrame, then more text drew two text elements;
        ``element`` picks one, in page order (default: the last)."""
        streamed = [f for f in self.frames if f.stream is not None and f.text is not None]
        if stream is None and streamed:
            stream = streamed[-1].stream
        mine = [f for f in streamed if f.stream == stream]
        paths = sorted({f.path for f in mine})
        if not paths:
            return []
        path = paths[element]
        return [f.text for f in mine if f.path == path and f.text is not None]

    def to_data(self) -> dict[str, Any]:
        """Frames, return values and final elements as plain data (the ``app`` snapshot)."""
        return {
            "values": [plain_value(v) for v in self.values],
            "errors": [f"{_qualified(type(e))}: {e}" for e in self.errors],
            "frames": [f.to_data() for f in self.frames],
            "elements": [f.to_data() for f in self.elements],
        }

    # -- what the patch points report (on the script's thread)

    def message(self, msg: Any) -> None:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        context = get_script_run_ctx(suppress_warning=True)
        if context is not None and context is not self._context:  # AppTest: one per run
            self._context, self._run = context, self._run + 1
            self._latest.clear()
        found = delta_of(msg)
        if found is None:
            return
        path, kind, value = found
        stream, cursor = self._open[-1] if self._open else (None, "")
        frame = Frame(max(self._run, 0), stream, path, kind, strip_cursor(value, cursor))
        before = self._latest.get(path)
        for other in [p for p in self._latest if p[: len(path)] == path and p != path]:
            del self._latest[other]  # a container replaced: its children are gone
        self._latest[path] = frame
        if kind == EMPTY or (
            before is not None and (before.kind, before.value) == (kind, frame.value)
        ):
            return
        self.frames.append(frame)

    def stream_started(self, cursor: str) -> None:
        self._open.append((self._calls, cursor))
        self._calls += 1

    def stream_ended(self, value: Any, error: BaseException | None) -> None:
        self._open.pop()
        if error is None:
            self.values.append(value)
        else:
            self.errors.append(error)

    def stream_source(self, stream: Any) -> Any:
        """``stream`` itself (``"wire"``), or for ``"objects"`` a generator's items recorded or
        replayed as an object stream (replay never runs the generator)."""
        if self.streams_mode == "wire":
            return stream
        if inspect.isgeneratorfunction(stream) or inspect.isasyncgenfunction(stream):
            stream = stream()
        if inspect.isasyncgen(stream):
            return _async_generator(record_stream(stream, name=STREAM_NAME))
        if inspect.isgenerator(stream):
            return record_stream(stream, name=STREAM_NAME)
        return stream  # an SDK stream or a list: the wire replays what it needs


def _qualified(cls: type) -> str:
    """A class named as Streamlit's exception element names it (``openai.APIConnectionError``;
    builtins unqualified)."""
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


async def _async_generator(items: AsyncIterator[Any]) -> Any:
    # write_stream converts only real async generators (inspect.isasyncgen) to sync ones
    async for item in items:
        yield item


@contextlib.contextmanager
def capture_app(
    app: AppTest,
    *,
    cassette: str | Path | None = None,
    streams: Streams = "wire",
    record_mode: RecordMode | str | None = None,
    timing: Timing | str = Timing.INSTANT,
    speed: float = 1.0,
    match_on: Sequence[str | Matcher] = DEFAULT_MATCH_ON,
    redact: Redaction | None = None,
    timeout: float | None = None,
    faults: Fault | str | Sequence[Fault | str] | None = None,
) -> Iterator[AppRun]:
    """Capture what ``app`` shows while inside, replaying (or recording) ``cassette``.

    Without ``cassette`` the active one (the pytest ``cassette`` fixture's, an outer
    ``use_cassette``) replays, if any. ``streams``: see the module doc. ``timing``, ``speed``,
    ``match_on``, ``redact``, ``record_mode`` and ``faults`` are `use_cassette`'s. Instant
    replay fits AppTest's default 3 s timeout; for realtime, ``app.default_timeout`` is raised
    to the cassette's recorded duration (divided by ``speed``) plus 5 s, unless ``timeout`` is
    given.
    Every patch is undone on exit, even when the app fails.
    """
    if streams not in ("wire", "objects"):
        raise ValueError(f'streams must be "wire" or "objects", not {streams!r}.')
    timing = parse_choice(Timing, timing, "timing")
    run = AppRun(app, streams)
    saved_timeout = app.default_timeout
    if timeout is not None:
        app.default_timeout = timeout
    elif timing is not Timing.INSTANT and cassette is not None and Path(cassette).exists():
        needed = _duration(fileformat.load(cassette)) / speed + _MARGIN
        app.default_timeout = max(saved_timeout, needed)
    tape = (
        use_cassette(
            cassette,
            record_mode=record_mode,
            timing=timing,
            speed=speed,
            match_on=match_on,
            redact=redact,
            faults=faults,
        )
        if cassette is not None
        else contextlib.nullcontext()
    )
    try:
        with tape, installed(run):
            yield run
    finally:
        app.default_timeout = saved_timeout


class CaptureOptions(TypedDict, total=False):
    """`capture_app`'s keyword arguments, which `run_app` passes on."""

    cassette: str | Path | None
    streams: Streams
    record_mode: RecordMode | str | None
    timing: Timing | str
    speed: float
    match_on: Sequence[str | Matcher]
    redact: Redaction | None
    timeout: float | None
    faults: Fault | str | Sequence[Fault | str] | None


def run_app(app: AppTest | str | Path, **options: Unpack[CaptureOptions]) -> AppRun:
    """Run ``app`` (an AppTest, or the path of a script) once under `capture_app`."""
    if isinstance(app, str | Path):
        from streamlit.testing.v1 import AppTest

        app = AppTest.from_file(str(app))
    with capture_app(app, **options) as shown:
        shown.app.run()
    return shown


def _duration(cassette: Cassette) -> float:
    """The recorded seconds of all interactions and object streams, end to end."""
    total = 0.0
    for interaction in cassette.interactions:
        response = interaction.response
        total += max([response.t, *(chunk.t for chunk in response.chunks)])
    for stream in cassette.streams:
        total += max([0.0, *(item.t for item in stream.items)])
    return total
