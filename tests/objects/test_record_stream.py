"""record_stream: the items of any iterator recorded live with their timing, and replayed without
touching the source; errors, early closes, routing by name and key, redaction."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

import streamtest
from fixtures.fake_clock import FakeClock


def counting(log: list[str], n: int = 3, *, clock: FakeClock | None = None) -> Iterator[Any]:
    """Yields ``{"i": 0}``, ``{"i": 1}``, ...; each yield is logged, and with ``clock`` each item
    takes 0.5 s to produce. Its ``finally`` is logged too, to see it closed."""
    try:
        for i in range(n):
            if clock is not None:
                clock.t += 0.5
            log.append(f"yield {i}")
            yield {"i": i, "pair": (i, str(i))}
    finally:
        log.append("closed")


async def acounting(log: list[str], n: int = 3, *, clock: FakeClock | None = None) -> Any:
    """`counting` as an async generator (closing it drops, and so closes, the sync one)."""
    for item in counting(log, n, clock=clock):
        yield item


EXPECTED = [{"i": i, "pair": (i, str(i))} for i in range(3)]


class Countdown:
    """A plain iterator class (not a generator), to record something with no close()."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self) -> Countdown:
        return self

    def __next__(self) -> int:
        if self.n == 0:
            raise StopIteration
        self.n -= 1
        return self.n


class ACountdown:
    def __init__(self, n: int) -> None:
        self.n = n

    def __aiter__(self) -> ACountdown:
        return self

    async def __anext__(self) -> int:
        if self.n == 0:
            raise StopAsyncIteration
        self.n -= 1
        return self.n


async def collect(stream: Any) -> list[Any]:
    return [item async for item in stream]


# ---------------------------------------------------------------- record, then replay, sync/async


def test_a_generator_is_recorded_live_then_replayed_without_running_it(tmp_path: Path) -> None:
    path = tmp_path / "gen.jsonl"
    log: list[str] = []

    assert list(streamtest.record_stream(counting(log), name="answer", path=path)) == EXPECTED
    assert log == ["yield 0", "yield 1", "yield 2", "closed"]

    log.clear()
    source = counting(log)
    replayed = list(streamtest.record_stream(source, name="answer", path=path, record_mode="none"))

    assert replayed == EXPECTED and type(replayed[0]["pair"]) is tuple
    assert log == []  # not one line of the source ran ...
    assert inspect.getgeneratorstate(source) == inspect.GEN_CLOSED  # ... and it was closed
    [stream] = streamtest.load_cassette(path).streams
    assert (stream.name, stream.key, stream.end, len(stream.items)) == (
        "answer",
        None,
        streamtest.End.COMPLETED,
        3,
    )


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: [1, "two", None, (3,)], id="list"),
        pytest.param(lambda: Countdown(3), id="iterator-class"),
        pytest.param(lambda: (x * 2 for x in range(3)), id="generator-expression"),
    ],
)
def test_any_iterable_records_and_replays(tmp_path: Path, make: Any) -> None:
    path = tmp_path / "it.jsonl"
    live = list(streamtest.record_stream(make(), path=path))

    replayed = list(streamtest.record_stream(make(), path=path, record_mode="none"))

    assert replayed == live == list(make())


def test_an_async_generator_is_recorded_then_replayed_without_running_it(tmp_path: Path) -> None:
    path = tmp_path / "agen.jsonl"
    log: list[str] = []

    live = asyncio.run(collect(streamtest.record_stream(acounting(log), path=path)))
    assert live == EXPECTED and log == ["yield 0", "yield 1", "yield 2", "closed"]

    log.clear()
    source = acounting(log)
    replayed = asyncio.run(collect(streamtest.record_stream(source, path=path, record_mode="none")))

    assert replayed == EXPECTED and log == []
    assert source.ag_frame is None  # closed with aclose() before it ever ran


def test_an_async_iterator_class_records_and_replays(tmp_path: Path) -> None:
    path = tmp_path / "aiter.jsonl"
    live = asyncio.run(collect(streamtest.record_stream(ACountdown(3), path=path)))

    replayed = asyncio.run(
        collect(streamtest.record_stream(ACountdown(0), path=path, record_mode="none"))
    )

    assert replayed == live == [2, 1, 0]


def test_items_pass_through_live_one_by_one(tmp_path: Path) -> None:
    log: list[str] = []
    stream = streamtest.record_stream(counting(log), path=tmp_path / "live.jsonl")

    assert log == []  # nothing runs before the consumer asks
    assert next(stream) == EXPECTED[0]
    assert log == ["yield 0"]  # the first item arrives before the source produced the second
    assert next(stream) == EXPECTED[1]
    assert log == ["yield 0", "yield 1"]
    stream.close()


def test_the_record_holds_each_item_as_it_was_when_it_passed(tmp_path: Path) -> None:
    path = tmp_path / "mutate.jsonl"
    shared = {"text": "Hel"}

    def growing() -> Iterator[dict[str, str]]:
        yield shared
        shared["text"] += "lo"  # the producer mutates what it already yielded
        yield shared

    items = list(streamtest.record_stream(growing(), path=path))
    items[1]["seen"] = "by the consumer"  # and so does the consumer, afterwards

    assert list(streamtest.replay_stream(path)) == [{"text": "Hel"}, {"text": "Hello"}]


# ---------------------------------------------------------------------------------------- timing


