"""Fault injection in the replay server: `ReplayServer(faults=...)` and `streamtest serve
--fault` over real TCP, seen by raw sockets, httpx2 and the real openai and anthropic SDKs.
Expected bytes and text are computed from the committed cassettes themselves."""

from __future__ import annotations

import json
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import pytest

import streamtest
from streamtest._core.faulttext import FAULT_FORMS

ROOT = Path(__file__).resolve().parents[1]
CHAT = ROOT / "cassettes" / "quickstart-openai-chat.jsonl"  # 50 chunks, no tool call
CLAUDE = ROOT / "cassettes" / "langchain" / "model_stream-anthropic.jsonl"
TIMEOUT = 0.3  # the clients' read timeout, where a test wants one to fire


def recorded(path: Path) -> streamtest.Interaction:
    (interaction,) = streamtest.load_cassette(path).interactions
    return interaction


def first_bytes(interaction: streamtest.Interaction, n: int) -> bytes:
    return b"".join(chunk.data for chunk in interaction.response.chunks[:n])


def first_text(interaction: streamtest.Interaction, n: int) -> str:
    """The text of the first ``n`` recorded chunks, aggregated from a truncated copy."""
    response = interaction.response
    cut = streamtest.Response(response.status, response.headers, response.chunks[:n], t=response.t)
    return streamtest.aggregate(streamtest.Interaction(interaction.request, cut)).text


def full_text(path: Path) -> str:
    text = streamtest.aggregate(recorded(path)).text
    assert len(text) > 50
    return text


@pytest.fixture
def serve() -> Iterator[Callable[..., streamtest.ReplayServer]]:
    """Start replay servers (instant and quiet unless told) that stop when the test ends."""
    servers: list[streamtest.ReplayServer] = []

    def start(*paths: Path, **options: Any) -> streamtest.ReplayServer:
        server = streamtest.ReplayServer(paths, **{"timing": "instant", "quiet": True, **options})
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


def stream_raw(url: str, interaction: streamtest.Interaction) -> tuple[bytes, Exception | None]:
    """The body an httpx2 client (read timeout `TIMEOUT`) received for the recorded request,
    and the transport error that ended it (None: it ended cleanly)."""
    path = interaction.request.url.split("/", 3)[3]
    received: list[bytes] = []
    with httpx2.Client(timeout=httpx2.Timeout(5.0, read=TIMEOUT)) as client:
        try:
            with client.stream("POST", f"{url}/{path}", content=interaction.request.body) as r:
                received.extend(r.iter_raw())
        except httpx2.TransportError as exc:
            return b"".join(received), exc
    return b"".join(received), None


def raw_request(interaction: streamtest.Interaction) -> bytes:
    path = interaction.request.url.split("/", 3)[3]
    body = interaction.request.body
    head = f"POST /{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def dechunk(body: bytes) -> tuple[bytes, bool]:
    """The data of a chunked body, and whether its last (empty) chunk arrived."""
    data = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return data, True
        data, body = data + body[:size], body[size + 2 :]
    return data, False


def openai_text(url: str, received: list[str], **options: Any) -> str:
    """Stream the recorded chat request through the openai SDK, each delta into ``received``."""
    options = {"max_retries": 0, "timeout": TIMEOUT, **options}
    with openai.OpenAI(base_url=f"{url}/v1", api_key="x", **options) as client:
        stream = client.chat.completions.create(**json.loads(recorded(CHAT).request.body))
        with stream:
            for chunk in stream:
                received.extend(c.delta.content or "" for c in chunk.choices)
    return "".join(received)


def anthropic_text(url: str, received: list[str], **options: Any) -> str:
    options = {"max_retries": 0, "timeout": TIMEOUT, **options}
    with anthropic.Anthropic(base_url=url, api_key="x", **options) as client:
        stream = client.messages.create(**json.loads(recorded(CLAUDE).request.body))
        with stream:
            for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    received.append(event.delta.text)
    return "".join(received)


def wait_for_log(capsys: pytest.CaptureFixture[str], words: str, within: float) -> str:
    """What the server logged, once it holds ``words`` or ``within`` seconds have passed."""
    log, deadline = "", time.monotonic() + within
    while words not in log and time.monotonic() < deadline:
        time.sleep(0.02)
        log += capsys.readouterr().err
    return log


@pytest.mark.parametrize("after", [0, 7])
@pytest.mark.parametrize(
    ("error", "raised"),
    [
        pytest.param("reset", httpx2.ReadError, id="reset"),
        pytest.param("incomplete", httpx2.RemoteProtocolError, id="incomplete"),
        pytest.param("timeout", httpx2.ReadTimeout, id="timeout"),
    ],
)
def test_a_cut_breaks_the_stream_after_exactly_its_chunks_with_the_stacks_error(
    serve: Callable[..., streamtest.ReplayServer],
    error: str,
    raised: type[Exception],
    after: int,
) -> None:
    interaction = recorded(CHAT)
    server = serve(CHAT, faults=f"cut={after},error={error}")
    start = time.perf_counter()
    body, exc = stream_raw(server.url, interaction)
    took = time.perf_counter() - start
    assert type(exc) is raised, exc
    assert body == first_bytes(interaction, after)
    if error == "timeout":
        assert took >= TIMEOUT  # the client's own timeout fired: nothing raised it early


