"""`streamtest serve`: cassettes recorded from the loopback provider through the real SDKs, then
replayed over real TCP (the provider stopped) to the real SDKs, to raw httpx2, and to the CLI
run as a subprocess."""

from __future__ import annotations

import contextlib
import itertools
import select
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import pytest

import streamtest
from fixtures.provider_server import ProviderServer, Scenario
from streamtest._serve import ReplayServer

TEXT = "one two three four five six seven eight"
PACED_TEXT = "a b c d e f g h"  # with [DONE] and the first and last events: 11 writes
GAP = 0.05
CHAT_MODEL, CLAUDE = "gpt-4o-mini", "claude-sonnet-4-6"


def chat(client: openai.OpenAI, prompt: str = "Hi") -> str:
    stream = client.chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": prompt}], stream=True
    )
    with stream:
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def responses(client: openai.OpenAI) -> str:
    stream = client.responses.create(model=CHAT_MODEL, input="Hi", stream=True)
    with stream:
        return "".join(e.delta for e in stream if e.type == "response.output_text.delta")


def claude_stream(client: anthropic.Anthropic, prompt: str = "Hi") -> str:
    messages: Any = [{"role": "user", "content": prompt}]
    with client.messages.stream(model=CLAUDE, max_tokens=64, messages=messages) as stream:
        return "".join(stream.text_stream)


def claude_create(client: anthropic.Anthropic) -> str:
    messages: Any = [{"role": "user", "content": "Hi"}]
    stream = client.messages.create(model=CLAUDE, max_tokens=64, messages=messages, stream=True)
    with stream:
        return "".join(
            e.delta.text
            for e in stream
            if e.type == "content_block_delta" and e.delta.type == "text_delta"
        )


def openai_client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)


def anthropic_client(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="x", max_retries=0)


def via_openai(run: Callable[..., str], *args: str) -> Callable[[str], str]:
    """``run`` with an openai client on the server at the URL it is given, closed after."""

    def call(url: str) -> str:
        with openai_client(url) as client:
            return run(client, *args)

    return call


def via_anthropic(run: Callable[..., str], *args: str) -> Callable[[str], str]:
    def call(url: str) -> str:
        with anthropic_client(url) as client:
            return run(client, *args)

    return call


@dataclass(frozen=True)
class Cassettes:
    folder: Path  # chat and anthropic: the cassettes served as a folder
    chat: Path
    anthropic: Path
    responses: Path
    paced: Path
    broken: Path


@pytest.fixture(scope="module")
def cassettes(tmp_path_factory: pytest.TempPathFactory) -> Cassettes:
    root = tmp_path_factory.mktemp("serve")
    folder = root / "folder"
    c = Cassettes(
        folder,
        folder / "chat.jsonl",
        folder / "sub" / "anthropic.jsonl",
        root / "responses.jsonl",
        root / "paced.jsonl",
        root / "broken.jsonl",
    )

    @contextlib.contextmanager
    def record(path: Path, scenario: Scenario) -> Iterator[str]:
        with (
            ProviderServer(default=scenario) as provider,
            streamtest.use_cassette(path, record_mode="all"),
        ):
            yield provider.url

    with record(c.chat, Scenario(text=TEXT)) as url, openai_client(url) as client:
        assert chat(client) == TEXT
    with record(c.responses, Scenario(text=TEXT)) as url, openai_client(url) as client:
        assert responses(client) == TEXT
    with record(c.anthropic, Scenario(text=TEXT)) as url, anthropic_client(url) as claude:
        assert claude_stream(claude) == TEXT
        assert claude_create(claude) == TEXT
    with record(c.paced, Scenario(text=PACED_TEXT, gap=GAP)) as url, openai_client(url) as client:
        assert chat(client) == PACED_TEXT
    with (
        record(c.broken, Scenario(text=TEXT, disconnect_after=3)) as url,
        openai_client(url) as client,
        pytest.raises(openai.APIConnectionError),
    ):
        chat(client)
    return c


def only(path: Path) -> streamtest.Interaction:
    (interaction,) = streamtest.load_cassette(path).interactions
    return interaction


