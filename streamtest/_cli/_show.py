"""``streamtest show``: what each interaction of cassettes holds, how it arrived, what it meant.

The figures come from `_figures` (shared with other commands); this module lays them out as
text (`interaction_lines`, `stream_lines`), as one JSON document (``--json``), or hands them to
`_plot` (``--plot``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._core.errors import CassetteError
from .._core.fileformat import load
from ._figures import (
    CassetteFigures,
    Gaps,
    InteractionFigures,
    StreamFigures,
    cassette_figures,
    seconds,
)
from ._options import examples
from ._term import OK, PROBLEM, USAGE, fail, paint, progress

_LABEL = 12  # the width of the label column
_EXCERPT_LINES = 4
_EXCERPT_WIDTH = 100
PLOT_SUFFIXES = (".svg", ".png")

_EPILOG = examples(
    "streamtest show cassettes/chat.jsonl",
    "streamtest show tests/cassettes/ --json > figures.json",
    "streamtest show chat.jsonl --plot timeline.svg      # or .png",
    "streamtest show chat.jsonl --full                   # whole texts, not their first lines",
) + (
    "\n\nTimes are since the request was sent; gaps are between consecutive chunks. Cassettes\n"
    "imported from vcrpy kept no timing: their times say unknown (null in --json).\n"
    "Exit status: 0, or 1 when a cassette cannot be read (the others are still shown), or 2\n"
    "for a usage error (a missing file)."
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    show = commands.add_parser(
        "show",
        help="summarize each interaction of cassettes: timing, chunks, text, tool calls",
        description=textwrap.fill(
            "Per interaction of each cassette: the request, the status, chunks and "
            "bytes, time to headers, to the first chunk and to the first token, duration, the "
            "gaps between chunks (p50/p90/p99/max), how the stream ended, and what it meant: text, "
            "reasoning, tool calls, usage, finish reason, errors. Object streams too.",
            90,
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument(
        "cassettes",
        nargs="+",
        metavar="CASSETTE",
        help="cassette files, or folders (every *.jsonl under them, sorted)",
    )
    show.add_argument(
        "--json", action="store_true", help="print one JSON document (times in seconds)"
    )
    show.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.svg|png",
        help='also draw the timeline of chunk arrivals into FILE (needs "streamtest[plot]")',
    )
    show.add_argument(
        "--full", action="store_true", help="print whole texts, not their first lines"
    )
    show.set_defaults(run=_run)


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    plot: Path | None = args.plot
    if plot is not None:
        if plot.suffix.lower() not in PLOT_SUFFIXES:
            parser.error(f"--plot draws .svg or .png files, not {plot.name!r}")
        if not plot.parent.is_dir():
            parser.error(f"--plot: the folder {plot.parent} does not exist")
    return show(args.cassettes, as_json=args.json, plot=plot, full=args.full)


def cassette_files(sources: Sequence[str]) -> tuple[list[Path], list[str]]:
    """The cassette files named: each file as given, every ``*.jsonl`` under each folder
    (sorted); and a message for each source that names none."""
    files: dict[Path, None] = {}
    missing = []
    for source in map(Path, sources):
        if source.is_dir():
            found = sorted(path for path in source.rglob("*.jsonl") if path.is_file())
            if not found:
                missing.append(f"the folder {source} holds no cassette files (*.jsonl).")
            files.update(dict.fromkeys(found))
        elif source.exists():
            files[source] = None
        else:
            missing.append(f"{source}: no such file.")
    return list(files), missing


def show(sources: Sequence[str], *, as_json: bool, plot: Path | None, full: bool) -> int:
    """Read every cassette (a progress bar on a terminal), then print; a missing file is a
    usage error (2), an unreadable one a problem (1), and the others are shown either way."""
    files, missing = cassette_files(sources)
    for message in missing:
        fail("show", message, USAGE)
    read: list[CassetteFigures | tuple[Path, str]] = []
    for path in progress(files, len(files), "Reading"):
        try:
            read.append(cassette_figures(load(path), str(path)))
        except (CassetteError, OSError) as exc:
            read.append((path, str(exc)))
    shown = [figures for figures in read if isinstance(figures, CassetteFigures)]
    code = USAGE if missing else PROBLEM if len(shown) < len(read) else OK
    try:
        if as_json:
            document = {"cassettes": [_json_entry(entry) for entry in read]}
            print(json.dumps(document, indent=2, ensure_ascii=False))
        blank = ""  # between cassettes
        for entry in read:
            if not isinstance(entry, CassetteFigures):
                fail("show", entry[1])
            elif not as_json:
                print(blank + "\n".join(cassette_lines(entry, full=full)), flush=True)
                blank = "\n"
        if plot is not None and shown:
            from ._plot import PlotUnavailable, draw  # matplotlib, lazily

            try:
                draw(shown, plot)
            except PlotUnavailable as exc:
                return fail("show", str(exc), PROBLEM)
            print(f"streamtest show: drew {plot}", file=sys.stderr)
    except BrokenPipeError:  # `streamtest show ... | head`: the reader has seen enough
        quiet_stdout()
    return code


def quiet_stdout() -> None:
    """After a broken pipe: point stdout at the null device, so that the flush at exit does
    not fail again (what the Python documentation recommends for SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _json_entry(entry: CassetteFigures | tuple[Path, str]) -> dict[str, Any]:
    if isinstance(entry, CassetteFigures):
        return {**entry.to_dict(), "error": None}
    return {"path": str(entry[0]), "interactions": [], "streams": [], "error": entry[1]}


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def cassette_lines(figures: CassetteFigures, *, full: bool = False) -> list[str]:
    """The text `show` prints for one cassette."""
    what = [_count(len(figures.interactions), "interaction")]
    if figures.streams:
        what.append(_count(len(figures.streams), "object stream"))
    lines = [paint(f"{figures.path}: {', '.join(what)}", "bold")]
    for interaction in figures.interactions:
        lines += interaction_lines(interaction, full=full)
    for stream in figures.streams:
        lines += stream_lines(stream, full=full)
    return lines


def _row(label: str, value: str, style: str | None = None) -> str:
    return f"  {label:<{_LABEL}}" + (paint(value, style) if style else value)


def _gaps(gaps: Gaps | None) -> str:
    if gaps is None:
        return "none (fewer than two chunks)"
    return ", ".join(
        f"{name} {seconds(getattr(gaps, name))}" for name in ("p50", "p90", "p99", "max")
    )


def _excerpt(text: str, *, full: bool) -> list[str]:
    """The first lines of ``text``, each cut to a readable width, unless ``full``."""
    lines = text.split("\n")
    if full:
        return lines
    while len(lines) > 1 and not lines[0].strip():  # an excerpt starts where the text does
        lines.pop(0)
    shown = [
        line if len(line) <= _EXCERPT_WIDTH else line[: _EXCERPT_WIDTH - 1] + "…"
        for line in lines[:_EXCERPT_LINES]
    ]
    if len(lines) > _EXCERPT_LINES:
        shown.append(paint(f"… {len(lines) - _EXCERPT_LINES} more lines (--full shows all)", "dim"))
    return shown


def _text_rows(label: str, text: str, *, full: bool, style: str | None = None) -> list[str]:
    rows = [_row(label, _count(len(text), "character"))]
    indent = " " * (_LABEL + 2)
    rows += [indent + (paint(line, style) if style else line) for line in _excerpt(text, full=full)]
    return rows


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def interaction_lines(figures: InteractionFigures, *, full: bool = False) -> list[str]:
    """The text `show` prints for one interaction."""
    lines = [paint(figures.title(), "red" if figures.failed else "bold")]
    lines.append(_row("chunks", f"{figures.chunks:,} ({figures.bytes:,} bytes)"))
    if figures.timed:
        times = (
            f"headers {seconds(figures.time_to_headers)}, first chunk "
            f"{seconds(figures.time_to_first_chunk)}, first token "
            f"{seconds(figures.time_to_first_token)}, duration {seconds(figures.duration)}"
        )
        lines.append(_row("timing", times))
        lines.append(_row("gaps", _gaps(figures.gaps)))
    else:
        lines.append(_row("timing", "unknown (imported from vcrpy, which keeps none)", "yellow"))
    end = figures.end
    if figures.error is not None:
        end += f" ({figures.error.type}: {figures.error.message})"
    lines.append(_row("end", end, "red" if figures.error is not None else None))
    result = figures.aggregate
    if result is None:
        lines.append(_row("meaning", f"unknown: {figures.aggregate_problem}", "yellow"))
        return lines
    if result.reasoning:
        lines += _text_rows("reasoning", result.reasoning, full=full, style="dim")
    if result.redacted_reasoning:
        lines.append(_row("reasoning", _count(result.redacted_reasoning, "redacted block")))
    if result.text or not (result.tool_calls or result.reasoning or result.error):
        lines += _text_rows("text", result.text, full=full)
    if result.refusal:
        lines.append(_row("refusal", result.refusal, "yellow"))
    for call in result.tool_calls:
        arguments = _compact(call.arguments)
        if not full and len(arguments) > 2 * _EXCERPT_WIDTH:
            arguments = arguments[: 2 * _EXCERPT_WIDTH - 1] + "…"
        lines.append(_row("tool call", f"{paint(call.name, 'cyan')} {arguments}"))
    if result.usage is not None:
        lines.append(_row("usage", _compact(result.usage)))
    if result.finish_reason is not None:
        lines.append(_row("finish", result.finish_reason))
    error = result.error
    transport = figures.error
    if error is not None and (transport is None or error.message != transport.message):
        named = f"{error.type}: {error.message}" if error.type else error.message
        lines.append(_row("error", named, "red"))
    return lines


def stream_lines(figures: StreamFigures, *, full: bool = False) -> list[str]:
    """The text `show` prints for one object stream."""
    lines = [paint(figures.title(), "red" if figures.failed else "bold")]
    kinds = ", ".join(f"{count:,} {kind}" for kind, count in figures.kinds.items())
    lines.append(_row("items", f"{figures.items:,}" + (f" ({kinds})" if kinds else "")))
    times = f"first item {seconds(figures.time_to_first_item)}, duration "
    lines.append(_row("timing", times + seconds(figures.duration)))
    lines.append(_row("gaps", _gaps(figures.gaps)))
    end = figures.end
    if figures.error is not None:
        end += f" ({figures.error.type}: {figures.error.message})"
    lines.append(_row("end", end, "red" if figures.error is not None else None))
    if figures.text is not None:
        lines += _text_rows("text", figures.text, full=full)
    return lines
