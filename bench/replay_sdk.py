"""Replay through the openai SDK: ``chat.completions.create(stream=True)``, every event read.

The floor is the SDK given ``http_client=httpx2.Client(transport=MockTransport(...))`` streaming
the same events; ours is the SDK over a plain ``httpx2.Client()`` inside ``use_cassette`` (loaded
before the timer starts). The SDK builds a ``ChatCompletionChunk`` per event, which costs ~100x
what the transport does, so this ratio shows what a user of the SDK can notice at all. vcrpy
replays the same stream from its cassette beside them.
"""

from __future__ import annotations

import json
import time

import httpx2
import openai

import streamtest

from ._data import chat_chunks, floor_transport, write_cassette
from ._measure import Context, Row, Variant, compared, medians, run_interleaved

GROUP = "replay (openai SDK)"
TARGET = 1.02
BASE_URL = "http://sdk.bench.invalid/v1"
MESSAGES = [{"role": "user", "content": "Count."}]
BODY = {"messages": MESSAGES, "model": "gpt-bench", "stream": True}


def _drain(client: openai.OpenAI) -> int:
    stream = client.chat.completions.create(model="gpt-bench", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    return sum(1 for _ in stream)


def _sdk(http_client: httpx2.Client, base_url: str = BASE_URL) -> openai.OpenAI:
    return openai.OpenAI(api_key="bench", base_url=base_url, http_client=http_client, max_retries=0)


def _vcr_variant(ctx: Context, chunks: list[bytes]) -> tuple[Variant, int]:
    import vcr

    base_url = ctx.server.url(f"chat/{len(chunks) - 1}")  # the SDK appends /chat/completions
    path = str(ctx.folder / "sdk-vcr.yaml")
    with vcr.VCR().use_cassette(path, record_mode="all"):
        _drain(_sdk(httpx2.Client(), base_url))
    client = _sdk(httpx2.Client(), base_url)

    def loaded() -> float:
        with vcr.VCR().use_cassette(path, record_mode="none", allow_playback_repeats=True):
            start = time.perf_counter()
            _drain(client)
            return time.perf_counter() - start

    with vcr.VCR().use_cassette(path, record_mode="none"):
        count = _drain(client)
    return loaded, count


def run(ctx: Context) -> list[Row]:
    chunks = chat_chunks(ctx.size.sdk_chunks)
    path = ctx.folder / "sdk.jsonl"
    body = json.dumps(BODY, separators=(",", ":")).encode()
    write_cassette(path, chunks, url=BASE_URL + "/chat/completions", method="POST", body=body)
    floor = _sdk(httpx2.Client(transport=floor_transport(httpx2, chunks)))
    ours = _sdk(httpx2.Client())

    def loaded() -> float:
        with streamtest.use_cassette(path, record_mode="none", allow_playback_repeats=True):
            start = time.perf_counter()
            _drain(ours)
            return time.perf_counter() - start

    with streamtest.use_cassette(path, record_mode="none"):
        assert _drain(ours) == _drain(floor) == len(chunks) - 1  # [DONE] is no event
    vcr_loaded, vcr_events = _vcr_variant(ctx, chunks)
    variants: dict[str, Variant] = {
        "floor": lambda: _drain(floor) and None,
        "ours": loaded,
        "vcrpy": vcr_loaded,
    }
    t = run_interleaved(variants, repeat=ctx.size.repeat, warmup=ctx.size.warmup)
    floor_name = "SDK over MockTransport"
    n = len(chunks) - 1
    per_event = medians(t)["floor"] / n * 1e6
    return [
        compared(GROUP, "httpx2 sync, cassette loaded", t, "ours", "floor", floor_name, TARGET,
                 note=f"{n:,} events, {per_event:.0f} us/event in the SDK"),
        compared(GROUP, "vcrpy httpx2 sync, cassette loaded", t, "vcrpy", "floor", floor_name,
                 None, note=f"{vcr_events:,} events from one joined body"),
    ]  # fmt: skip