@pytest.fixture
def serve(cassettes: Cassettes) -> Iterator[Callable[..., ReplayServer]]:
    """Start replay servers (quiet, instant unless told) that stop at the end of the test."""
    servers: list[ReplayServer] = []

    def start(*paths: Path, **options: Any) -> ReplayServer:
        options = {"timing": "instant", "quiet": True, **options}
        servers.append(ReplayServer(paths, **options).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def raw_chunks(url: str, request: streamtest.Request) -> list[tuple[float, bytes]]:
    """Each piece of body as it arrives, with its offset from the moment before sending."""
    path = request.url.split("/", 3)[3]
    with httpx2.Client() as client:
        start = time.perf_counter()
        with client.stream(
            request.method,
            f"{url}/{path}",
            content=request.body,
            headers={"content-type": "application/json"},
        ) as response:
            return [(time.perf_counter() - start, data) for data in response.iter_raw()]


def test_openai_chat_replays_the_recorded_text_and_chunk_boundaries(
    cassettes: Cassettes, serve: Callable[..., ReplayServer]
) -> None:
    server = serve(cassettes.chat)
    interaction = only(cassettes.chat)
    with openai_client(server.url) as client:
        assert chat(client) == TEXT == streamtest.aggregate(interaction).text
    pieces = [data for _, data in raw_chunks(server.url, interaction.request)]
    assert pieces == [chunk.data for chunk in interaction.response.chunks]
    assert len(pieces) > 5


@pytest.mark.parametrize(
    ("attr", "run"),
    [
        pytest.param("responses", via_openai(responses), id="openai-responses"),
        pytest.param("anthropic", via_anthropic(claude_stream), id="anthropic-messages.stream"),
        pytest.param("anthropic", via_anthropic(claude_create), id="anthropic-create-stream"),
    ],
)
def test_sdk_streams_replay_their_text(
    cassettes: Cassettes,
    serve: Callable[..., ReplayServer],
    attr: str,
    run: Callable[[str], str],
) -> None:
    server = serve(getattr(cassettes, attr), allow_playback_repeats=False)
    assert run(server.url) == TEXT


@pytest.mark.parametrize(
    ("timing", "speed"),
    [
        pytest.param("realtime", 1.0, id="realtime"),
        pytest.param("realtime", 4.0, id="speed-4"),
        pytest.param("instant", 1.0, id="instant"),
    ],
)
def test_chunks_arrive_at_their_recorded_offsets(
    cassettes: Cassettes, serve: Callable[..., ReplayServer], timing: str, speed: float
) -> None:
    interaction = only(cassettes.paced)
    recorded = [chunk.t for chunk in interaction.response.chunks]
    last = recorded[-1]
    assert len(recorded) >= 10 and last > 8 * GAP
    server = serve(cassettes.paced, timing=timing, speed=speed)
    arrived = [t for t, _ in raw_chunks(server.url, interaction.request)]
    assert len(arrived) == len(recorded)
    # The median gap between arrivals shows the pace whatever a loaded machine's stalls add.
    gap = statistics.median(b - a for a, b in itertools.pairwise(arrived))
    if timing == "instant":
        assert gap < GAP / 5
        return
    assert GAP / speed * 0.5 < gap < GAP / speed * 1.5
    # Never early: the pacer counts from when the request arrived, after the client's clock
    # started. Late only by scheduling, checked loosely.
    assert all(a >= t / speed for a, t in zip(arrived, recorded, strict=True))
    assert arrived[-1] < last / speed + 2.0


def test_a_stream_that_broke_while_recording_breaks_the_same_way(
    cassettes: Cassettes, serve: Callable[..., ReplayServer]
) -> None:
    recorded = streamtest.aggregate(only(cassettes.broken)).text
    assert recorded and TEXT.startswith(recorded) and recorded != TEXT
    server = serve(cassettes.broken)
    received: list[str] = []
    with openai_client(server.url) as client:
        stream = client.chat.completions.create(
            model=CHAT_MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True
        )
        with pytest.raises(openai.APIConnectionError), stream:
            for chunk in stream:
                received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == recorded


@pytest.mark.parametrize(
    ("run", "error"),
    [
        pytest.param(via_openai(chat, "Bye"), openai.NotFoundError, id="openai"),
        pytest.param(via_anthropic(claude_stream, "Bye"), anthropic.NotFoundError, id="anthropic"),
    ],
)
def test_an_unmatched_request_is_a_404_naming_the_closest_recorded_request(
    cassettes: Cassettes,
    serve: Callable[..., ReplayServer],
    run: Callable[[str], str],
    error: type[openai.NotFoundError | anthropic.NotFoundError],
) -> None:
    # The folder holds both cassettes: the miss names the closest request across them.
    server = serve(cassettes.folder)
    with pytest.raises(error) as info:
        run(server.url)
    assert "closest recorded request" in str(info.value)  # the SDK shows the message
    body = info.value.response.json()
    message = body["error"]["message"]
    assert body.get("type") == ("error" if error is anthropic.NotFoundError else None)
    assert "live 'Bye' != recorded 'Hi'" in message
    assert "streamtest serve only replays" in message
    wanted = cassettes.chat if error is openai.NotFoundError else cassettes.anthropic
    assert str(wanted) in message
    assert info.value.response.headers["x-streamtest-unmatched"] == "1"


@pytest.mark.parametrize(
    "repeats", [pytest.param(True, id="repeat"), pytest.param(False, id="once")]
)
def test_a_request_sent_twice(
    cassettes: Cassettes, serve: Callable[..., ReplayServer], repeats: bool
) -> None:
    server = serve(cassettes.chat, allow_playback_repeats=repeats)
    with openai_client(server.url) as client:
        assert chat(client) == TEXT
        if repeats:
            assert chat(client) == TEXT
            return
        with pytest.raises(openai.NotFoundError, match="already played"):
            chat(client)


def test_two_clients_streaming_at_once_both_get_complete_streams(
    cassettes: Cassettes, serve: Callable[..., ReplayServer]
) -> None:
    interaction = only(cassettes.paced)
    server = serve(cassettes.paced, timing="realtime")
    barrier = threading.Barrier(2)
    results: list[list[tuple[float, bytes]]] = []

    def client() -> None:
        barrier.wait()
        start = time.perf_counter()
        results.append(
            [(start + t, data) for t, data in raw_chunks(server.url, interaction.request)]
        )

    threads = [threading.Thread(target=client) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    expected = [chunk.data for chunk in interaction.response.chunks]
    assert [[data for _, data in result] for result in results] == [expected, expected]
    # Served side by side: each stream's first chunk came before the other's last one (one after
    # the other, the second would begin only when the first had ended).
    (first, *_, last), (other_first, *_, other_last) = results
    assert first[0] < other_last[0] and other_first[0] < last[0]


def test_a_client_leaving_mid_stream_is_logged_and_the_server_serves_on(
    cassettes: Cassettes, capsys: pytest.CaptureFixture[str]
) -> None:
    interaction = only(cassettes.paced)
    path = interaction.request.url.split("/", 3)[3]
    with ReplayServer([cassettes.paced], speed=4) as server:
        url = f"{server.url}/{path}"
        with (
            httpx2.Client() as client,
            client.stream("POST", url, content=interaction.request.body) as r,
        ):
            assert next(r.iter_raw()) == interaction.response.chunks[0].data
        log = ""
        deadline = time.monotonic() + 5
        while "client disconnected" not in log and time.monotonic() < deadline:
            time.sleep(0.02)  # the server notices when it writes the next chunks
            log += capsys.readouterr().err
        pieces = [data for _, data in raw_chunks(server.url, interaction.request)]
    assert pieces == [chunk.data for chunk in interaction.response.chunks]
    log += capsys.readouterr().err
    assert "client disconnected" in log and "Traceback" not in log
    assert log.count("POST /v1/chat/completions 200") == 2, log


def test_stop_ends_a_reply_in_progress_at_once(cassettes: Cassettes) -> None:
    interaction = only(cassettes.paced)
    server = ReplayServer([cassettes.paced], speed=0.1, quiet=True).start()  # ~5 s
    path = interaction.request.url.split("/", 3)[3]
    url = f"{server.url}/{path}"
    with (
        httpx2.Client() as client,
        client.stream("POST", url, content=interaction.request.body) as r,
    ):
        pieces = r.iter_raw()
        next(pieces)
        start = time.perf_counter()
        server.stop()
        assert time.perf_counter() - start < 1.0
        with pytest.raises(httpx2.RemoteProtocolError):
            list(pieces)


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        pytest.param("missing.jsonl", None, FileNotFoundError, id="missing"),
        pytest.param("empty", "folder", FileNotFoundError, id="folder-without-cassettes"),
        pytest.param("bad.jsonl", '{"streamtest": 9}\n', streamtest.CassetteError, id="corrupt"),
    ],
)
def test_a_bad_path_fails_at_start_naming_it(
    tmp_path: Path, name: str, content: str | None, error: type[Exception]
) -> None:
    path = tmp_path / name
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    with pytest.raises(error, match=str(path)):
        ReplayServer([path])


