"""``streamtest diff``: what changed between two cassettes, in meaning and events, not bytes."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

from .._core.fileformat import load
from .._core.model import Cassette
from ._compare import Comparison, compare
from ._options import examples
from ._term import OK, PROBLEM, USAGE, fail, paint, progress
from ._valuediff import KEEPALIVE_EVENTS, VOLATILE_KEYS, Difference, WordChange, visible

_SHOWN_CHANGES = 5

_DESCRIPTION = """\
Compare two cassettes by what their streams mean, not by their bytes: chunk boundaries,
timing, headers and hosts are never differences (a change of host is noted; --timing notes
changes in timing and chunking).

Interactions are paired by request (method, path, query and JSON body), first to first in
recorded order; the ones left are paired by position, and any still left are only in A or
only in B. For each pair, only what differs is shown, in this order:
  request   method, path, query, body (by JSON path)
  meaning   status, text and reasoning (word by word), tool calls, usage, finish reason,
            error, model and API, as `streamtest.aggregate` reads them
  events    the provider's events (`streamtest.provider_events`): counts per type and the
            first event that differs, with the JSON path that differs
Object streams are paired by name and key (then by name) and compare their items.

{volatile}

Exit status: 0 when nothing differs, 1 when something does (or a cassette is invalid),
2 for a usage error such as a missing file."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diff = commands.add_parser(
        "diff",
        help="what changed between two cassettes, in meaning and events",
        description=_DESCRIPTION.format(volatile=_volatile()),
        epilog=examples(
            "streamtest diff before.jsonl after.jsonl",
            "streamtest diff --context 8 old/chat.jsonl new/chat.jsonl",
            "streamtest diff --json a.jsonl b.jsonl | jq '.differences[].message'",
            "streamtest diff --timing a.jsonl b.jsonl     # also show timing and chunking",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    diff.add_argument("a", metavar="A", help="the first cassette")
    diff.add_argument("b", metavar="B", help="the second cassette")
    diff.add_argument("--json", action="store_true", help="print the differences as JSON")
    diff.add_argument(
        "--context",
        type=int,
        default=3,
        metavar="N",
        help="words of context around each changed run of words (default 3)",
    )
    diff.add_argument(
        "--timing",
        action="store_true",
        help="also note changes in timing, chunking and how streams ended (notes only: the "
        "exit status is unchanged)",
    )

    def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
        if args.context < 0:
            parser.error("--context must be zero or a positive number of words")
        for path in (args.a, args.b):
            if not Path(path).exists():
                return fail("diff", f"{path}: no such file.", USAGE)
            if Path(path).is_dir():
                return fail("diff", f"{path} is a folder; diff compares two cassette files.", USAGE)
        a, b = load(args.a), load(args.b)
        result = compare(
            a,
            b,
            context=args.context,
            timing=args.timing,
            each=lambda pairs: progress(pairs, len(pairs), "Comparing"),
        )
        if args.json:
            _print_json(a, b, result)
        else:
            _print_text(a, b, result)
        return PROBLEM if result.differences else OK

    diff.set_defaults(run=run)


def _volatile() -> str:
    keys = ", ".join(sorted(VOLATILE_KEYS, key=str.lower))
    text = (
        f"Left out of every comparison as volatile, at any depth: {keys}. UUIDs are numbered "
        f"in order of appearance. Keep-alive events ({', '.join(sorted(KEEPALIVE_EVENTS))}) "
        "are skipped."
    )
    return textwrap.fill(text, width=92)


def _counts(cassette: Cassette) -> str:
    streams = f", {len(cassette.streams)} object stream(s)" if cassette.streams else ""
    return f"{len(cassette.interactions)} interaction(s){streams}"


def _print_json(a: Cassette, b: Cassette, result: Comparison) -> None:
    report = {
        "a": str(a.path),
        "b": str(b.path),
        "interactions": {"a": len(a.interactions), "b": len(b.interactions)},
        "streams": {"a": len(a.streams), "b": len(b.streams)},
        "differences": [
            {**difference.to_dict(), "title": result.titles.get(difference.where)}
            for difference in result.differences
        ],
        "notes": result.notes,
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


def _print_text(a: Cassette, b: Cassette, result: Comparison) -> None:
    print(paint(f"A {a.path} ({_counts(a)})", "dim"))
    print(paint(f"B {b.path} ({_counts(b)})", "dim"))
    where = None
    for difference in result.differences:
        if difference.where != where:
            where = difference.where
            title = result.titles.get(where)
            print(paint(f"{where} {title}" if title else where, "bold"))
        for line in _lines(difference):
            print(f"  {line}")
    for note in result.notes:
        print(paint(f"note: {note}", "dim"))
    if result.differences:
        count = len(result.differences)
        print(paint(f"{count} difference(s) in meaning or events.", "yellow"))
    else:
        print(f"no differences in meaning or events ({_counts(a)})")


def _lines(difference: Difference) -> list[str]:
    label = "" if difference.aspect in ("interaction", "stream") else f"{difference.aspect}: "
    if not difference.changes:
        return [label + difference.message]
    shown = [label + _change(difference.changes[0])]
    indent = " " * len(label)
    shown += [indent + _change(change) for change in difference.changes[1:_SHOWN_CHANGES]]
    if (more := len(difference.changes) - _SHOWN_CHANGES) > 0:
        shown.append(f"{indent}… and {more} more change(s)")
    return shown


def _change(change: WordChange) -> str:
    removed = paint(f"[-{visible(change.removed, 60)}-]", "red") if change.removed else ""
    added = paint(f"{{+{visible(change.added, 60)}+}}", "green") if change.added else ""
    before = visible(change.before, 1000)
    before = before if len(before) <= 40 else "…" + before[-39:]
    after = visible(change.after, 40)
    return f"{before}{removed}{added}{after}"
