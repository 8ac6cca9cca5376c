"""The one place streamtest patches anything.

Patch point, per HTTP stack (httpx and httpx2): ``HTTPTransport.handle_request`` and
``AsyncHTTPTransport.handle_async_request``, the methods every client of that stack calls to put
a request on the network (the openai and anthropic SDKs included, and any client given a plain
``httpx.Client``). Transports that never reach the network (``MockTransport``, ASGI/WSGI) are
left alone. The patch is installed when the first session activates and the original methods
are restored when the last one ends. With no active session the original runs untouched.

Active sessions form a stack shared by all threads (apps stream from worker threads, and
contextvars do not follow them there); the innermost session routes every request.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from .._core.model import Request
from .._core.recording import Recording
from .routing import Replay, Router
from .streams import StackStreams

STACK_NAMES = ("httpx", "httpx2")
_lock = threading.RLock()
_active: list[Router] = []
_originals: list[tuple[type, str, Any]] = []
_stack_streams: dict[str, StackStreams] = {}


def _live_request(request: Any) -> Request:
    return Request(
        request.method, str(request.url), tuple(request.headers.multi_items()), request.content
    )


def _replay_response(streams: StackStreams, replay: Replay, request: Any, stream: Any) -> Any:
    response = replay.response
    return streams.module.Response(
        response.status,
        headers=list(response.headers),
        stream=stream,
        request=request,
        # no "reason_phrase": a cassette keeps none, and httpx then gives the status's
        # standard phrase ("Too Many Requests"), as a real server would have sent
        extensions={"http_version": b"HTTP/1.1"},
    )


def _record_head(recording: Recording, response: Any) -> None:
    recording.head(response.status_code, tuple(response.headers.multi_items()))


def _patched(streams: StackStreams, original: Any) -> Any:
    def handle_request(transport: Any, request: Any) -> Any:
        router = current()
        if router is None:
            return original(transport, request)
        request.read()
        route = router.route(_live_request(request))
        if isinstance(route, Replay):
            route.pacer.wait(route.response.t)
            stream = streams.ReplayStream(route, request)
            return _replay_response(streams, route, request, stream)
        response = original(transport, request)
        _record_head(route, response)
        response.stream = streams.TeeStream(response.stream, route)
        return response

    return handle_request


def _patched_async(streams: StackStreams, original: Any) -> Any:
    async def handle_async_request(transport: Any, request: Any) -> Any:
        router = current()
        if router is None:
            return await original(transport, request)
        await request.aread()
        route = router.route(_live_request(request))
        if isinstance(route, Replay):
            await route.pacer.await_(route.response.t)
            stream = streams.AsyncReplayStream(route, request)
            return _replay_response(streams, route, request, stream)
        response = await original(transport, request)
        _record_head(route, response)
        response.stream = streams.AsyncTeeStream(response.stream, route)
        return response

    return handle_async_request


def _streams(module: Any) -> StackStreams:
    """The stream classes of ``module``, built once per process: building them (8 classes) cost
    more than the rest of activating a cassette (see docs/benchmarks.md, "pytest fixture")."""
    streams = _stack_streams.get(module.__name__)
    if streams is None or streams.module is not module:
        streams = _stack_streams[module.__name__] = StackStreams(module)
    return streams


def _install() -> None:
    for name in STACK_NAMES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        streams = _streams(module)
        for cls, method, wrap in (
            (module.HTTPTransport, "handle_request", _patched),
            (module.AsyncHTTPTransport, "handle_async_request", _patched_async),
        ):
            original = cls.__dict__[method]
            _originals.append((cls, method, original))
            setattr(cls, method, wrap(streams, original))


def _uninstall() -> None:
    while _originals:
        cls, method, original = _originals.pop()
        setattr(cls, method, original)


def activate(router: Router) -> None:
    with _lock:
        if not _active:
            _install()
        _active.append(router)


def deactivate(router: Router) -> None:
    with _lock:
        _active.remove(router)
        if not _active:
            _uninstall()


def current() -> Router | None:
    with _lock:
        return _active[-1] if _active else None