@pytest.mark.parametrize(
    ("error", "reset"),
    [pytest.param("reset", True, id="reset"), pytest.param("incomplete", False, id="incomplete")],
)
def test_a_reset_cut_is_a_tcp_reset_and_an_incomplete_one_a_close(
    serve: Callable[..., streamtest.ReplayServer], error: str, reset: bool
) -> None:
    """Seen from a raw socket: a reset is RST (recv fails), not FIN (recv returns b"")."""
    interaction = recorded(CHAT)
    server = serve(CHAT, faults=f"cut=3,error={error}")
    received, outcome = b"", "end of stream"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(raw_request(interaction))
        try:
            while data := sock.recv(65536):
                received += data
        except ConnectionResetError:
            outcome = "reset"
    assert outcome == ("reset" if reset else "end of stream")
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"connection: close" in head.lower()
    assert dechunk(body) == (first_bytes(interaction, 3), False)  # no last chunk


def test_a_timeout_cut_keeps_the_connection_silent_and_stop_still_ends_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    interaction = recorded(CHAT)
    server = streamtest.ReplayServer([CHAT], timing="instant", faults="cut=2,error=timeout")
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(raw_request(interaction))
            received = b""
            while dechunk(received.partition(b"\r\n\r\n")[2])[0] != first_bytes(interaction, 2):
                data = sock.recv(65536)
                assert data, received  # (the connection must stay open)
                received += data
            sock.settimeout(TIMEOUT)
            with pytest.raises(TimeoutError):  # silent, and still open
                sock.recv(65536)
            start = time.perf_counter()
            server.stop(timeout=3.0)
            took = time.perf_counter() - start
            sock.settimeout(1.0)
            assert sock.recv(65536) == b""  # the server closed it
    finally:
        server.stop()
    # A handler still waiting would hold stop() for its whole 3 s deadline.
    assert took < 2.0
    log = capsys.readouterr().err
    assert "2 chunk(s), then the connection went silent" in log
    assert "with injected faults (cut=2,error=timeout)" in log


@pytest.mark.parametrize(
    ("run", "error", "raised"),
    [
        pytest.param(openai_text, "reset", openai.APIConnectionError, id="openai-reset"),
        pytest.param(openai_text, "incomplete", openai.APIConnectionError, id="openai-incomplete"),
        pytest.param(openai_text, "timeout", openai.APITimeoutError, id="openai-timeout"),
        # anthropic 2.x lets the transport's own errors out of a stream it is iterating
        pytest.param(anthropic_text, "reset", httpx2.ReadError, id="anthropic-reset"),
        pytest.param(anthropic_text, "timeout", httpx2.ReadTimeout, id="anthropic-timeout"),
    ],
)
def test_an_sdk_gets_the_text_before_a_cut_then_its_connection_error(
    serve: Callable[..., streamtest.ReplayServer],
    run: Callable[..., str],
    error: str,
    raised: type[Exception],
) -> None:
    path = CHAT if run is openai_text else CLAUDE
    after = 9
    expected = first_text(recorded(path), after)
    assert expected and full_text(path).startswith(expected) and expected != full_text(path)
    server = serve(path, faults=f"cut={after},error={error}")
    received: list[str] = []
    with pytest.raises(raised) as info:
        run(server.url, received)
    assert type(info.value) is raised  # (a timeout is an APIConnectionError subclass)
    assert "".join(received) == expected


def test_a_stall_longer_than_the_timeout_is_the_sdks_timeout_and_the_log_says_so(
    serve: Callable[..., streamtest.ReplayServer], capsys: pytest.CaptureFixture[str]
) -> None:
    interaction = recorded(CHAT)
    server = serve(CHAT, faults="stall=5,seconds=5", quiet=False)
    received: list[str] = []
    start = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        openai_text(server.url, received)
    took = time.perf_counter() - start
    assert TIMEOUT <= took < 3.0  # the client's timeout, not the 5 s pause
    assert "".join(received) == first_text(interaction, 5)
    # The server notices the client leave during the pause, not 5 s later or when it stops.
    log = wait_for_log(capsys, "stall", 3.0)
    assert "5 chunk(s), then the client closed the connection during an injected 5 s stall" in log
    assert "with injected faults (stall=5,seconds=5)" in log


