"""One connection to the replay server: parse a request (the standard library does), then write
the recorded response chunk by chunk, at the recorded offsets."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol

from .._core.errorbody import error_body
from .._core.errors import UnmatchedRequestError
from .._core.faults import stall_plan
from .._core.model import Request
from .._wire.routing import Replay

# Framing belongs to this connection, not to the recording: the body is sent chunked again.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "content-length",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_MAX_LINE = 65536
_WATCH = 0.02  # seconds between looks at the connection during an injected stall


class Owner(Protocol):
    """What a connection needs from the server that accepted it."""

    def route(self, request: Request) -> Replay: ...

    def log(self, line: str) -> None: ...

    def track(self, handler: ReplayHandler, active: bool) -> None: ...


class ServerStoppedError(ConnectionAbortedError):
    """The server stopped while a reply was paused: the reply ends with its connection."""


class BadRequestError(ValueError):
    """The request's body framing cannot be parsed."""


class ReplayHandler(BaseHTTPRequestHandler):
    """Serves requests on one connection, kept alive between them (HTTP/1.1)."""

    protocol_version = "HTTP/1.1"  # keep-alive: the SDKs reuse connections
    disable_nagle_algorithm = True  # each small chunk leaves now, not with the next one
    owner: Owner  # set on the subclass the server builds

    def setup(self) -> None:
        super().setup()
        self._reset = False  # end with a TCP reset (see `_break`)
        self._stalled: Replay | None = None  # the reply pausing in an injected stall
        self._given_back = False  # its recording was put back unplayed (see `give_back`)
        self._stall_lock = threading.Lock()  # `give_back` is called from other threads too
        self.owner.track(self, True)

    def finish(self) -> None:
        self.owner.track(self, False)
        super().finish()
        if self._reset:
            # Closed now, before the server's shutdown(SHUT_WR): a FIN first reads as a clean
            # end of the connection, and the client never sees the RST that follows it.
            self.connection.close()

    def give_back(self) -> bool:
        """When the client closed this connection during an injected stall (its read timeout
        fired), put the recording back unplayed so a retry replays it, as in-process replay
        does; whether it was put back by this call. Safe to call from any thread."""
        with self._stall_lock:
            replay = self._stalled
            if replay is None or self._given_back or not _closed_by_client(self.connection):
                return False
            self._given_back = True
            replay.release()
            return True

    def log_message(self, format: str, *args: Any) -> None:
        # The standard library's lines: malformed requests and the like.
        self.owner.log(f"{self.address_string()}: {format % args}")

    def _serve(self) -> None:
        start = time.perf_counter()
        line = f"{self.command} {self.path}"
        try:
            body = self._body()
        except ValueError:  # a BadRequestError, or a size that is not a number
            self.close_connection = True
            explain = "The request body's framing (Content-Length or chunked) is bad."
            self.send_error(400, "Bad Request", explain)
            return
        host = self.headers.get("Host") or "localhost"  # (matched on only with "host"/"url")
        request = Request(self.command, f"http://{host}{self.path}", self._headers(), body)
        try:
            replay = self.owner.route(request)
        except UnmatchedRequestError as exc:
            self._unmatched(str(exc))
            self.owner.log(f"{line} unmatched (404) in {time.perf_counter() - start:.3f} s")
            return
        try:
            outcome = self._replay(replay)
        except ServerStoppedError:
            self.close_connection = True
            outcome = "cut short: the server stopped"
        except OSError as exc:  # the client went away (BrokenPipe, ConnectionReset, ...)
            self.close_connection = True
            outcome = f"client disconnected ({type(exc).__name__})"
        took = time.perf_counter() - start
        status = replay.response.status
        self.owner.log(f"{line} {status} in {took:.3f} s, {outcome}, from {replay.origin}")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def _headers(self) -> tuple[tuple[str, str], ...]:
        return tuple((name, str(value)) for name, value in self.headers.items())

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while size := int(self._line().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self._line()
            while self._line().strip():  # trailers, up to the blank line
                pass
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) != length:
            raise BadRequestError("the body is shorter than its Content-Length")
        return body

    def _line(self) -> bytes:
        line = self.rfile.readline(_MAX_LINE + 1)
        if not line or len(line) > _MAX_LINE:
            raise BadRequestError("a chunk size line is missing or too long")
        return line

    def _break(self, error: str) -> str:
        """End the connection mid-body the way the recorded (or injected) error happened: a
        reset is a TCP RST; a read timeout, a connection left open and silent until the client
        gives up; anything else, a plain close. Returns what was done, for the log line."""
        self.close_connection = True
        if error == "ReadTimeout":
            with contextlib.suppress(OSError):  # until the client closes, or the server stops
                while self.connection.recv(65536):
                    pass
            return "the connection went silent until the client closed it"
        if error == "ReadError":
            # SO_LINGER on with a zero timeout: closing sends RST, not FIN (a connection reset)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._reset = True
            return "the connection was reset"
        return "the connection closed mid-body"

    def _stall(self, replay: Replay, seconds: float) -> float | None:
        """Pause ``seconds`` (an injected stall), looking at the connection every `_WATCH`
        seconds: a client whose read timeout fires leaves now, and the server cannot know its
        timeout. None when the pause ran its course, else how long it had lasted."""
        with self._stall_lock:
            self._stalled, self._given_back = replay, False
        try:
            waited = 0.0
            while waited < seconds:
                step = min(_WATCH, seconds - waited)
                replay.pacer.stall(step)  # (ends early, raising, when the server stops)
                waited += step
                self.give_back()
                if self._given_back:  # here or by a retry that found the recording played
                    return waited
            return None
        finally:
            with self._stall_lock:
                self._stalled = None

    def _unmatched(self, message: str) -> None:
        body = error_body(self.path, message, status=404, code="unmatched_request")
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response_only(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-streamtest-unmatched", "1")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _replay(self, replay: Replay) -> str:
        """Send the recorded response; each chunk is one HTTP chunk written with one send (the
        handler's ``wfile`` is unbuffered). Returns what happened, for the log line."""
        response, pacer = replay.response, replay.pacer
        if pacer.paces:
            pacer.wait(response.t)  # time to headers
        status = response.status
        bodyless = self.command == "HEAD" or status in (204, 304) or status < 200
        chunked = not bodyless and self.request_version != "HTTP/1.0"
        broken = response.error is not None
        self.send_response_only(status)
        for name, value in response.headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        if broken or not (chunked or bodyless):  # the end of the body is a closed connection
            self.send_header("Connection", "close")  # (also sets close_connection)
        self.end_headers()
        if bodyless:
            return "no body"
        sent, stalls = 0, stall_plan(replay.stalls)
        for index, chunk in enumerate([*response.chunks, None]):  # None: the end (a stall too)
            if index in stalls:
                waited = self._stall(replay, stalls[index])
                if waited is not None:
                    self.close_connection = True  # the reply is unfinished: never reuse it
                    return (
                        f"{sent} chunk(s), then the client closed the connection during an "
                        f"injected {stalls[index]:g} s stall, {waited:.2f} s into it (its "
                        "recording stays unplayed for a retry)"
                    )
            if chunk is None:
                break
            if not chunk.data:  # an empty HTTP chunk would end the body
                continue
            if pacer.paces:
                pacer.wait(pacer.due(index, chunk.t))
            data = chunk.data
            self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data) if chunked else data)
            sent += 1
        if response.error is not None:
            how = self._break(response.error.type)
            return f"{sent} chunk(s), then {how} ({response.error.type}: {response.error.message})"
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        if response.closed:
            # The recording client stopped reading here (the openai SDK does after `[DONE]`):
            # what followed is unknown, and ending the body cleanly serves every client that
            # only needs what it had read.
            return f"{sent} chunk(s), ended where the recording client closed the stream"
        return f"{sent} chunk(s)"


def _closed_by_client(connection: socket.socket) -> bool:
    """Whether the client closed or reset ``connection``: readable with nothing to read (a
    request pipelined behind the stalled one is data, not a close)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and not connection.recv(1, socket.MSG_PEEK)
    except ValueError:  # closed on this side already: not the client's doing
        return False
    except OSError:  # reset by the client
        return True
