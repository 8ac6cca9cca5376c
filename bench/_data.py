"""The streams every benchmark uses, and the cassettes holding them (streamtest's and vcrpy's)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import streamtest
from streamtest._core.fileformat import save

URL = "http://bench.invalid/v1/chat/completions"  # replay never resolves it


def token_chunks(n: int) -> list[bytes]:
    """``n`` SSE events of ~50 bytes, like a chat stream seen without an SDK."""
    return [b'data: {"choices":[{"delta":{"content":"tok%d "}}]}\n\n' % i for i in range(n)]


def chat_chunks(n: int) -> list[bytes]:
    """``n`` openai ``chat.completion.chunk`` events, then ``data: [DONE]``."""
    events = []
    for i in range(n):
        event = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-bench",
            "choices": [{"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}],
        }
        events.append(b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n")
    return [*events, b"data: [DONE]\n\n"]


def blob_chunks(total: int, size: int) -> list[bytes]:
    """``total`` bytes as SSE events of ``size`` bytes each (one repeated bytes object)."""
    event = b"data: " + b"x" * (size - 8) + b"\n\n"
    return [event] * (total // size)


def gaps(n: int, low: float, high: float, *, seed: int = 8) -> list[float]:
    """Offsets of ``n`` chunks with gaps drawn uniformly from [low, high] (seeded)."""
    rng = random.Random(seed)
    offsets, t = [], 0.0
    for _ in range(n):
        t += rng.uniform(low, high)
        offsets.append(round(t, 6))
    return offsets


def write_cassette(
    path: Path,
    chunks: list[bytes],
    *,
    url: str = URL,
    method: str = "GET",
    body: bytes = b"",
    offsets: list[float] | None = None,
    content_type: str = "text/event-stream",
) -> Path:
    """A streamtest cassette of one interaction answering ``method url`` with ``chunks``."""
    times = offsets or [i * 1e-5 for i in range(len(chunks))]
    request = streamtest.Request(method, url, (("content-type", "application/json"),), body)
    response = streamtest.Response(
        200,
        (("content-type", content_type),),
        tuple(streamtest.Chunk(t, c) for t, c in zip(times, chunks, strict=True)),
    )
    cassette = streamtest.Cassette(path, [streamtest.Interaction(request, response)])
    save(cassette, recorded_with="bench")
    return path


def drain_sync(client: Any, url: str = URL, method: str = "GET") -> int:
    with client.stream(method, url) as response:
        return sum(1 for _ in response.iter_raw())


async def drain_async(client: Any, url: str = URL, method: str = "GET") -> int:
    count = 0
    async with client.stream(method, url) as response:
        async for _ in response.aiter_raw():
            count += 1
    return count


def floor_transport(module: Any, chunks: list[bytes], *, asynchronous: bool = False) -> Any:
    """The floor: a hand-built ``MockTransport`` whose response streams ``chunks`` from a list."""
    if asynchronous:

        class AsyncListStream(module.AsyncByteStream):  # type: ignore[misc]
            async def __aiter__(self) -> Any:
                for chunk in chunks:
                    yield chunk

        def async_handler(request: Any) -> Any:
            return module.Response(200, headers=_SSE, stream=AsyncListStream())

        return module.MockTransport(async_handler)

    class ListStream(module.SyncByteStream):  # type: ignore[misc]
        def __iter__(self) -> Iterator[bytes]:
            return iter(chunks)

    def handler(request: Any) -> Any:
        return module.Response(200, headers=_SSE, stream=ListStream())

    return module.MockTransport(handler)


_SSE = [("content-type", "text/event-stream")]
