"""Run the benchmarks and print one table of medians and ratios (see docs/benchmarks.md).

    .venv/bin/python -m bench                       # everything, full size (a few minutes)
    .venv/bin/python -m bench --size tiny           # every row at toy sizes (seconds)
    .venv/bin/python -m bench --only replay_wire,fileio --json out.json

Each ratio compares streamtest with a floor (or a peer) measured in the same run, interleaved,
after a warm-up; the figures are medians. The table is Markdown, ready for docs/benchmarks.md.
Progress goes to stderr. The exit status is 0 even when a target is missed (``--strict``: 1).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import the package from the project root
    sys.path[0] = str(Path(__file__).resolve().parents[1])
    __package__ = "bench"

import vcr  # noqa: F401  # first: vcrpy keeps the transport methods it finds at its import

from ._measure import SIZES, Context, Row
from ._server import StreamServer

GROUPS = ("replay_wire", "replay_sdk", "record", "realtime", "fileio", "fixture", "memory")
LIBRARIES = ("streamtest", "httpx", "httpx2", "openai", "vcrpy", "msgspec", "pytest")


def environment(size: str) -> dict[str, object]:
    """The machine and library versions, printed above the table."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "system": platform.platform(),
        "python": platform.python_version(),
        "size": size,
        "versions": versions,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _figure(seconds_or_bytes: float | None, unit: str) -> str:
    if seconds_or_bytes is None:
        return ""
    if unit == "MB":
        return f"{seconds_or_bytes / 2**20:,.1f} MB"
    return f"{seconds_or_bytes * 1e3:,.2f} ms"


def _value(row: Row) -> str:
    if row.kind == "diff_ms":
        return f"{row.value:+.2f} ms"
    if row.kind == "ms":
        return f"{row.value:.2f} ms"
    return f"{row.value:.3f}x"


def _paired(row: Row) -> str:
    if row.paired is None:
        return ""
    return f"{row.paired:+.2f} ms" if row.kind == "diff_ms" else f"{row.paired:.3f}x"


def _target(row: Row) -> str:
    if row.limit is None:
        return ""
    if row.kind == "diff_ms":
        return f"<= +{row.limit:g} ms"
    if row.kind == "ms":
        return f"<= {row.limit:g} ms"
    return f"<= {row.limit:g}x"


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table."""
    head = ("group", "measure", "ours", "floor / peer", "ours vs it", "paired", "target", "result",
            "note")  # fmt: skip
    body = [
        (
            row.group,
            row.name,
            _figure(row.ours, row.unit) if row.kind != "ms" else "",
            f"{_figure(row.base, row.unit)} {row.base_name}".strip(),
            _value(row),
            _paired(row),
            _target(row),
            row.status,
            row.note,
        )
        for row in rows
    ]
    widths = [max(len(str(r[i])) for r in [head, *body]) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in [head, *body]]  # fmt: skip
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def header(env: dict[str, object]) -> str:
    versions = env["versions"]
    assert isinstance(versions, dict)
    load = env["load_average_at_start"]
    return "\n".join(
        [
            f"streamtest benchmarks, size {env['size']}, {env['date']}",
            f"machine: {env['cpu']}, {env['cores']} cores, load average at start {load} "
            f"(1/5/15 min), {env['system']}",
            f"python {env['python']}; " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        ]
    )


def run(
    size: str = "full", only: Sequence[str] = GROUPS, *, log: Callable[[str], None] | None = None
) -> tuple[dict[str, object], list[Row]]:
    """Run the groups ``only`` at ``size``; the environment and every row."""
    say = log or (lambda message: print(message, file=sys.stderr, flush=True))
    env = environment(size)
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory(prefix="streamtest-bench-") as folder,
        StreamServer() as server,
    ):
        for name in only:
            module = importlib.import_module(f"bench.{name}")
            started = time.perf_counter()
            say(f"[bench] {name} ...")
            group_folder = Path(folder, name)
            group_folder.mkdir()
            rows += module.run(Context(SIZES[size], group_folder, server))
            say(f"[bench] {name} done in {time.perf_counter() - started:.1f} s")
    env["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return env, rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument(
        "--only", default=",".join(GROUPS), help=f"comma-separated groups of: {', '.join(GROUPS)}"
    )
    parser.add_argument("--json", type=Path, help="also write the environment and rows here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    env, rows = run(args.size, only)
    print(header(env))
    print()
    print(table(rows))
    print(
        "\nours, floor / peer: medians of their runs; ours vs it: their ratio (or difference), "
        "checked against the target. paired: the median over rounds of the same ratio taken in "
        "each round (every variant runs back to back in a round); far from the first, the run "
        "was noisy."
    )
    missed = [row for row in rows if row.status == "MISS"]
    passed = sum(row.status == "PASS" for row in rows)
    print(f"\n{passed} PASS, {len(missed)} MISS; load average at end {env['load_average_at_end']}")
    if args.json:
        payload = {"environment": env, "rows": [_as_dict(row) for row in rows]}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 1 if (missed and args.strict) else 0


def _as_dict(row: Row) -> dict[str, object]:
    return {
        "group": row.group,
        "measure": row.name,
        "ours": row.ours,
        "base": row.base,
        "base_name": row.base_name,
        "kind": row.kind,
        "unit": row.unit,
        "value": row.value,
        "paired": row.paired,
        "limit": row.limit,
        "status": row.status,
        "note": row.note,
    }


if __name__ == "__main__":
    sys.exit(main())