def test_offsets_are_recorded_and_realtime_replay_waits_for_them(tmp_path: Path) -> None:
    path = tmp_path / "timed.jsonl"
    clock = FakeClock()
    list(streamtest.record_stream(counting([], clock=clock), path=path, clock=clock))
    assert [i.t for i in streamtest.load_cassette(path).streams[0].items] == [0.5, 1.0, 1.5]

    replay_clock = FakeClock()
    replayed = list(
        streamtest.record_stream(
            counting([]),
            path=path,
            record_mode="none",
            timing="realtime",
            speed=2.0,
            clock=replay_clock,
        )
    )

    assert replayed == EXPECTED
    assert replay_clock.sleeps == [0.25, 0.25, 0.25]


def test_async_realtime_replay_waits_and_instant_replay_does_not(tmp_path: Path) -> None:
    path = tmp_path / "atimed.jsonl"
    clock = FakeClock()
    asyncio.run(
        collect(streamtest.record_stream(acounting([], clock=clock), path=path, clock=clock))
    )

    paced, instant = FakeClock(), FakeClock()
    for timing, replay_clock in (("realtime", paced), ("instant", instant)):
        stream = streamtest.record_stream(
            acounting([]), path=path, record_mode="none", timing=timing, clock=replay_clock
        )
        assert asyncio.run(collect(stream)) == EXPECTED

    assert paced.sleeps == [0.5, 0.5, 0.5]
    assert instant.sleeps == []


def test_offsets_count_from_the_first_request_for_an_item(tmp_path: Path) -> None:
    path = tmp_path / "late.jsonl"
    clock = FakeClock()
    stream = streamtest.record_stream(counting([], clock=clock), path=path, clock=clock)
    clock.t += 100.0  # the stream was created long before it was consumed

    list(stream)

    assert [i.t for i in streamtest.load_cassette(path).streams[0].items] == [0.5, 1.0, 1.5]


# ------------------------------------------------------------------------- errors and early ends


class QuotaError(Exception):
    pass


def failing(error: Exception) -> Iterator[int]:
    yield 1
    yield 2
    raise error


@pytest.mark.parametrize(
    ("error", "replayed_type"),
    [
        pytest.param(ValueError("bad token"), ValueError, id="builtin"),
        pytest.param(QuotaError("quota exceeded"), streamtest.RecordedStreamError, id="custom"),
    ],
)
def test_an_error_mid_stream_is_recorded_and_raised_again_after_the_same_items(
    tmp_path: Path, error: Exception, replayed_type: type[Exception]
) -> None:
    path = tmp_path / "fails.jsonl"
    seen: list[int] = []
    with pytest.raises(type(error)) as live:
        seen.extend(streamtest.record_stream(failing(error), name="answer", path=path))
    assert live.value is error and seen == [1, 2]  # the source's own exception, unchanged
    [stream] = streamtest.load_cassette(path).streams
    assert stream.error == streamtest.StreamError(type(error).__name__, str(error))

    replayed: list[int] = []
    with pytest.raises(replayed_type) as again:
        replayed.extend(streamtest.replay_stream(path, name="answer"))

    assert replayed == [1, 2]
    assert str(error) in str(again.value)
    if replayed_type is streamtest.RecordedStreamError:
        recorded = again.value
        assert isinstance(recorded, streamtest.RecordedStreamError)
        assert (recorded.type, recorded.message) == ("QuotaError", "quota exceeded")
        assert str(path) in str(recorded) and "not a builtin" in str(recorded)


def test_an_async_error_mid_stream_is_recorded_and_raised_again(tmp_path: Path) -> None:
    path = tmp_path / "afails.jsonl"

    async def afailing() -> AsyncIterator[str]:
        yield "a"
        raise ConnectionResetError("peer went away")

    async def consume(stream: Any) -> list[str]:
        seen: list[str] = []
        with pytest.raises(ConnectionResetError, match="peer went away"):
            async for item in stream:
                seen.append(item)
        return seen

    assert asyncio.run(consume(streamtest.record_stream(afailing(), path=path))) == ["a"]
    replay = streamtest.record_stream(afailing(), path=path, record_mode="none")
    assert asyncio.run(consume(replay)) == ["a"]


def test_a_consumer_that_stops_early_records_a_closed_stream(tmp_path: Path) -> None:
    path = tmp_path / "early.jsonl"
    log: list[str] = []
    for item in streamtest.record_stream(counting(log, 10), path=path):
        if item["i"] == 1:
            break

    assert log == ["yield 0", "yield 1", "closed"]  # the source was closed, not drained
    [stream] = streamtest.load_cassette(path).streams
    assert (stream.end, len(stream.items)) == (streamtest.End.CLOSED, 2)

    replay = streamtest.record_stream(counting([]), path=path, record_mode="none")
    assert [next(replay), next(replay)] == EXPECTED[:2]
    with pytest.raises(
        streamtest.IncompleteRecordingError, match=r"closed by its consumer after 2"
    ):
        next(replay)


def test_aclose_on_the_wrapper_records_a_closed_stream(tmp_path: Path) -> None:
    path = tmp_path / "aclose.jsonl"
    log: list[str] = []

    async def take_one() -> Any:
        stream = streamtest.record_stream(acounting(log), path=path)
        first = await anext(stream)
        await stream.aclose()  # type: ignore[attr-defined]
        return first

    assert asyncio.run(take_one()) == EXPECTED[0]
    assert log == ["yield 0", "closed"]
    [stream] = streamtest.load_cassette(path).streams
    assert (stream.end, len(stream.items)) == (streamtest.End.CLOSED, 1)
