"""The Streamlit adapter's patch points, installed only while an app is captured.

1. ``ForwardMsgQueue.on_before_enqueue_msg``: Streamlit's own hook, called with every message a
   script sends, before the queue merges deltas of one element (so every state of a text being
   typed out is seen). It is process-global: the previous hook is kept, called, and restored.
2. ``st.write_stream`` (the ``WriteMixin`` method and the module-level name, which Streamlit
   binds to the main container at import): wrapped to learn each call's cursor and return value,
   and, for ``streams="objects"``, to swap the generator it is given for a recorded stream.
   Streamlit offers no hook for either.

Everything is restored on exit, even when the app failed or timed out. One capture at a time.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from .._core.errors import StreamtestError

_lock = threading.Lock()


class Listener(Protocol):
    """What the patch points report to (an `AppRun` being captured)."""

    def message(self, msg: Any) -> None: ...

    def stream_source(self, stream: Any) -> Any: ...

    def stream_started(self, cursor: str) -> None: ...

    def stream_ended(self, value: Any, error: BaseException | None) -> None: ...


@contextlib.contextmanager
def installed(listener: Listener) -> Iterator[None]:
    """Report every message and ``write_stream`` call to ``listener`` while inside."""
    import streamlit
    from streamlit.elements.write import WriteMixin
    from streamlit.runtime.forward_msg_queue import ForwardMsgQueue

    if not _lock.acquire(blocking=False):
        raise StreamtestError(
            "Another Streamlit app is being captured in this process; capture_app and run_app "
            "take one app at a time. Finish the other `with capture_app(...)` block first."
        )
    previous_hook = ForwardMsgQueue._before_enqueue_msg
    original = WriteMixin.__dict__["write_stream"]
    module_level = streamlit.write_stream

    def hook(msg: Any) -> None:
        listener.message(msg)
        if previous_hook is not None:
            previous_hook(msg)

    def write_stream(self: Any, stream: Any, *, cursor: str | None = None) -> Any:
        listener.stream_started(cursor or "")
        try:
            value = original(self, listener.stream_source(stream), cursor=cursor)
        except BaseException as exc:
            listener.stream_ended(None, exc)
            raise
        listener.stream_ended(value, None)
        return value

    main = getattr(module_level, "__self__", None)
    try:
        ForwardMsgQueue.on_before_enqueue_msg(hook)
        WriteMixin.write_stream = write_stream  # type: ignore[method-assign]
        streamlit.write_stream = _bound(write_stream, main)
        yield
    finally:
        ForwardMsgQueue.on_before_enqueue_msg(previous_hook)
        WriteMixin.write_stream = original  # type: ignore[method-assign]
        streamlit.write_stream = module_level
        _lock.release()


def _bound(function: Callable[..., Any], owner: Any) -> Callable[..., Any]:
    """``function`` bound to ``owner`` (Streamlit's main container), as ``st.write_stream`` is."""

    def write_stream(stream: Any, *, cursor: str | None = None) -> Any:
        return function(owner, stream, cursor=cursor)

    return write_stream
