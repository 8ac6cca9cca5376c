"""Faults at the transport: what a real httpx or httpx2 client (sync and async) reads from a
replay with faults, and what it raises, with a fake clock so stalls cost no time."""

from __future__ import annotations

import asyncio
import importlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import streamtest
from fixtures.fake_clock import FakeClock
from fixtures.provider_server import ProviderServer, Scenario
from streamtest import Chunk, Cut, Interaction, Rechunk, Request, Response, Stall
from streamtest._core import fileformat

STACKS = [pytest.param("httpx", id="httpx"), pytest.param("httpx2", id="httpx2")]
MODES = [pytest.param(False, id="sync"), pytest.param(True, id="async")]
URL = "http://stream.invalid/v1/chat/completions"
CHUNKS = tuple(Chunk(0.1 * (i + 1), f'data: {{"n": {i}}}\n\n'.encode()) for i in range(6))
BODY = b"".join(chunk.data for chunk in CHUNKS)


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    path = tmp_path / "six.jsonl"
    response = Response(200, (("content-type", "text/event-stream"),), CHUNKS, t=0.05)
    cassette = streamtest.Cassette(path, [Interaction(Request("GET", URL), response)])
    fileformat.save(cassette, recorded_with="test")
    return path


@dataclass
class Read:
    """What one request read: its status, the raw pieces, and what it raised."""

    status: int = 0
    pieces: list[bytes] = field(default_factory=list)
    error: BaseException | None = None


def read(stack: str, is_async: bool, *, read_timeout: float | None = None) -> Read:
    module: Any = importlib.import_module(stack)
    timeout = module.Timeout(5.0, read=read_timeout)
    out = Read()

    def sync() -> None:
        with module.Client(timeout=timeout) as client, client.stream("GET", URL) as response:
            out.status = response.status_code
            for piece in response.iter_raw():
                out.pieces.append(piece)

    async def main() -> None:
        async with (
            module.AsyncClient(timeout=timeout) as client,
            client.stream("GET", URL) as response,
        ):
            out.status = response.status_code
            async for piece in response.aiter_raw():
                out.pieces.append(piece)

    try:
        asyncio.run(main()) if is_async else sync()
    except Exception as exc:
        out.error = exc
    return out


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("is_async", MODES)
def test_rechunked_replay_reads_the_same_bytes_in_other_pieces(
    cassette: Path, stack: str, is_async: bool
) -> None:
    for fault, sizes in (
        (Rechunk("bytes"), [1] * len(BODY)),
        (Rechunk("whole"), [len(BODY)]),
    ):
        with streamtest.use_cassette(cassette, record_mode="none", faults=fault):
            got = read(stack, is_async)
        assert got.error is None
        assert b"".join(got.pieces) == BODY
        assert [len(p) for p in got.pieces] == sizes


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("is_async", MODES)
@pytest.mark.parametrize(
    ("error", "raised"),
    [("reset", "ReadError"), ("timeout", "ReadTimeout"), ("incomplete", "RemoteProtocolError")],
)
def test_a_cut_reads_the_first_chunks_then_raises_the_stacks_own_error(
    cassette: Path, stack: str, is_async: bool, error: Any, raised: str
) -> None:
    module = importlib.import_module(stack)
    with streamtest.use_cassette(cassette, record_mode="none", faults=Cut(2, error)):
        got = read(stack, is_async)
    assert got.pieces == [c.data for c in CHUNKS[:2]]
    assert type(got.error) is getattr(module, raised)
    assert isinstance(got.error, module.TransportError)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("is_async", MODES)
def test_a_stall_longer_than_the_read_timeout_times_out_after_the_timeout(
    cassette: Path, stack: str, is_async: bool
) -> None:
    module = importlib.import_module(stack)
    clock = FakeClock()
    options: dict[str, Any] = {"record_mode": "none", "clock": clock}
    with streamtest.use_cassette(cassette, faults=Stall(3, 30.0, times=1), **options):
        got = read(stack, is_async, read_timeout=0.75)
        assert clock.sleeps == [0.75]  # the client's read timeout, not the 30 s stall
        assert type(got.error) is module.ReadTimeout
        assert got.pieces == [c.data for c in CHUNKS[:3]]
        # the timed-out replay did not use the recording up: the retry replays it whole
        retry = read(stack, is_async, read_timeout=0.75)
    assert retry.error is None and b"".join(retry.pieces) == BODY


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("is_async", MODES)
def test_a_stall_within_the_read_timeout_delays_and_delivers(
    cassette: Path, stack: str, is_async: bool
) -> None:
    clock = FakeClock()
    faults = [Stall(3, 0.5), Stall(6, 0.25)]  # 6: before the end of the stream
    with streamtest.use_cassette(cassette, record_mode="none", clock=clock, faults=faults):
        got = read(stack, is_async, read_timeout=0.75)
    assert got.error is None and b"".join(got.pieces) == BODY
    assert clock.sleeps == [0.5, 0.25]  # instant timing: only the stalls wait


