"""Time: the one place that reads the clock and sleeps, so tests can swap in a fake clock."""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from typing import Protocol


class Clock(Protocol):
    """What replay pacing needs from time. `RealClock` is the default; tests pass a fake one."""

    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def sleep(self, seconds: float) -> None: ...

    async def asleep(self, seconds: float) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.perf_counter()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        # asyncio wakes timers on its selector's millisecond grid (epoll rounds a timeout up to
        # the next millisecond), so asyncio.sleep alone arrives up to 1 ms late before any
        # scheduling delay. The last _ASYNC_SPIN seconds yield to the loop in a loop of
        # sleep(0) instead: other tasks still run, and the wake-up is on time
        # (docs/benchmarks.md, "realtime replay").
        end = time.perf_counter() + seconds
        if seconds > _ASYNC_SPIN:
            await asyncio.sleep(seconds - _ASYNC_SPIN)
        while time.perf_counter() < end:
            await asyncio.sleep(0)


_ASYNC_SPIN = 0.0015


class Timing(StrEnum):
    """How replay paces chunks: all at once, or at their recorded offsets (divided by ``speed``)."""

    INSTANT = "instant"
    REALTIME = "realtime"


def check_speed(speed: float) -> None:
    """A replay speed factor must be a positive number."""
    if not speed > 0:  # not `speed <= 0`: NaN would pass that and never sleep
        raise ValueError(f"speed must be a positive number, not {speed!r}.")


def check_gap(gap: float) -> None:
    """The pacing of chunks with unknown timing is a gap of zero or more seconds."""
    if not gap >= 0:  # catches NaN too
        raise ValueError(f"untimed_gap must be zero or a positive number of seconds, not {gap!r}.")


class Pacer:
    """Waits until each recorded offset (seconds since the request was sent) is due.

    For a response whose timing is unknown (``untimed_gap`` given), chunk ``i`` is due
    ``(i + 1) * untimed_gap`` seconds after the start, so a gap of 0 replays it instantly.
    """

    def __init__(
        self, clock: Clock, timing: Timing, speed: float, *, untimed_gap: float | None = None
    ) -> None:
        check_speed(speed)
        if untimed_gap is not None:
            check_gap(untimed_gap)
        self.clock, self.timing, self.speed = clock, timing, speed
        self.gap = untimed_gap
        self.start = clock.now()
        self.paces = timing is Timing.REALTIME and untimed_gap != 0

    def due(self, index: int, t: float) -> float:
        """The offset at which chunk number ``index`` (recorded at ``t``) is due."""
        return t if self.gap is None else (index + 1) * self.gap

    def _delay(self, t: float) -> float:
        if not self.paces:
            return 0.0
        return self.start + t / self.speed - self.clock.now()

    def stall(self, seconds: float) -> None:
        """Pause ``seconds`` of real time, whatever the timing; later chunks are due as much
        later (an injected `streamtest.Stall`)."""
        if seconds > 0:
            self.clock.sleep(seconds)
        self.start += seconds

    async def astall(self, seconds: float) -> None:
        if seconds > 0:
            await self.clock.asleep(seconds)
        self.start += seconds

    def wait(self, t: float) -> None:
        delay = self._delay(t)
        if delay > 0:
            self.clock.sleep(delay)

    async def await_(self, t: float) -> None:
        delay = self._delay(t)
        if delay > 0:
            await self.clock.asleep(delay)
