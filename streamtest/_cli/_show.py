"""``streamtest show``: what each interaction of cassettes holds."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .._core.fileformat import load
from .._core.model import Interaction
from ._options import examples


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    show = commands.add_parser(
        "show",
        help="summarize each interaction of cassettes",
        description="Summarize each interaction of cassettes.",
        epilog=examples("streamtest show cassettes/chat.jsonl"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("cassettes", nargs="+", metavar="CASSETTE")
    show.set_defaults(run=lambda args, parser: _show(args.cassettes))


def _summary(index: int, interaction: Interaction) -> str:
    request, response = interaction.request, interaction.response
    chunks = response.chunks
    first = f"{chunks[0].t:.3f} s" if chunks else "-"
    last = f"{chunks[-1].t:.3f} s" if chunks else "-"
    if not response.timed:
        first = last = "unknown"
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
