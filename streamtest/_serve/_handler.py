"""One connection to the replay server: parse a request (the standard library does), then write
the recorded response chunk by chunk, at the recorded offsets."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
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
        self.owner.track(self, True)

    def finish(self) -> None:
        self.owner.track(self, False)
        super().finish()

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
            return "the connection was reset"
        return "the connection closed mid-body"

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
        for index, chunk in enumerate(response.chunks):
            if index in stalls:
                pacer.stall(stalls[index])
            if not chunk.data:  # an empty HTTP chunk would end the body
                continue
            if pacer.paces:
                pacer.wait(pacer.due(index, chunk.t))
            data = chunk.data
            self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data) if chunked else data)
            sent += 1
        if len(response.chunks) in stalls:
            pacer.stall(stalls[len(response.chunks)])
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
