"""Cut and Stall reach object streams too (items, not chunks); the HTTP-only faults do not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import streamtest
from fixtures.fake_clock import FakeClock
from streamtest import Cut, ErrorStatus, Rechunk, Stall

ITEMS = ["Hel", "lo", ", ", "wor", "ld"]


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.jsonl"
    with streamtest.use_cassette(path, record_mode="all"):
        assert list(streamtest.record_stream(iter(ITEMS), name="tokens")) == ITEMS
    return path


def replay(path: Path, faults: Any, **options: Any) -> tuple[list[str], BaseException | None]:
    seen: list[str] = []
    with streamtest.use_cassette(path, record_mode="none", faults=faults, **options):
        try:
            for item in streamtest.record_stream(iter(["never", "read"]), name="tokens"):
                seen.append(item)
        except Exception as exc:
            return seen, exc
    return seen, None


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        ("reset", ConnectionResetError),
        ("timeout", TimeoutError),
        ("incomplete", ConnectionAbortedError),
    ],
)
def test_a_cut_ends_the_stream_after_n_items_with_a_builtin_error(
    cassette: Path, error: Any, raised: type[Exception]
) -> None:
    seen, exc = replay(cassette, Cut(2, error))
    assert seen == ITEMS[:2]
    assert type(exc) is raised


def test_a_cut_stream_stays_unplayed_for_a_retry(cassette: Path) -> None:
    with streamtest.use_cassette(cassette, record_mode="none", faults="cut=3,times=1"):
        with pytest.raises(ConnectionResetError):
            list(streamtest.record_stream(iter([]), name="tokens"))
        assert list(streamtest.record_stream(iter([]), name="tokens")) == ITEMS


def test_a_stall_pauses_before_item_n_and_delays_the_rest(cassette: Path) -> None:
    clock = FakeClock()
    seen, exc = replay(cassette, [Stall(1, 2.0), Stall(9, 0.5)], clock=clock)
    assert exc is None and seen == ITEMS
    assert clock.sleeps == [2.0, 0.5]  # instant timing: only the stalls wait; 9 is the end


def test_async_object_streams_get_the_same_faults(cassette: Path) -> None:
    clock = FakeClock()

    async def empty() -> AsyncIterator[str]:
        for item in ():
            yield item

    async def main() -> tuple[list[str], BaseException | None]:
        seen: list[str] = []
        try:
            async for item in streamtest.record_stream(empty(), name="tokens"):
                seen.append(item)
        except Exception as exc:
            return seen, exc
        return seen, None

    faults = [Stall(1, 1.5), Cut(3, "timeout")]
    with streamtest.use_cassette(cassette, record_mode="none", faults=faults, clock=clock):
        seen, exc = asyncio.run(main())
    assert seen == ITEMS[:3] and isinstance(exc, TimeoutError)
    assert clock.sleeps == [1.5]


def test_http_only_faults_leave_object_streams_alone_and_uncounted(cassette: Path) -> None:
    with pytest.warns(streamtest.StreamtestWarning, match="'rechunk=bytes', 'status=503'"):
        seen, exc = replay(cassette, [Rechunk("bytes"), ErrorStatus(503)])
    assert (seen, exc) == (ITEMS, None)
    # times=1 is spent on the first stream replay, not on an HTTP-only count
    with (
        pytest.warns(streamtest.StreamtestWarning, match="'status=500'"),
        streamtest.use_cassette(
            cassette, record_mode="none", faults=[ErrorStatus(500, times=1), Cut(1, times=1)]
        ),
    ):
        with pytest.raises(ConnectionResetError):
            list(streamtest.record_stream(iter([]), name="tokens"))
        assert list(streamtest.record_stream(iter([]), name="tokens")) == ITEMS
