"""Replay at the transport level: ``iter_raw()``/``aiter_raw()`` with no SDK in the loop.

Per stack (httpx, httpx2) and flavour (sync, async), interleaved in one run:

- floor: the same client API over a hand-built ``MockTransport`` streaming the chunk list;
- ours, cassette loaded: a real ``HTTPTransport`` client inside ``use_cassette(record_mode="none",
  timing="instant")``, timed from the request to the last chunk: the load is outside the timer;
- ours with the load: ``use_cassette`` entered inside each timed run, so the file is read,
  decoded and the patch installed every time.

vcrpy (httpx2, sync) replays the same stream from its own cassette beside them; it joined the
body into one string when it recorded, so it hands the client a single chunk.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

import msgspec

import streamtest

from ._data import drain_async, drain_sync, floor_transport, token_chunks, write_cassette
from ._measure import Context, Row, Variant, compared, run_interleaved
from .fileio import Line

GROUP = "replay (transport)"
TARGET_LOADED, TARGET_WITH_LOAD = 1.10, 1.5


def _cassette(ctx: Context) -> streamtest.use_cassette:
    return streamtest.use_cassette(
        ctx.folder / "replay.jsonl",
        record_mode="none",
        timing="instant",
        allow_playback_repeats=True,
    )


def _sync_variants(ctx: Context, module: Any, chunks: list[bytes]) -> dict[str, Variant]:
    floor = module.Client(transport=floor_transport(module, chunks))
    real = module.Client()

    def loaded() -> float:
        with _cassette(ctx):
            start = time.perf_counter()
            drain_sync(real)
            return time.perf_counter() - start

    def with_load() -> None:
        with _cassette(ctx):
            drain_sync(real)

    return {"floor": lambda: drain_sync(floor) and None, "loaded": loaded, "with load": with_load}


def _async_variants(
    ctx: Context, module: Any, chunks: list[bytes], loop: asyncio.AbstractEventLoop
) -> dict[str, Variant]:
    floor = module.AsyncClient(transport=floor_transport(module, chunks, asynchronous=True))
    real = module.AsyncClient()

    async def timed_floor() -> float:
        start = time.perf_counter()
        await drain_async(floor)
        return time.perf_counter() - start

    async def loaded() -> float:
        async with _cassette(ctx):
            start = time.perf_counter()
            await drain_async(real)
            return time.perf_counter() - start

    async def with_load() -> float:
        start = time.perf_counter()
        async with _cassette(ctx):
            await drain_async(real)
        return time.perf_counter() - start

    def run(make: Callable[[], Coroutine[Any, Any, float]]) -> Variant:
        return lambda: loop.run_until_complete(make())

    return {"floor": run(timed_floor), "loaded": run(loaded), "with load": run(with_load)}


def _vcr_variants(ctx: Context, chunks: list[bytes]) -> tuple[dict[str, Variant], int]:
    import httpx2
    import vcr

    url = ctx.server.url(f"tokens/{len(chunks)}")
    path = str(ctx.folder / "replay-vcr.yaml")
    with httpx2.Client() as recorder, vcr.VCR().use_cassette(path, record_mode="all"):
        drain_sync(recorder, url)
    client = httpx2.Client()

    def cassette() -> Any:
        return vcr.VCR().use_cassette(path, record_mode="none", allow_playback_repeats=True)

    def loaded() -> float:
        with cassette():
            start = time.perf_counter()
            drain_sync(client, url)
            return time.perf_counter() - start

    def with_load() -> None:
        with cassette():
            drain_sync(client, url)

    with cassette():
        count = drain_sync(client, url)
    return {"vcrpy loaded": loaded, "vcrpy with load": with_load}, count


def _bound(ctx: Context, module: Any, chunks: list[bytes]) -> Variant:
    """The floor plus msgspec's typed decoding of the cassette file: what any replay that reads
    this file format costs at the least (see ``bench/fileio.py``)."""
    floor = module.Client(transport=floor_transport(module, chunks))
    decoder = msgspec.json.Decoder(Line)
    path = ctx.folder / "replay.jsonl"

    def bound() -> None:
        decoder.decode_lines(path.read_bytes())
        drain_sync(floor)

    return bound


def run(ctx: Context) -> list[Row]:
    size = ctx.size
    chunks = token_chunks(size.chunks)
    write_cassette(ctx.folder / "replay.jsonl", chunks)
    rows: list[Row] = []
    loop = asyncio.new_event_loop()
    try:
        for stack in ("httpx", "httpx2"):
            module = importlib.import_module(stack)
            for flavour in ("sync", "async"):
                if flavour == "sync":
                    variants = _sync_variants(ctx, module, chunks)
                else:
                    variants = _async_variants(ctx, module, chunks, loop)
                vcr_count = 0
                if stack == "httpx2" and flavour == "sync":
                    extra, vcr_count = _vcr_variants(ctx, chunks)
                    variants.update(extra)
                    variants["bound"] = _bound(ctx, module, chunks)
                times = run_interleaved(variants, repeat=size.replay_repeat, warmup=size.warmup)
                rows += _rows(f"{stack} {flavour}", times, len(chunks), vcr_count)
    finally:
        loop.close()
    return rows


def _rows(label: str, t: dict[str, list[float]], n: int, vcr_count: int) -> list[Row]:
    floor = "MockTransport floor"
    rows = [
        compared(GROUP, f"{label}, cassette loaded", t, "loaded", "floor", floor, TARGET_LOADED,
                 note=f"{n:,} chunks"),
        compared(GROUP, f"{label}, loading the file too", t, "with load", "floor", floor,
                 TARGET_WITH_LOAD),
    ]  # fmt: skip
    if "bound" in t:
        rows.append(
            compared(GROUP, f"{label}: floor + typed decode of the file (a bound)", t, "bound",
                     "floor", floor, None, note="msgspec decode_lines, no checks, no model")
        )  # fmt: skip
    if vcr_count:
        note = f"vcrpy serves the body as {vcr_count} chunk(s), not {n:,}"
        rows += [
            compared(GROUP, f"vcrpy {label}, cassette loaded", t, "vcrpy loaded", "floor", floor,
                     None, note=note),
            compared(GROUP, f"vcrpy {label}, loading the file too", t, "vcrpy with load", "floor",
                     floor, None, note=note),
        ]  # fmt: skip
    return rows
