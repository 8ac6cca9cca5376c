"""``streamtest replay``: play a cassette's stream to the terminal as it arrived."""

from __future__ import annotations

import argparse
import sys
import time

from .._core.clock import Pacer, RealClock, Timing
from .._core.fileformat import load
from ._options import add_pacing, check_pacing, examples
from ._show import _summary


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = commands.add_parser(
        "replay",
        help="play a cassette's chunks to the terminal",
        description="Play a cassette's chunks to the terminal at their recorded pace.",
        epilog=examples(
            "streamtest replay cassettes/chat.jsonl", "streamtest replay --speed 4 chat.jsonl"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument("cassette")
    add_pacing(replay)

    def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
        timing = check_pacing(parser, args)
        return _replay(args.cassette, args.speed, timing is Timing.INSTANT, args.untimed_gap)

    replay.set_defaults(run=run)


def _replay(path: str, speed: float, instant: bool, untimed_gap: float) -> int:
    """Print each chunk's bytes at its recorded offset (divided by ``speed``); chunks whose
    timing is unknown come ``untimed_gap`` seconds apart."""
    cassette = load(path)
    timing = Timing.INSTANT if instant else Timing.REALTIME
    out = sys.stdout.buffer
    for index, interaction in enumerate(cassette.interactions):
        response = interaction.response
        gap = None if response.timed else untimed_gap
        pacer = Pacer(RealClock(), timing, speed, untimed_gap=gap)
        start = time.perf_counter()
        for position, chunk in enumerate(response.chunks):
            pacer.wait(pacer.due(position, chunk.t))
            out.write(chunk.data)
            out.flush()
        took = time.perf_counter() - start
        print(f"\n--- {_summary(index, interaction)}\n   replayed in {took:.3f} s", flush=True)
    return 0
