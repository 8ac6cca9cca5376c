"""Benchmark: replay and recording at the transport level, as ratios against a floor.

The floor is a hand-built ``MockTransport`` that serves the same 10,000 chunks from a list, read
through the same client with ``iter_raw()`` and no SDK in the loop, measured in the same run. A
ratio of 1.0 means streamtest adds nothing; the per-chunk cost is printed beside it.

    .venv/bin/python bench/bench_wire.py [--chunks 10000] [--repeat 7]

Also measured: the first-chunk time of a 20-chunk stream with 50 ms gaps from the loopback
server, with and without recording (recording must not delay it).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamtest
from streamtest._core.fileformat import save
from streamtest._core.recording import Recording
from streamtest._wire.streams import StackStreams

URL = "http://bench.invalid/v1/chat/completions"


def make_chunks(n: int) -> list[bytes]:
    return [b'data: {"choices":[{"delta":{"content":"tok%d "}}]}\n\n' % i for i in range(n)]


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def drain(module: Any, transport: Any) -> int:
    with module.Client(transport=transport) as client, client.stream("GET", URL) as response:
        return sum(1 for _ in response.iter_raw())


def bench_stack(name: str, chunks: list[bytes], repeat: int) -> list[tuple[str, float]]:
    module: Any = importlib.import_module(name)
    streams = StackStreams(module)

    class ListStream(module.SyncByteStream):  # type: ignore[misc]
        def __iter__(self) -> Iterator[bytes]:
            return iter(chunks)

    floor = module.MockTransport(lambda request: module.Response(200, stream=ListStream()))

    def recording_handler(request: Any) -> Any:
        # The recording path of the patched transport: stamp the request, tee the stream.
        recording = Recording(streamtest.Request("GET", URL), streamtest.RealClock())
        response = module.Response(200, stream=ListStream())
        recording.head(response.status_code, ())
        response.stream = streams.TeeStream(response.stream, recording)
        return response

    path = Path(tempfile.mkdtemp()) / "bench.jsonl"
    data = tuple(streamtest.Chunk(i * 0.001, c) for i, c in enumerate(chunks))
    request = streamtest.Request("GET", URL)
    save(
        streamtest.Cassette(
            path, [streamtest.Interaction(request, streamtest.Response(200, (), data))]
        ),
        recorded_with="bench",
    )

    def replay_with_load() -> int:
        with streamtest.use_cassette(path, record_mode="none", allow_playback_repeats=True):
            return drain(module, module.HTTPTransport())

    recording = module.MockTransport(recording_handler)
    with streamtest.use_cassette(path, record_mode="none", allow_playback_repeats=True):
        replaying = module.HTTPTransport()
        assert drain(module, floor) == drain(module, replaying) == drain(module, recording)
        t_floor = best(lambda: drain(module, floor), repeat)
        t_replay = best(lambda: drain(module, replaying), repeat)
    t_record = best(lambda: drain(module, recording), repeat)
    t_with_load = best(replay_with_load, repeat)
    return [
        ("floor (MockTransport)", t_floor),
        ("replay", t_replay),
        ("record (tee)", t_record),
        ("load cassette + replay", t_with_load),
    ]


def first_chunk_latency(record: bool) -> float:
    from fixtures.provider_server import ProviderServer, Scenario

    httpx2: Any = importlib.import_module("httpx2")
    with ProviderServer() as server, tempfile.TemporaryDirectory() as folder:
        url = (
            server.base_url(Scenario(text=" ".join(["word"] * 18), gap=0.05)) + "/chat/completions"
        )
        body = {"model": "m", "messages": [], "stream": True}
        context: Any = (
            streamtest.use_cassette(Path(folder) / "c.jsonl", record_mode="all")
            if record
            else _Null()
        )
        with context, httpx2.Client() as client:
            start = time.perf_counter()
            with client.stream("POST", url, json=body) as response:
                iterator = response.iter_raw()
                next(iterator)
                first = time.perf_counter() - start
                for _ in iterator:
                    pass
        return first


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    chunks = make_chunks(args.chunks)
    print(f"Transport level, {args.chunks:,} chunks, median of {args.repeat} runs")
    for stack in ("httpx", "httpx2"):
        rows = bench_stack(stack, chunks, args.repeat)
        floor = rows[0][1]
        for label, seconds in rows:
            per_chunk = seconds / args.chunks * 1e6
            print(
                f"  {stack:7} {label:22} {seconds * 1e3:8.2f} ms  {per_chunk:6.2f} us/chunk"
                f"  ratio {seconds / floor:5.2f}"
            )
    plain = statistics.median(first_chunk_latency(False) for _ in range(3))
    recorded = statistics.median(first_chunk_latency(True) for _ in range(3))
    print("First chunk of 20 chunks 50 ms apart (loopback, httpx2, median of 3)")
    print(
        f"  without recording {plain * 1e3:6.2f} ms   while recording {recorded * 1e3:6.2f} ms"
        f"   difference {(recorded - plain) * 1e3:+.2f} ms"
    )


if __name__ == "__main__":
    main()
