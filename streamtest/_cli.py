"""The ``streamtest`` command line (first commands: show, replay)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ._core.clock import Pacer, RealClock, Timing
from ._core.errors import StreamtestError
from ._core.fileformat import load
from ._core.model import Interaction
from ._vcr_import import import_vcr
from ._version import __version__

_VCR_SUFFIXES = (".yaml", ".yml", ".json")


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


def _vcr_files(sources: Sequence[str]) -> list[tuple[Path, Path]]:
    """Each cassette file to convert, with its output path relative to ``--out``: a folder
    contributes every YAML/JSON file under it, keeping the folder structure."""
    found = []
    for source in map(Path, sources):
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                if path.is_file() and path.suffix.lower() in _VCR_SUFFIXES:
                    found.append((path, path.relative_to(source).with_suffix(".jsonl")))
        else:
            found.append((source, Path(source.name).with_suffix(".jsonl")))
    return found


def _import_vcr(sources: Sequence[str], out: Path) -> int:
    """Convert every file; one that fails is reported and the others are still converted."""
    files = _vcr_files(sources)
    if not files:
        print("streamtest: no vcrpy cassettes (*.yaml, *.yml, *.json) found.", file=sys.stderr)
        return 1
    failed = 0
    for src, relative in files:
        dest = out / relative
        try:
            cassette = import_vcr(src, dest)
        except StreamtestError as exc:
            failed += 1
            print(f"streamtest: {exc}", file=sys.stderr)
            continue
        chunks = sum(len(i.response.chunks) for i in cassette.interactions)
        print(f"{src} -> {dest}: {len(cassette)} interaction(s), {chunks} chunk(s)")
    print(f"Converted {len(files) - failed} of {len(files)} file(s) into {out}.")
    return 1 if failed else 0


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
    replay.add_argument(
        "--untimed-gap",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="gap between chunks whose timing is unknown (imported from vcrpy); default 0",
    )
    convert = commands.add_parser(
        "import-vcr",
        help="convert vcrpy cassettes into chunk cassettes",
        description="Convert vcrpy cassettes (YAML or JSON) into chunk cassettes: one chunk per "
        "streamed event, timing marked unknown, secrets redacted. Folders are searched for "
        "*.yaml, *.yml and *.json and their structure is kept under --out.",
        epilog="example: streamtest import-vcr tests/cassettes --out tests/chunk_cassettes",
    )
    convert.add_argument(
        "sources", nargs="+", metavar="SRC", help="vcrpy cassette files or folders"
    )
    convert.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    args = parser.parse_args(argv)
    try:
        if args.command == "show":
            return _show(args.cassettes)
        if args.command == "import-vcr":
            return _import_vcr(args.sources, args.out)
        if not args.speed > 0:
            parser.error("--speed must be a positive number")
        if not args.untimed_gap >= 0:
            parser.error("--untimed-gap must be zero or a positive number of seconds")
        return _replay(args.cassette, args.speed, args.instant, args.untimed_gap)
    except StreamtestError as exc:
        print(f"streamtest: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
