"""`ReplayServer`: the replay server's lifecycle, on the standard library's threaded HTTP server
(one thread per connection; it parses requests and answers malformed ones itself)."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from .._core.clock import RealClock, Timing
from .._core.errors import UnmatchedRequestError
from .._core.faults import Fault
from .._core.faulttext import faults_of
from .._core.matching import Matcher
from .._core.model import Cassette, Request
from .._wire.routing import Replay
from ._handler import ReplayHandler, ServerStoppedError
from ._router import SERVE_MATCH_ON, CassetteRouter, cassette_paths


class _StoppableClock(RealClock):
    """Real time whose sleeps end early when the server stops, so no reply outlives it."""

    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping

    def sleep(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise ServerStoppedError("The replay server stopped during this reply.")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a client keeping its connection open never delays exit
    block_on_close = False  # ReplayServer.stop() closes the connections and joins with a deadline

    def __init__(self, address: tuple[str, int], handler: type[ReplayHandler]) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # the client went away: nothing to report
        super().handle_error(request, client_address)


class ReplayServer:
    """Replays cassettes over HTTP, with their timing, to clients in any process or language::

        with ReplayServer(["cassettes/"]) as server:
            client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused")

    ``paths``: cassette files, or folders (every ``*.jsonl`` under them, sorted); they are read
    when the server is built (a bad one raises `CassetteError`, a missing one
    `FileNotFoundError`). A request is matched on ``match_on`` against each cassette in turn;
    identical requests replay in recorded order, and with ``allow_playback_repeats`` the last
    match replays again once all were played. An unmatched request gets a 404 whose JSON error
    (OpenAI's shape, or Anthropic's for ``/v1/messages``) names the closest recorded request.
    ``timing``, ``speed`` and ``untimed_gap`` pace replies as in `use_cassette`, and ``faults``
    reshape them as there, over real TCP: a cut with ``error="reset"`` sends a TCP reset, with
    ``"timeout"`` leaves the connection open and silent until the client gives up, with
    ``"incomplete"`` closes it; a stall pauses the socket, and a client leaving during it (its
    read timeout fired) leaves the recording unplayed for its retry, as in `use_cassette`; skip
    and times count the replays of all the cassettes. Each request is logged as one line on
    stderr unless ``quiet``.
    """

    def __init__(
        self,
        paths: Iterable[str | Path],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        timing: Timing | str = Timing.REALTIME,
        speed: float = 1.0,
        untimed_gap: float = 0.0,
        match_on: Sequence[str | Matcher] = SERVE_MATCH_ON,
        allow_playback_repeats: bool = True,
        quiet: bool = False,
        faults: Fault | str | Sequence[Fault | str] | None = None,
    ) -> None:
        self.paths = tuple(cassette_paths(paths))
        self.host, self.quiet = host, quiet
        self._requested_port = port
        self._stopping = threading.Event()
        self.router = CassetteRouter(
            self.paths,
            timing=timing,
            speed=speed,
            untimed_gap=untimed_gap,
            match_on=match_on,
            allow_playback_repeats=allow_playback_repeats,
            clock=_StoppableClock(self._stopping),
            faults=faults_of(faults),
        )
        self._lock = threading.Lock()
        self._handlers: dict[ReplayHandler, threading.Thread] = {}
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def cassettes(self) -> tuple[Cassette, ...]:
        return self.router.cassettes

    @property
    def interaction_count(self) -> int:
        return sum(len(cassette) for cassette in self.cassettes)

    @property
    def port(self) -> int:
        """The bound port (the free one picked when built with ``port=0``)."""
        if self._server is None:
            raise RuntimeError("The replay server is not running: call start() first.")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://HOST:PORT``: OpenAI clients take ``f"{url}/v1"``, Anthropic clients ``url``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> ReplayServer:
        """Bind and serve in a daemon thread; an `OSError` when the address cannot be bound."""
        if self._server is not None:
            return self
        self._stopping.clear()
        handler = type("Handler", (ReplayHandler,), {"owner": self})
        self._server = _HTTPServer((self.host, self._requested_port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits up to one poll
            name=f"streamtest-serve-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        """Stop accepting, end replies in progress (even mid-pause) and close every connection,
        waiting at most ``timeout`` seconds for their threads."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            handlers = dict(self._handlers)
        for handler in handlers:
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in [*handlers.values(), self._thread]:
            if thread is not None and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # What a connection's handler calls (see `streamtest._serve._handler.Owner`).

    def route(self, request: Request) -> Replay:
        try:
            return self.router.route(request)
        except UnmatchedRequestError:
            # A client whose read timeout fired during an injected stall may send its retry
            # before that reply's thread has seen it leave: have every stalled reply look now,
            # and route again if one gave its recording back.
            with self._lock:
                handlers = list(self._handlers)
            if not [handler for handler in handlers if handler.give_back()]:
                raise
            return self.router.route(request)

    def log(self, line: str) -> None:
        if not self.quiet:
            print(f"streamtest serve: {line}", file=sys.stderr, flush=True)

    def track(self, handler: ReplayHandler, active: bool) -> None:
        with self._lock:
            if active:
                self._handlers[handler] = threading.current_thread()
            else:
                self._handlers.pop(handler, None)
