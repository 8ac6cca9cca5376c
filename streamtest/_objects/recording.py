"""An object stream being recorded: each item is encoded and redacted the moment it passes."""

from __future__ import annotations

import threading
from typing import Any

from .._core.clock import Clock
from .._core.errors import StreamtestError, UnencodableItemError
from .._core.model import Item, ObjectStream, StreamError
from .._core.redaction import Scrubber
from .codecs import Unencodable, encode, find, scrub


def encode_value(obj: Any, what: str) -> Any:
    """``obj`` as JSON; ``what`` names it in the error ("item 3 of the object stream 'answer'")."""
    try:
        return encode(obj)
    except Unencodable as exc:
        cls = type(exc.obj)
        where = find(obj, exc.obj)
        inside = f" at {where}" if where else ""
        why_not = f" ({exc.why_not})" if exc.why_not else ""
        raise UnencodableItemError(
            f"{what[:1].upper()}{what[1:]} cannot be recorded: it holds a "
            f"{cls.__module__}.{cls.__qualname__}{inside}, which no codec stores{why_not}. "
            f"Register the class with streamtest.register_type({cls.__name__}) if it is a "
            "dataclass, a pydantic model or an enum, or pass a codec for it to "
            "streamtest.register_codec; or yield plain JSON values (dicts, lists, strings, "
            "numbers) instead."
        ) from None


class ObjectRecording:
    """Collects one object stream while the consumer reads it live (a `StreamRecorder`).

    Created at the consumer's first request for an item: offsets count from then. The wrapper
    calls `item` for every item that passes, then exactly one of `complete`, `fail` or `close`;
    later calls are ignored, so a close after a failure keeps the failure.
    """

    def __init__(self, name: str, key: Any, clock: Clock, scrubber: Scrubber) -> None:
        self.name, self.key = name, key
        self._clock, self._scrubber = clock, scrubber
        self._start = clock.now()
        self._items: list[Item] = []
        self._error: StreamError | None = None
        self._closed = False
        self._discarded = False
        self._ended = threading.Event()  # the session may snapshot from another thread

    def item(self, obj: Any) -> None:
        """Store ``obj`` as it is now (a later mutation does not reach the cassette). An item
        no codec stores discards the whole recording: a stream with a hole replays wrongly."""
        t = self._clock.now() - self._start
        what = f"item {len(self._items)} of the object stream {self.name!r}"
        try:
            value = encode_value(obj, what)
        except UnencodableItemError:
            self._discarded = True
            self._ended.set()
            raise
        if not self._ended.is_set():
            self._items.append(Item(t, scrub(value, self._scrubber)))

    def complete(self) -> None:
        self._ended.set()

    def fail(self, error: BaseException) -> None:
        """The source raised. streamtest's own errors (a request the cassette does not answer
        inside the source, a model missing to record from) say nothing about the stream: they
        discard the recording rather than store a failure a replay would repeat."""
        if not self._ended.is_set():
            if isinstance(error, StreamtestError):
                self._discarded = True
            else:
                self._error = StreamError(type(error).__name__, str(error))
            self._ended.set()

    def close(self) -> None:
        """The consumer stopped reading; unless the stream already ended, it ended early."""
        if not self._ended.is_set():
            self._closed = True
            self._ended.set()

    def recorded(self) -> ObjectStream | None:
        if self._discarded:
            return None
        closed = self._closed or not self._ended.is_set()
        error = self._error
        return ObjectStream(
            self.name, tuple(self._items), self.key, error, closed and error is None
        )
