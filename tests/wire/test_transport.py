"""Record and replay at the transport level, for httpx and httpx2, sync and async.

Each test records a real stream from the loopback server over TCP, stops the server, and replays:
the chunks the application reads must be the recorded ones, boundary for boundary, byte for byte.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from pathlib import Path
from typing import Any

import pytest

import streamtest
from fixtures.fake_clock import FakeClock
from fixtures.provider_server import ProviderServer, Scenario

STACKS = [pytest.param("httpx", id="httpx"), pytest.param("httpx2", id="httpx2")]
MODES = [pytest.param(False, id="sync"), pytest.param(True, id="async")]
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}


def read_chunks(
    stack: str,
    is_async: bool,
    url: str,
    *,
    limit: int | None = None,
    into: list[bytes] | None = None,
) -> list[bytes]:
    """POST ``url`` with a real client of ``stack`` and return the raw chunks it reads (also
    appended to ``into``, which keeps them when reading fails)."""
    module: Any = importlib.import_module(stack)
    chunks = [] if into is None else into

    def take(chunk: bytes) -> bool:
        chunks.append(chunk)
        return limit is not None and len(chunks) == limit

    def sync() -> None:
        with module.Client() as client, client.stream("POST", url, json=BODY) as response:
            for chunk in response.iter_raw():
                if take(chunk):
                    break

    async def main() -> None:
        async with (
            module.AsyncClient() as client,
            client.stream("POST", url, json=BODY) as response,
        ):
            async for chunk in response.aiter_raw():
                if take(chunk):
                    break

    asyncio.run(main()) if is_async else sync()
    return chunks


@pytest.mark.parametrize("split", ["event", "coalesce", "halves", "utf8"])
@pytest.mark.parametrize("is_async", MODES)
@pytest.mark.parametrize("stack", STACKS)
def test_replay_gives_the_recorded_chunks(
    stack: str, is_async: bool, split: str, server: ProviderServer, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    scenario = Scenario(split=split, gap=0.002)  # type: ignore[arg-type]
    url = server.base_url(scenario) + "/chat/completions"
    with streamtest.use_cassette(path, record_mode="all"):
        live = read_chunks(stack, is_async, url)
    server.stop()

    recorded = streamtest.load_cassette(path).interactions[0].response
    assert [c.data for c in recorded.chunks] == live
    assert recorded.end is streamtest.End.COMPLETED
    assert len(live) >= 4
    if split == "utf8":
        assert any(_not_utf8(chunk) for chunk in live)
    with streamtest.use_cassette(path, record_mode="none"):
        replayed = read_chunks(stack, is_async, url)
    assert replayed == live


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def read_until_error(stack: str, is_async: bool, url: str) -> tuple[list[bytes], Exception]:
    """Read ``url`` to its end, which must be an error; return the chunks read and the error."""
    chunks: list[bytes] = []
    try:
        read_chunks(stack, is_async, url, into=chunks)
    except Exception as exc:
        return chunks, exc
    raise AssertionError("the stream ended without an error")


@pytest.mark.parametrize("is_async", MODES)
@pytest.mark.parametrize("stack", STACKS)
def test_a_stream_broken_midway_replays_the_same_error(
    stack: str, is_async: bool, server: ProviderServer, tmp_path: Path
) -> None:
    module: Any = importlib.import_module(stack)
    path = tmp_path / "broken.jsonl"
    url = server.base_url(Scenario(disconnect_after=4, gap=0.002)) + "/chat/completions"
    with streamtest.use_cassette(path, record_mode="all"):
        live, live_error = read_until_error(stack, is_async, url)
    server.stop()
    assert isinstance(live_error, module.RemoteProtocolError)
    assert len(live) == 4

    response = streamtest.load_cassette(path).interactions[0].response
    assert response.end is streamtest.End.FAILED
    assert response.error == streamtest.StreamError("RemoteProtocolError", str(live_error))
    assert [c.data for c in response.chunks] == live

    with streamtest.use_cassette(path, record_mode="none"):
        replayed, replay_error = read_until_error(stack, is_async, url)
    assert replayed == live
    assert type(replay_error) is type(live_error)
    assert str(replay_error) == str(live_error)


@pytest.mark.parametrize("is_async", MODES)
@pytest.mark.parametrize("stack", STACKS)
def test_a_stream_closed_early_is_recorded_as_closed_and_nothing_hangs(
    stack: str, is_async: bool, server: ProviderServer, tmp_path: Path
) -> None:
    path = tmp_path / "closed.jsonl"
    # 12+ writes 0.5 s apart: reading them all would take over 5 s.
    url = server.base_url(Scenario(gap=0.5)) + "/chat/completions"
    started = time.perf_counter()
    with streamtest.use_cassette(path, record_mode="all"):
        live = read_chunks(stack, is_async, url, limit=2)
    assert time.perf_counter() - started < 2.0
    server.stop()

    response = streamtest.load_cassette(path).interactions[0].response
    assert response.end is streamtest.End.CLOSED
    assert [c.data for c in response.chunks] == live

    with streamtest.use_cassette(path, record_mode="none"):
        assert read_chunks(stack, is_async, url, limit=2) == live
    with (
        streamtest.use_cassette(path, record_mode="none"),
        pytest.raises(streamtest.IncompleteRecordingError, match="closed by the client"),
    ):
        read_chunks(stack, is_async, url)


@pytest.mark.parametrize("is_async", MODES)
@pytest.mark.parametrize("stack", STACKS)
def test_replay_is_a_true_stream_paced_by_the_clock(
    stack: str, is_async: bool, server: ProviderServer, tmp_path: Path
) -> None:
    path = tmp_path / "paced.jsonl"
    url = server.base_url(Scenario(gap=0.01)) + "/chat/completions"
    with streamtest.use_cassette(path, record_mode="all"):
        read_chunks(stack, is_async, url)
    response = streamtest.load_cassette(path).interactions[0].response

    clock = FakeClock()
    with streamtest.use_cassette(
        path, record_mode="none", timing="realtime", speed=2.0, clock=clock
    ):
        read_chunks(stack, is_async, url, limit=3)
    # Waited for the headers and three chunks only: the body is not read ahead.
    offsets = [response.t, *[c.t for c in response.chunks[:3]]]
    assert len(clock.sleeps) <= 4
    assert clock.t - 1000.0 == pytest.approx(offsets[-1] / 2.0, abs=1e-9)

    clock = FakeClock()
    with streamtest.use_cassette(path, record_mode="none", clock=clock):
        read_chunks(stack, is_async, url)
    assert clock.sleeps == []
