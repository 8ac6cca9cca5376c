"""The benchmarks still run: ``python -m bench --size tiny`` produces every row with finite numbers.

Timings are never asserted here (a loaded CI machine would make that a coin toss); the figures
belong to docs/benchmarks.md, measured with the full size on a quiet machine.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TRANSPORT = [
    f"{stack} {flavour}, {what}"
    for stack in ("httpx", "httpx2")
    for flavour in ("sync", "async")
    for what in ("cassette loaded", "loading the file too")
]
RECORDING = [
    f"{stack} {flavour}, {what}"
    for stack in ("httpx2", "httpx")
    for flavour in ("sync", "async")
    for what in ("stream while recording", "with the cassette write")
]
EXPECTED = {
    "replay (transport)": [
        *TRANSPORT,
        "httpx2 sync: floor + typed decode of the file (a bound)",
        "vcrpy httpx2 sync, cassette loaded",
        "vcrpy httpx2 sync, loading the file too",
    ],
    "replay (openai SDK)": ["httpx2 sync, cassette loaded", "vcrpy httpx2 sync, cassette loaded"],
    "recording": [
        *RECORDING,
        "vcrpy httpx2 sync, stream while recording",
        "vcrpy httpx2 sync, with the cassette write",
        "time to first chunk while recording",
        "vcrpy: time to first chunk while recording",
    ],
    "realtime replay": [
        "time.sleep to the same offsets: p99 lateness (floor)",
        "httpx2 sync: p99 lateness per chunk",
        "httpx2 async: p99 lateness per chunk",
    ],
    "cassette file": ["load", "save (atomic, fsync)", "encode only (dumps)"],
    "pytest fixture": [
        "test with the cassette fixture",
        "empty test with the plugin installed",
        "test with a do-nothing generator fixture",
    ],
    "memory": [
        "peak growth recording (streamtest)",
        "peak growth recording, redaction off",
        "peak growth, plain client",
        "peak growth recording (vcrpy)",
    ],
}


def test_the_tiny_run_produces_every_row_with_finite_numbers(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--size", "tiny", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())

    rows = report["rows"]
    produced: dict[str, list[str]] = {}
    for row in rows:
        produced.setdefault(row["group"], []).append(row["measure"])
    assert {group: sorted(names) for group, names in produced.items()} == {
        group: sorted(names) for group, names in EXPECTED.items()
    }
    for row in rows:
        numbers = [row["ours"], row["value"]]
        numbers += [row[key] for key in ("base", "paired") if row[key] is not None]
        assert all(isinstance(x, float | int) and math.isfinite(x) for x in numbers), row
        assert row["status"] in ("PASS", "MISS", "info"), row
        assert (row["limit"] is None) == (row["status"] == "info"), row

    environment = report["environment"]
    assert environment["size"] == "tiny"
    assert set(environment["versions"]) >= {"streamtest", "httpx", "httpx2", "openai", "vcrpy"}
    # The table printed on stdout has a line per row, under the machine and versions.
    assert "machine:" in done.stdout and "vcrpy" in done.stdout
    assert done.stdout.count("\n| ") == len(rows) + 1  # the head, then the rows


def test_an_unknown_group_is_refused_with_the_choices() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown group(s) nope; choose from replay_wire" in done.stderr
