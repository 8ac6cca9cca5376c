"""Replay pacing: `Pacer` sleeps until each recorded offset, divided by the speed, and only then."""

from __future__ import annotations

import asyncio
import math

import pytest

from fixtures.fake_clock import FakeClock
from streamtest import Timing
from streamtest._core.clock import Pacer


def test_instant_never_sleeps() -> None:
    clock = FakeClock()
    pacer = Pacer(clock, Timing.INSTANT, 1.0)  # FakeClock must satisfy the Clock protocol (mypy)

    for t in (0.1, 0.5, 2.0, 30.0):
        pacer.wait(t)

    assert clock.sleeps == []


def test_realtime_sleeps_until_each_offset() -> None:
    clock = FakeClock()
    pacer = Pacer(clock, Timing.REALTIME, 1.0)

    for t in (0.25, 0.5, 0.5, 1.75):
        pacer.wait(t)

    assert clock.sleeps == pytest.approx([0.25, 0.25, 1.25])
    assert clock.t == pytest.approx(1000.0 + 1.75)


def test_offsets_count_from_when_the_pacer_was_made() -> None:
    clock = FakeClock()
    pacer = Pacer(clock, Timing.REALTIME, 1.0)
    clock.t += 0.1  # the app took 0.1 s before asking for the first chunk

    pacer.wait(0.4)

    assert clock.sleeps == pytest.approx([0.3])


@pytest.mark.parametrize(
    ("speed", "sleeps"),
    [
        pytest.param(2.0, [0.5, 0.25], id="twice-as-fast"),
        pytest.param(0.5, [2.0, 1.0], id="half-speed"),
        pytest.param(math.inf, [], id="infinitely-fast"),
    ],
)
def test_speed_divides_the_waits(speed: float, sleeps: list[float]) -> None:
    clock = FakeClock()
    pacer = Pacer(clock, Timing.REALTIME, speed)

    pacer.wait(1.0)
    pacer.wait(1.5)

    assert clock.sleeps == pytest.approx(sleeps)


def test_no_sleep_when_already_late() -> None:
    clock = FakeClock()
    pacer = Pacer(clock, Timing.REALTIME, 1.0)
    clock.t += 2.0  # the consumer was slow

    pacer.wait(0.5)
    pacer.wait(2.0)
    pacer.wait(2.5)

    assert clock.sleeps == pytest.approx([0.5])


@pytest.mark.parametrize(
    "speed",
    [
        pytest.param(0.0, id="zero"),
        pytest.param(-1.0, id="negative"),
        pytest.param(math.nan, id="nan"),
    ],
)
def test_speed_must_be_positive(speed: float) -> None:
    with pytest.raises(ValueError, match="speed must be a positive number, not "):
        Pacer(FakeClock(), Timing.REALTIME, speed)


def test_async_realtime_sleeps_until_each_offset() -> None:
    clock = FakeClock()

    async def replay() -> None:
        pacer = Pacer(clock, Timing.REALTIME, 2.0)
        for t in (0.2, 0.2, 1.0):
            await pacer.await_(t)

    asyncio.run(replay())

    assert clock.sleeps == pytest.approx([0.1, 0.4])


def test_async_instant_never_sleeps() -> None:
    clock = FakeClock()

    async def replay() -> None:
        pacer = Pacer(clock, Timing.INSTANT, 1.0)
        for t in (0.2, 5.0):
            await pacer.await_(t)

    asyncio.run(replay())

    assert clock.sleeps == []


def test_timing_values() -> None:
    assert [Timing("instant"), Timing("realtime")] == [Timing.INSTANT, Timing.REALTIME]


@pytest.mark.parametrize(
    ("speed", "sleeps"),
    [pytest.param(1.0, [0.25, 0.25, 0.25], id="gap"), pytest.param(2.0, [0.125] * 3, id="faster")],
)
def test_unknown_timing_is_paced_by_the_chosen_gap(speed: float, sleeps: list[float]) -> None:
    clock = FakeClock()
    pacer = Pacer(clock, Timing.REALTIME, speed, untimed_gap=0.25)

    for index in range(3):
        pacer.wait(pacer.due(index, 0.0))

    assert clock.sleeps == pytest.approx(sleeps)


def test_unknown_timing_with_no_gap_replays_instantly_even_in_realtime() -> None:
    pacer = Pacer(FakeClock(), Timing.REALTIME, 1.0, untimed_gap=0.0)

    assert not pacer.paces and pacer.due(5, 9.0) == 0.0


def test_known_timing_ignores_the_gap() -> None:
    assert Pacer(FakeClock(), Timing.REALTIME, 1.0).due(3, 0.7) == 0.7


@pytest.mark.parametrize("gap", [-0.1, math.nan])
def test_the_gap_must_be_zero_or_more(gap: float) -> None:
    with pytest.raises(ValueError, match="untimed_gap must be zero or a positive number"):
        Pacer(FakeClock(), Timing.REALTIME, 1.0, untimed_gap=gap)


@pytest.mark.parametrize("seconds", [0.0004, 0.003])
def test_the_real_clock_never_wakes_early_in_async_code(seconds: float) -> None:
    """The last stretch of an async sleep is spent yielding to the loop: it must still end no
    earlier than asked, and let other tasks run meanwhile."""
    import time

    from streamtest import RealClock

    ticks = 0

    async def other_task() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    async def main() -> float:
        other = asyncio.create_task(other_task())
        start = time.perf_counter()
        await RealClock().asleep(seconds)
        took = time.perf_counter() - start
        other.cancel()
        return took

    assert asyncio.run(main()) >= seconds
    assert ticks > 0
