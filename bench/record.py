"""Recording against the loopback server (``bench/_server.py``), interleaved with no recording.

Overhead: the server streams the chunks as fast as it can; the plain client reads them with no
cassette; ours reads them inside ``use_cassette(record_mode="all")``. Two figures per client:
the stream as the application sees it (request to last chunk, the target: recording must not
slow down or reshape what it records), and the whole ``with`` block, the atomic cassette write
(encode, fsync, rename) included, shown for information. vcrpy records the same stream.

First chunk: a stream of a few chunks with gaps; the time from sending the request to the first
chunk, plain, under streamtest and under vcrpy (which reads the whole body before returning).
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamtest

from ._data import drain_async, drain_sync
from ._measure import Context, Row, Variant, compared, medians, run_interleaved

GROUP = "recording"
TARGET_OVERHEAD, TARGET_FIRST_MS = 1.05, 1.0


def _recorder(
    path: Path, cassette: Callable[[Path], Any], drain: Callable[[], object], streams: list[float]
) -> Variant:
    """A variant recording the stream into a new cassette at ``path``: it returns the seconds of
    the whole ``with`` block and appends those of the stream alone to ``streams``."""

    def run() -> float:
        path.unlink(missing_ok=True)  # each run records a new cassette
        start = time.perf_counter()
        with cassette(path):
            begin = time.perf_counter()
            drain()
            streams.append(time.perf_counter() - begin)
        return time.perf_counter() - start

    return run


def _overhead_rows(ctx: Context, label: str, drain: Callable[[], object]) -> list[Row]:
    """Plain vs streamtest (stream, and with the write) vs vcrpy, one client."""
    import vcr

    stem = ctx.folder / f"record-{label.replace(' ', '-')}"
    streams: dict[str, list[float]] = {"ours": [], "vcrpy": []}
    ours = _recorder(
        stem.with_suffix(".jsonl"),
        lambda path: streamtest.use_cassette(path, record_mode="all"),
        drain,
        streams["ours"],
    )
    theirs = _recorder(
        stem.with_suffix(".yaml"),
        lambda path: vcr.VCR().use_cassette(str(path), record_mode="all"),
        drain,
        streams["vcrpy"],
    )
    variants: dict[str, Variant] = {"plain": lambda: drain() and None, "ours": ours}
    if label == "httpx2 sync":
        variants["vcrpy"] = theirs
    size = ctx.size
    times = run_interleaved(variants, repeat=size.repeat, warmup=size.warmup)
    for who, values in streams.items():  # the stream part of each run, warm-up runs dropped
        if values:
            times[f"{who} stream"] = values[size.warmup :]
    plain = "plain client, no recording"
    rows = [
        compared(GROUP, f"{label}, stream while recording", times, "ours stream", "plain", plain,
                 TARGET_OVERHEAD, note=f"{size.chunks:,} chunks, loopback"),
        compared(GROUP, f"{label}, with the cassette write", times, "ours", "plain", plain, None,
                 note="atomic write: encode, fsync, rename"),
    ]  # fmt: skip
    if "vcrpy" in times:
        rows += [
            compared(GROUP, f"vcrpy {label}, stream while recording", times, "vcrpy stream",
                     "plain", plain, None, note="vcrpy reads the whole body first"),
            compared(GROUP, f"vcrpy {label}, with the cassette write", times, "vcrpy", "plain",
                     plain, None, note="YAML, one joined body"),
        ]  # fmt: skip
    return rows


def _first_chunk(client: Any, url: str) -> float:
    start = time.perf_counter()
    with client.stream("GET", url) as response:
        pieces = response.iter_raw()
        next(pieces)
        first = time.perf_counter() - start
        for _ in pieces:
            pass
    return first


def _first_chunk_rows(ctx: Context) -> list[Row]:
    import httpx2
    import vcr

    size = ctx.size
    url = ctx.server.url(f"tokens/{size.gap_chunks}", gap=size.gap)
    client = httpx2.Client()
    path, vcr_path = ctx.folder / "first.jsonl", ctx.folder / "first.yaml"

    def ours() -> float:
        path.unlink(missing_ok=True)
        with streamtest.use_cassette(path, record_mode="all"):
            return _first_chunk(client, url)

    def vcrpy() -> float:
        vcr_path.unlink(missing_ok=True)
        with vcr.VCR().use_cassette(str(vcr_path), record_mode="all"):
            return _first_chunk(client, url)

    variants: dict[str, Variant] = {
        "plain": lambda: _first_chunk(client, url),
        "ours": ours,
        "vcrpy": vcrpy,
    }
    m = medians(run_interleaved(variants, repeat=size.gap_repeat, warmup=1))
    plain = "first chunk, no recording"
    note = f"{size.gap_chunks} chunks {size.gap * 1e3:g} ms apart, httpx2"
    return [
        Row(GROUP, "time to first chunk while recording", m["ours"], m["plain"], plain,
            "diff_ms", TARGET_FIRST_MS, note=note),
        Row(GROUP, "vcrpy: time to first chunk while recording", m["vcrpy"], m["plain"], plain,
            "diff_ms", None, note="vcrpy buffers the whole stream"),
    ]  # fmt: skip


def run(ctx: Context) -> list[Row]:
    url = ctx.server.url(f"tokens/{ctx.size.chunks}")
    rows: list[Row] = []
    loop = asyncio.new_event_loop()
    try:
        for stack in ("httpx2", "httpx"):
            module = importlib.import_module(stack)
            client, aclient = module.Client(), module.AsyncClient()
            rows += _overhead_rows(ctx, f"{stack} sync", lambda c=client: drain_sync(c, url))
            rows += _overhead_rows(
                ctx,
                f"{stack} async",
                lambda c=aclient: loop.run_until_complete(drain_async(c, url)),
            )
    finally:
        loop.close()
    return rows + _first_chunk_rows(ctx)
