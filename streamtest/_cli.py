"""The ``streamtest`` command line (first commands: show, replay)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from ._core.clock import Pacer, RealClock, Timing
from ._core.errors import StreamtestError
from ._core.fileformat import load
from ._core.model import Interaction
from ._version import __version__


def _summary(index: int, interaction: Interaction) -> str:
    request, response = interaction.request, interaction.response
    chunks = response.chunks
    first = f"{chunks[0].t:.3f} s" if chunks else "-"
    last = f"{chunks[-1].t:.3f} s" if chunks else "-"
    end = response.end.value
    if response.error is not None:
        end += f" ({response.error.type}: {response.error.message})"
    return (
        f"#{index} {request.method} {request.url} -> {response.status}\n"
        f"   {len(chunks)} chunks, {len(response.body):,} bytes, first chunk {first}, "
        f"last {last}, {end}"
    )


def _show(paths: Sequence[str]) -> int:
    for path in paths:
        cassette = load(path)
        print(f"{path}: {len(cassette.interactions)} interaction(s)")
        for index, interaction in enumerate(cassette.interactions):
            print(_summary(index, interaction))
    return 0


def _replay(path: str, speed: float, instant: bool) -> int:
    """Print each chunk's bytes at its recorded offset (divided by ``speed``)."""
    cassette = load(path)
    timing = Timing.INSTANT if instant else Timing.REALTIME
    out = sys.stdout.buffer
    for index, interaction in enumerate(cassette.interactions):
        pacer = Pacer(RealClock(), timing, speed)
        start = time.perf_counter()
        for chunk in interaction.response.chunks:
            pacer.wait(chunk.t)
            out.write(chunk.data)
            out.flush()
        took = time.perf_counter() - start
        print(f"\n--- {_summary(index, interaction)}\n   replayed in {took:.3f} s", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="streamtest",
        description="Chunk cassettes for streaming LLM traffic: inspect and replay.",
    )
    parser.add_argument("--version", action="version", version=f"streamtest {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="summarize each interaction of cassettes")
    show.add_argument("cassettes", nargs="+")
    replay = commands.add_parser("replay", help="play a cassette's chunks to the terminal")
    replay.add_argument("cassette")
    pace = replay.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0, help="speed factor (default 1)")
    pace.add_argument("--instant", action="store_true", help="no waiting between chunks")
    args = parser.parse_args(argv)
    try:
        if args.command == "show":
            return _show(args.cassettes)
        if not args.speed > 0:
            parser.error("--speed must be a positive number")
        return _replay(args.cassette, args.speed, args.instant)
    except StreamtestError as exc:
        print(f"streamtest: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
