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
        await asyncio.sleep(seconds)


class Timing(StrEnum):
    """How replay paces chunks: all at once, or at their recorded offsets (divided by ``speed``)."""

    INSTANT = "instant"
    REALTIME = "realtime"


def check_speed(speed: float) -> None:
    """A replay speed factor must be a positive number."""
    if not speed > 0:  # not `speed <= 0`: NaN would pass that and never sleep
        raise ValueError(f"speed must be a positive number, not {speed!r}.")


class Pacer:
    """Waits until each recorded offset (seconds since the request was sent) is due."""

    def __init__(self, clock: Clock, timing: Timing, speed: float) -> None:
        check_speed(speed)
        self.clock, self.timing, self.speed = clock, timing, speed
        self.start = clock.now()
        self.paces = timing is Timing.REALTIME

    def _delay(self, t: float) -> float:
        if not self.paces:
            return 0.0
        return self.start + t / self.speed - self.clock.now()

    def wait(self, t: float) -> None:
        delay = self._delay(t)
        if delay > 0:
            self.clock.sleep(delay)

    async def await_(self, t: float) -> None:
        delay = self._delay(t)
        if delay > 0:
            await self.clock.asleep(delay)
