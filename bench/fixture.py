"""The fixed cost of the pytest fixture: what a test with a small cassette pays over an empty one.

pytest runs in a subprocess on a generated folder of N tests, with an empty ini file (the
project's options stay out), no cache provider and no plugin autoloading
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD``: other installed plugins, langsmith's takes ~2 s to import,
would only add noise), streamtest's plugin loaded with ``-p`` where the suite wants it; a
``conftest.py`` times the run loop only (from the end of collection to the end of the session),
so interpreter start and collection do not count. Three suites, interleaved:

- cassette: ``@pytest.mark.streamtest("small.jsonl", record_mode="none")`` and the ``cassette``
  fixture: load a 20-chunk cassette, activate, deactivate, for every test (no request is made);
- empty: ``def test(): pass`` with streamtest's plugin loaded (what the plugin costs a test
  that does not use it: its autouse placeholder fixture is dropped at collection);
- empty, no plugin: the same without streamtest's plugin, the floor of the target row;
- a do-nothing generator fixture (taking ``request`` and a config fixture, like ``cassette``),
  no plugin: what pytest itself charges for such a fixture, shown to split the target row.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ._data import token_chunks, write_cassette
from ._measure import Context, Row, Variant, medians, paired_diff_ms, run_interleaved

GROUP = "pytest fixture"
TARGET_MS = 0.5
_CONFTEST = """\
import os, time
from pathlib import Path

import pytest

_start = [0.0]

def pytest_collection_finish(session):
    _start[0] = time.perf_counter()

def pytest_sessionfinish(session):
    Path(os.environ["BENCH_SECONDS"]).write_text(repr(time.perf_counter() - _start[0]))


@pytest.fixture
def noop_config():
    return {}


@pytest.fixture
def noop(request, noop_config):
    yield None
"""


_IMPORTS = "import httpx\nimport httpx2\nimport pytest\n"


def _write_suites(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "conftest.py").write_text(_CONFTEST)
    marker = '@pytest.mark.streamtest("small.jsonl", record_mode="none")\n'
    tests = "".join(f"\n\n{marker}def test_{i}(cassette):\n    pass\n" for i in range(n))
    # Both suites import the HTTP stacks at collection, as a suite that makes requests does;
    # else the first cassette would import them (once per process, ~0.2 s) inside the timing.
    (folder / "test_cassette.py").write_text(_IMPORTS + tests)
    empty = "".join(f"\n\ndef test_{i}():\n    pass\n" for i in range(n))
    (folder / "test_empty.py").write_text(_IMPORTS + empty)
    noop = "".join(f"\n\ndef test_{i}(noop):\n    pass\n" for i in range(n))
    (folder / "test_noop.py").write_text(_IMPORTS + noop)
    write_cassette(folder / "cassettes" / "test_cassette" / "small.jsonl", token_chunks(20))


def _pytest(folder: Path, test_file: str, *, plugin: bool = True) -> float:
    seconds = folder / "seconds.txt"
    env = {**os.environ, "BENCH_SECONDS": str(seconds), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("CI", None)  # the cassette's record mode is explicit; CI must not change others
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "streamtest._pytest_plugin"] if plugin else []
    command += ["-c", str(folder / "pytest.ini"), "--rootdir", str(folder), test_file]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pytest failed in {folder}:\n{done.stdout[-2000:]}{done.stderr}")
    return float(seconds.read_text())


def run(ctx: Context) -> list[Row]:
    n = ctx.size.fixture_tests
    folder = ctx.folder / "suite"
    _write_suites(folder, n)
    variants: dict[str, Variant] = {
        "cassette": lambda: _pytest(folder, "test_cassette.py"),
        "empty": lambda: _pytest(folder, "test_empty.py"),
        "bare": lambda: _pytest(folder, "test_empty.py", plugin=False),
        "noop": lambda: _pytest(folder, "test_noop.py", plugin=False),
    }
    t = run_interleaved(variants, repeat=ctx.size.fixture_repeat, warmup=ctx.size.fixture_warmup)
    per = {name: seconds / n for name, seconds in medians(t).items()}
    bare = "empty test, no streamtest plugin"

    def row(name: str, variant: str, limit: float | None, note: str) -> Row:
        return Row(GROUP, name, per[variant], per["bare"], bare, "diff_ms", limit, note=note,
                   paired=paired_diff_ms(t, variant, "bare", per=n))  # fmt: skip

    return [
        row("test with the cassette fixture", "cassette", TARGET_MS,
            f"{n} tests per pytest run, 20-chunk cassette, per-test difference"),
        row("empty test with the plugin installed", "empty", None,
            "what the plugin costs every test that does not use it"),
        row("test with a do-nothing generator fixture", "noop", None,
            "pytest's own cost for a fixture like `cassette`, no streamtest"),
    ]  # fmt: skip
