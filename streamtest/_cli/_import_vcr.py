"""``streamtest import-vcr``: convert vcrpy cassettes into chunk cassettes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .._core.errors import StreamtestError
from .._vcr_import import import_vcr
from ._options import examples
from ._term import progress


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    convert = commands.add_parser(
        "import-vcr",
        help="convert vcrpy cassettes into chunk cassettes",
        description="Convert vcrpy cassettes (YAML or JSON) into chunk cassettes: one chunk per "
        "streamed event, timing marked unknown, secrets redacted. Folders are searched for "
        "*.yaml, *.yml and *.json and their structure is kept under --out.",
        epilog=examples(
            "streamtest import-vcr tests/cassettes --out tests/chunk_cassettes",
            "streamtest import-vcr tests/cassettes/test_chat.yaml --out /tmp/converted",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    convert.add_argument(
        "sources", nargs="+", metavar="SRC", help="vcrpy cassette files or folders"
    )
    convert.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    convert.set_defaults(run=lambda args, parser: _import_vcr(args.sources, args.out))


_VCR_SUFFIXES = (".yaml", ".yml", ".json")


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
    for src, relative in progress(files, len(files), "Converting"):
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
