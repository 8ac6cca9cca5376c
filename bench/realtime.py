"""Realtime replay: how late each chunk arrives against its recorded offset.

A cassette of chunks with gaps drawn from a range (seeded) is replayed with
``timing="realtime"`` through httpx2, sync and async; the error of a chunk is its arrival, counted
from just before ``client.stream(...)``, minus its recorded offset. Replay never serves a chunk
early (the pacer sleeps until it is due), so the error is the lateness: the sleep's wake-up
latency plus the transport's time to hand the chunk over. p50, p99 and max over every chunk of
every repetition; the target is p99. Beside them, interleaved, the floor: ``time.sleep`` until
each offset with no HTTP at all, the wake-up latency of the machine itself (a busy or virtualised
machine wakes sleepers late now and then, and that tail shows in p99).
"""

from __future__ import annotations

import asyncio
import time

import httpx2

import streamtest

from ._data import URL, gaps, token_chunks, write_cassette
from ._measure import Context, Row, percentile

GROUP = "realtime replay"
TARGET_P99_MS = 2.0


def _errors_sync(path: object, offsets: list[float]) -> list[float]:
    client = httpx2.Client()
    with streamtest.use_cassette(path, record_mode="none", timing="realtime"):  # type: ignore[arg-type]
        arrivals = []
        start = time.perf_counter()
        with client.stream("GET", URL) as response:
            for _ in response.iter_raw():
                arrivals.append(time.perf_counter() - start)
    return [a - t for a, t in zip(arrivals, offsets, strict=True)]


async def _errors_async(path: object, offsets: list[float]) -> list[float]:
    client = httpx2.AsyncClient()
    async with streamtest.use_cassette(path, record_mode="none", timing="realtime"):  # type: ignore[arg-type]
        arrivals = []
        start = time.perf_counter()
        async with client.stream("GET", URL) as response:
            async for _ in response.aiter_raw():
                arrivals.append(time.perf_counter() - start)
    return [a - t for a, t in zip(arrivals, offsets, strict=True)]


def _errors_sleep(offsets: list[float]) -> list[float]:
    """The floor: no HTTP at all, ``time.sleep`` until each offset, measured the same way."""
    errors = []
    start = time.perf_counter()
    for t in offsets:
        delay = start + t - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        errors.append(time.perf_counter() - start - t)
    return errors


def run(ctx: Context) -> list[Row]:
    size = ctx.size
    offsets = gaps(size.realtime_chunks, *size.realtime_gaps)
    path = write_cassette(
        ctx.folder / "realtime.jsonl", token_chunks(len(offsets)), offsets=offsets
    )
    _errors_sync(path, offsets)  # warm-up
    errors: dict[str, list[float]] = {"sleep": [], "sync": [], "async": []}
    for _ in range(size.realtime_repeat):  # interleaved, like every other comparison
        errors["sleep"] += _errors_sleep(offsets)
        errors["sync"] += _errors_sync(path, offsets)
        errors["async"] += asyncio.run(_errors_async(path, offsets))
    ms = {name: [e * 1e3 for e in values] for name, values in errors.items()}
    low, high = (g * 1e3 for g in size.realtime_gaps)
    stream = f"{len(offsets)} chunks {low:g}-{high:g} ms apart x {size.realtime_repeat}"

    def note(name: str) -> str:
        values = ms[name]
        return (
            f"p50 {percentile(values, 0.5):.2f} ms, max {max(values):.2f} ms, "
            f"earliest {min(values):+.2f} ms"
        )

    return [
        Row(GROUP, "time.sleep to the same offsets: p99 lateness (floor)",
            percentile(ms["sleep"], 0.99), None, "recorded offsets", "ms", None,
            note=f"{stream}; {note('sleep')}; this machine's own wake-up latency"),
        Row(GROUP, "httpx2 sync: p99 lateness per chunk", percentile(ms["sync"], 0.99), None,
            "recorded offsets", "ms", TARGET_P99_MS, note=note("sync")),
        Row(GROUP, "httpx2 async: p99 lateness per chunk", percentile(ms["async"], 0.99), None,
            "recorded offsets", "ms", TARGET_P99_MS, note=note("async")),
    ]  # fmt: skip