@pytest.mark.parametrize("is_async", MODES)
def test_in_realtime_a_stall_delays_every_later_chunk(cassette: Path, is_async: bool) -> None:
    clock = FakeClock()
    with streamtest.use_cassette(
        cassette, record_mode="none", clock=clock, timing="realtime", faults=Stall(2, 1.0)
    ):
        start = clock.t
        got = read("httpx2", is_async)
    assert got.error is None
    # headers at 0.05, chunks at 0.1 and 0.2, a 1 s pause, then 0.3 ... 0.6 shifted by 1 s
    assert clock.t - start == pytest.approx(1.6)
    assert clock.sleeps[:4] == pytest.approx([0.05, 0.05, 0.1, 1.0])
    assert clock.sleeps[4:] == pytest.approx([0.1] * 4)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("is_async", MODES)
def test_an_error_status_answers_instead_and_leaves_the_recording(
    cassette: Path, stack: str, is_async: bool
) -> None:
    with streamtest.use_cassette(cassette, record_mode="none", faults="status=503,times=2"):
        first, second, third = (read(stack, is_async) for _ in range(3))
    for answered in (first, second):
        assert answered.status == 503
        assert b"HTTP 503" in b"".join(answered.pieces)
    assert third.status == 200 and b"".join(third.pieces) == BODY


def test_an_injected_cut_leaves_the_recording_but_a_reshaping_uses_it_up(cassette: Path) -> None:
    with (
        pytest.raises(streamtest.UnmatchedRequestError, match="already played"),
        streamtest.use_cassette(cassette, record_mode="none", faults=Cut(1, times=1)),
    ):
        assert read("httpx2", False).error is not None
        assert b"".join(read("httpx2", False).pieces) == BODY
        read_or_raise()
    with (
        pytest.raises(streamtest.UnmatchedRequestError, match="already played"),
        streamtest.use_cassette(cassette, record_mode="none", faults=Rechunk("bytes")),
    ):
        assert b"".join(read("httpx2", False).pieces) == BODY
        read_or_raise()


def read_or_raise() -> None:
    got = read("httpx2", False)
    assert got.error is not None
    raise got.error


def test_an_incomplete_recording_error_names_the_injected_faults(tmp_path: Path) -> None:
    path = tmp_path / "closed.jsonl"
    response = Response(200, (), CHUNKS[:2], closed=True)
    fileformat.save(
        streamtest.Cassette(path, [Interaction(Request("GET", URL), response)]), recorded_with="t"
    )
    with streamtest.use_cassette(path, record_mode="none", faults=[Rechunk("whole")]):
        got = read("httpx2", False)
    assert isinstance(got.error, streamtest.IncompleteRecordingError)
    assert "with injected faults (rechunk=whole)" in str(got.error)
    assert got.pieces == [CHUNKS[0].data + CHUNKS[1].data]


def test_faults_do_not_touch_recording(tmp_path: Path) -> None:
    """Faults reshape replays only: a request recorded with faults set is recorded as it was,
    and the test is warned that its fault changed nothing."""
    path = tmp_path / "recorded.jsonl"
    with ProviderServer() as server:
        url = server.base_url(Scenario(text="one two three"))
        with (
            pytest.warns(streamtest.StreamtestWarning, match=r"'cut=1,error=reset' .* recorded"),
            streamtest.use_cassette(path, record_mode="all", faults=Cut(1)),
        ):
            module: Any = importlib.import_module("httpx2")
            with module.Client() as client:
                live = client.post(f"{url}/chat/completions", json={"stream": True}).content
    recorded = streamtest.load_cassette(path).interactions[0].response
    assert recorded.error is None and recorded.body == live and len(recorded.chunks) > 1


def test_a_fault_that_reaches_no_replay_warns_but_a_suite_wide_one_does_not(
    cassette: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        pytest.warns(streamtest.StreamtestWarning, match=r"'cut=2,error=reset'.* no replay"),
        streamtest.use_cassette(cassette, record_mode="none", faults=Cut(2, skip=1)),
    ):
        assert b"".join(read("httpx2", False).pieces) == BODY  # skipped: whole
    monkeypatch.setenv("STREAMTEST_FAULTS", "status=500,skip=3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with streamtest.use_cassette(cassette, record_mode="none"):
            assert b"".join(read("httpx2", False).pieces) == BODY
