"""A loopback HTTP/1.1 server, in its own process, streaming prebuilt chunks fast or with gaps.

Not ``fixtures/provider_server.py``: that server builds each event from a scenario and sends it
with its own ``sendall``, in a thread of the process under test, so at 10,000 chunks it measures
itself, and its threads compete with the client for the GIL (a server thread waiting for the GIL
after a client's request delayed responses by up to the 5 ms switch interval). Here the server is
a separate process; each stream is framed once (chunked transfer encoding, one HTTP chunk per
piece) and sent in large writes. httpx/h11 hand each HTTP chunk to the client as its own piece,
so the client sees exactly the pieces however TCP groups them.

Paths name the stream (see `pieces`); ``?gap=S`` sends one piece every S seconds instead::

    with StreamServer() as server:
        url = server.url("tokens/10000")            # 10,000 token events, all at once
        url = server.url("tokens/20", gap=0.05)     # one every 50 ms
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
_BATCH = 1 << 20  # bytes per sendall when streaming as fast as possible
_ROOT = Path(__file__).resolve().parents[1]


class StreamServer:
    """Starts the server process on 127.0.0.1 and stops it on exit."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def url(self, path: str, *, gap: float = 0.0) -> str:
        return f"{self.base_url}/{path}" + (f"?gap={gap!r}" if gap else "")

    def __enter__(self) -> StreamServer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench._server"],
            cwd=_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        port = self._process.stdout.readline().strip()
        if not port.isdigit():
            self._process.kill()
            raise RuntimeError("The benchmark's loopback server did not start.")
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)


def pieces(name: str) -> list[bytes]:
    """``tokens/N``: N token events; ``chat/N``: N openai chunk events and ``[DONE]``;
    ``blob/TOTAL/SIZE``: TOTAL bytes as events of SIZE bytes."""
    from bench._data import blob_chunks, chat_chunks, token_chunks

    kind, *numbers = name.strip("/").split("/")
    if kind == "tokens":
        return token_chunks(int(numbers[0]))
    if kind == "chat":
        return chat_chunks(int(numbers[0]))
    if kind == "blob":
        return blob_chunks(int(numbers[0]), int(numbers[1]))
    raise KeyError(name)


def frame(piece: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(piece), piece)


class _Streams:
    def __init__(self) -> None:
        self._framed: dict[str, list[bytes]] = {}
        self._lock = threading.Lock()

    def framed(self, name: str) -> list[bytes]:
        with self._lock:
            if name not in self._framed:
                once: dict[bytes, bytes] = {}  # a repeated piece is framed (and held) once
                self._framed[name] = [once.setdefault(p, frame(p)) for p in pieces(name)]
            return self._framed[name]


def _send(conn: socket.socket, framed: list[bytes], gap: float) -> None:
    if gap:
        conn.sendall(_HEAD + framed[0])
        start = time.perf_counter()
        for index, piece in enumerate(framed[1:], start=1):
            time.sleep(max(0.0, start + index * gap - time.perf_counter()))
            conn.sendall(piece)
        conn.sendall(b"0\r\n\r\n")
        return
    batch, size = [_HEAD], len(_HEAD)
    for piece in framed:
        batch.append(piece)
        size += len(piece)
        if size >= _BATCH:
            conn.sendall(b"".join(batch))
            batch, size = [], 0
    batch.append(b"0\r\n\r\n")
    conn.sendall(b"".join(batch))


def _serve(conn: socket.socket, streams: _Streams) -> None:
    with conn, conn.makefile("rb") as reader:
        while (target := _read_request(reader)) is not None:
            path, _, query = target.partition("?")
            gap = float(query.removeprefix("gap=")) if query.startswith("gap=") else 0.0
            try:
                framed = streams.framed(path)
            except (KeyError, ValueError, IndexError):
                conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                continue
            try:
                _send(conn, framed, gap)
            except OSError:  # the client closed early
                return


def _read_request(reader: object) -> str | None:
    """Reads one request (head and ``content-length`` body); its target, or None at EOF."""
    readline = reader.readline  # type: ignore[attr-defined]
    line = readline(65536)
    if not line.strip():
        return None
    target: str = line.split()[1].decode()
    length = 0
    while (header := readline(65536)) not in (b"\r\n", b"\n", b""):
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        reader.read(length)  # type: ignore[attr-defined]
    return target


def main() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    streams = _Streams()
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve, args=(conn, streams), daemon=True).start()


if __name__ == "__main__":
    main()