def serve_cli(*args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "streamtest._cli", "serve", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize(
    "signum", [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]
)
def test_the_cli_serves_until_a_signal_then_exits_0(cassettes: Cassettes, signum: int) -> None:
    with serve_cli(str(cassettes.chat), "--port", "0", "--instant") as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 20)
            line = proc.stdout.readline() if ready else ""
            prefix = "streamtest serve: replaying 1 interaction(s) from 1 cassette(s) on "
            assert line.startswith(prefix), (line, proc.stderr.read() if not ready else "")
            url = line.removeprefix(prefix).strip()
            with openai_client(url) as client:
                assert chat(client) == TEXT
            proc.send_signal(signum)
            assert proc.wait(5) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        assert "POST /v1/chat/completions 200" in proc.stderr.read()


@pytest.mark.parametrize(
    ("name", "content", "status"),
    [
        pytest.param("missing.jsonl", None, 2, id="missing"),
        pytest.param("bad.jsonl", '{"streamtest": 9}\n', 1, id="corrupt"),
    ],
)
def test_the_cli_reports_a_bad_cassette_in_one_line(
    tmp_path: Path, name: str, content: str | None, status: int
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "streamtest._cli", "serve", str(path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == status
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and str(path) in result.stderr
    assert "Traceback" not in result.stderr