def test_a_stall_shorter_than_the_timeout_delivers_the_whole_answer_late(
    serve: Callable[..., streamtest.ReplayServer],
) -> None:
    server = serve(CHAT, faults="stall=5,seconds=0.4")
    start = time.perf_counter()
    assert openai_text(server.url, [], timeout=5.0) == full_text(CHAT)
    assert time.perf_counter() - start >= 0.4


@pytest.mark.parametrize(
    "repeats", [pytest.param(True, id="repeats"), pytest.param(False, id="no-repeat")]
)
@pytest.mark.parametrize(
    ("run", "path", "fault"),
    [
        pytest.param(openai_text, CHAT, "status=503,retry_after=0.05", id="openai-503"),
        pytest.param(anthropic_text, CLAUDE, "status=529,retry_after=0.05", id="anthropic-529"),
    ],
)
def test_the_sdks_retry_after_an_injected_error_status_gets_the_recorded_answer(
    serve: Callable[..., streamtest.ReplayServer],
    capsys: pytest.CaptureFixture[str],
    run: Callable[..., str],
    path: Path,
    fault: str,
    repeats: bool,
) -> None:
    server = serve(path, faults=f"{fault},times=1", allow_playback_repeats=repeats, quiet=False)
    assert run(server.url, [], max_retries=1) == full_text(path)
    status = fault.split(",")[0].removeprefix("status=")
    log = capsys.readouterr().err.splitlines()
    assert [line.split()[4] for line in log] == [status, "200"], log  # the SDK did retry


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param("stall=0,seconds=5", id="stall"),
        pytest.param("cut=4,error=reset", id="cut"),
        pytest.param("cut=4,error=timeout", id="cut-timeout"),
    ],
)
def test_an_app_retrying_after_an_injected_failure_gets_the_recording_without_repeats(
    serve: Callable[..., streamtest.ReplayServer], fault: str
) -> None:
    """The SDKs do not retry a stream that failed midway; an app does, and must find the
    recording unplayed (as in-process replay leaves it) even when repeats are off."""
    server = serve(CHAT, faults=f"{fault},times=1", allow_playback_repeats=False)
    with pytest.raises(openai.APIConnectionError):
        openai_text(server.url, [])
    assert openai_text(server.url, []) == full_text(CHAT)
    with pytest.raises(openai.NotFoundError, match="already played"):
        openai_text(server.url, [])  # played once now: repeats are still off


def test_skip_and_times_count_the_replays_of_every_served_cassette(
    serve: Callable[..., streamtest.ReplayServer],
) -> None:
    server = serve(CHAT, CLAUDE, faults="cut=3,skip=1,times=2")
    assert openai_text(server.url, []) == full_text(CHAT)  # skipped
    cut = (
        (anthropic_text, CLAUDE, httpx2.ReadError),
        (openai_text, CHAT, openai.APIConnectionError),
    )
    for run, path, error in cut:  # the next two, whichever cassette answers
        received: list[str] = []
        with pytest.raises(error):
            run(server.url, received)
        assert "".join(received) == first_text(recorded(path), 3)
    assert anthropic_text(server.url, []) == full_text(CLAUDE)  # times used up


def test_rechunked_bytes_over_tcp_still_read_as_the_recorded_answer(
    serve: Callable[..., streamtest.ReplayServer],
) -> None:
    interaction = recorded(CHAT)
    server = serve(CHAT, faults="rechunk=random,seed=3,max=7")
    assert stream_raw(server.url, interaction) == (interaction.response.body, None)
    assert openai_text(server.url, []) == full_text(CHAT)


def serve_cli(*args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "streamtest._cli", "serve", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_cli_serves_with_a_fault_and_logs_it() -> None:
    after = 6
    args = ("--port", "0", "--instant", "--fault", f"cut={after},error=incomplete,times=1")
    with serve_cli(str(CHAT), *args) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 20)
            line = proc.stdout.readline() if ready else ""
            assert " on http://127.0.0.1:" in line, line
            url = line.rsplit(" on ", 1)[1].strip()
            received: list[str] = []
            with pytest.raises(openai.APIConnectionError):
                openai_text(url, received)
            assert "".join(received) == first_text(recorded(CHAT), after)
            assert openai_text(url, []) == full_text(CHAT)  # times=1
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(5) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        log = proc.stderr.read()
    assert f"{after} chunk(s), then the connection closed mid-body" in log
    assert f"with injected faults (cut={after},error=incomplete)" in log
    assert log.count("POST /v1/chat/completions 200") == 2


@pytest.mark.parametrize("spec", ["cut=x", "nap=1"])
def test_the_cli_refuses_a_bad_fault_with_usage_status_naming_the_forms(spec: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "streamtest._cli", "serve", str(CHAT), "--fault", spec],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert f"The fault {spec!r} cannot be read" in result.stderr
    assert all(form in result.stderr for form in FAULT_FORMS)
