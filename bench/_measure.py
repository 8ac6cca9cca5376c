"""Measurement: sizes, interleaved A/B runs with warm-up, medians, and the rows of the table.

Every ratio compares variants measured in the same process, interleaved run by run (A B C A B C
...) after a warm-up of each, so drift of the machine (other processes, CPU frequency, caches)
hits every variant alike; the median of the repetitions is reported.

A variant is a callable taking no arguments. By default its whole call is timed; a variant that
times a part of itself (the first chunk, the stream without the cassette write) returns that
duration in seconds instead of None.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ._server import StreamServer

Variant = Callable[[], "float | None"]


@dataclass(frozen=True)
class Size:
    """How big each benchmark is: ``full`` holds the sizes of the issue, ``tiny`` keeps the
    smoke test quick (it checks that every row is produced, never the figures)."""

    name: str
    chunks: int  # the stream of the replay, SDK and recording rows
    sdk_chunks: int
    repeat: int
    warmup: int
    replay_repeat: int  # the transport replay runs take milliseconds: more of them, cheaply
    gap_chunks: int  # time to first chunk: a stream of this many chunks ...
    gap: float  # ... this many seconds apart
    gap_repeat: int
    realtime_chunks: int  # realtime replay: this many chunks, gaps drawn from ...
    realtime_gaps: tuple[float, float]  # ... this range of seconds
    realtime_repeat: int
    file_chunks: int  # cassette load / save
    fixture_tests: int  # pytest fixed cost: tests per pytest run
    fixture_repeat: int
    fixture_warmup: int
    memory_bytes: int  # peak memory: the size of the recorded stream
    memory_chunk: int  # ... sent as chunks of this many bytes


SIZES = {
    "full": Size(
        "full",
        chunks=10_000,
        sdk_chunks=10_000,
        repeat=11,
        warmup=2,
        replay_repeat=31,
        gap_chunks=20,
        gap=0.05,
        gap_repeat=7,
        realtime_chunks=200,
        realtime_gaps=(0.005, 0.020),
        realtime_repeat=3,
        file_chunks=100_000,
        fixture_tests=1000,
        fixture_repeat=5,
        fixture_warmup=1,
        memory_bytes=100 * 2**20,
        memory_chunk=1024,
    ),
    "tiny": Size(
        "tiny",
        chunks=200,
        sdk_chunks=50,
        repeat=3,
        warmup=1,
        replay_repeat=3,
        gap_chunks=5,
        gap=0.002,
        gap_repeat=2,
        realtime_chunks=10,
        realtime_gaps=(0.001, 0.003),
        realtime_repeat=1,
        file_chunks=1000,
        fixture_tests=10,
        fixture_repeat=1,
        fixture_warmup=0,
        memory_bytes=2**20,
        memory_chunk=1024,
    ),
}

Kind = Literal["ratio", "diff_ms", "ms", "info"]


@dataclass
class Row:
    """One line of the table.

    ``kind`` says how ``value`` reads: ``ratio`` (ours / base), ``diff_ms`` (ours - base, in ms),
    ``ms`` (a time in ms: ours is the value, no base), ``info`` (a ratio with no target).
    ``limit`` is the target (ratio or ms); None for a row shown for information. ``paired``, a
    cross-check printed beside the value: the median of the per-round ratios (or differences)
    of the two variants, each round running them back to back (see `paired_ratio`). The two
    agree on a quiet machine; far apart, the run was noisy.
    """

    group: str
    name: str
    ours: float  # seconds (or bytes / ms, as ``unit`` says)
    base: float | None
    base_name: str
    kind: Kind
    limit: float | None
    unit: str = "ms"  # how ``ours`` and ``base`` print: "ms" (from seconds), "MB" (from bytes)
    note: str = ""
    paired: float | None = None

    @property
    def value(self) -> float:
        if self.kind == "ms":
            return self.ours
        assert self.base is not None
        if self.kind == "diff_ms":
            return (self.ours - self.base) * 1e3
        return self.ours / self.base if self.base else math.inf

    @property
    def status(self) -> str:
        if self.limit is None:
            return "info"
        return "PASS" if self.value <= self.limit else "MISS"


def run_interleaved(
    variants: dict[str, Variant], *, repeat: int, warmup: int
) -> dict[str, list[float]]:
    """Seconds of each run of each variant: ``warmup`` unrecorded rounds, then ``repeat`` rounds
    of every variant in turn (the order rotates each round, so none always runs first)."""
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(warmup + repeat):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            seconds = _timed(variants[name])
            if round_number >= warmup:
                times[name].append(seconds)
    return times


def _timed(variant: Variant) -> float:
    # The collector runs between runs, not inside one: a collection triggered by the garbage of
    # the previous variant would otherwise be charged to whichever runs next.
    gc.collect()
    start = time.perf_counter()
    measured = variant()
    elapsed = time.perf_counter() - start
    return elapsed if measured is None else measured


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in times.items()}


def paired_ratio(times: dict[str, list[float]], ours: str, base: str) -> float:
    """The median over rounds of ``ours / base``, both having run back to back in each round:
    a slow drift of the machine cancels out of it, while the ratio of the two medians resists
    bursts better (a burst that hits either run of a round spoils that round's ratio)."""
    return statistics.median(o / b for o, b in zip(times[ours], times[base], strict=True))


def paired_diff_ms(times: dict[str, list[float]], ours: str, base: str, per: int = 1) -> float:
    """The median over rounds of ``ours - base``, in milliseconds, divided by ``per``."""
    pairs = zip(times[ours], times[base], strict=True)
    return statistics.median((o - b) * 1e3 / per for o, b in pairs)


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) by nearest rank: a value that actually occurred."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Context:
    """What every benchmark group gets: the sizes, a scratch folder, the loopback server."""

    size: Size
    folder: Path
    server: StreamServer


def compared(
    group: str,
    name: str,
    times: dict[str, list[float]],
    ours: str,
    base: str,
    base_name: str,
    limit: float | None,
    *,
    note: str = "",
) -> Row:
    """A ratio row: the medians of ``ours`` and ``base``, and their paired ratio."""
    m = medians({ours: times[ours], base: times[base]})
    kind: Kind = "ratio" if limit is not None else "info"
    return Row(group, name, m[ours], m[base], base_name, kind, limit, note=note,
               paired=paired_ratio(times, ours, base))  # fmt: skip
