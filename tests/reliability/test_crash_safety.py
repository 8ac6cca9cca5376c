"""Crash safety (issue 9, item 2): a recording process killed with SIGKILL at a random moment
leaves each cassette absent or at a version it saved completely, never a corrupt file.

A child process (``data/crash_child.py``) records in a loop of short ``use_cassette`` blocks,
each streaming chat completions from the loopback provider and recording an object stream, so
it saves (rewrites) its cassette dozens of times a second; after each block it also merges a
standalone object stream into a second file. It logs each completed save (with fsync). The
parent kills it with SIGKILL, then checks each file: absent only if nothing was ever saved,
else it loads and holds exactly the version last logged or the next one (renamed into place
just before the kill, not yet logged), every interaction and stream complete. Trials run in
chains of `CHAIN` on the same files, so each run starts from what a killed run left (its
temporary files included); each chain ends with a run left to finish, which must succeed.

Per record mode (``new_episodes``: the file grows; ``all``: each block overwrites it),
`TRIALS` kills come after a delay drawn uniformly over the child's lifetime (start-up,
requests, loads and saves alike: ~20% of it is saving) and `SAVE_TRIALS` kills come the moment
a save has begun (a new temporary file appears), so saves are surely hit. A killed save leaves
its ``.<name>.<random>.tmp`` file behind: those accumulate (nothing removes them), but nothing
reads them and no ``*.jsonl`` scan sees them.

`test_sigkill_during_a_pytest_run_leaves_each_cassette_whole` kills a pytest run recording
through the ``cassette`` fixture (shared and own cassettes), `PLUGIN_TRIALS` times, at a
uniformly random moment after its first test has ended.

Counts: 6 + 2 trials per mode and 3 pytest runs by default (~10 s each test); 100 + 20 per
mode and 20 pytest runs with ``STREAMTEST_RELIABILITY=full`` (~2 min each test).
``STREAMTEST_RELIABILITY_SEED`` fixes the random delays' seed; a failure names its trial's.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import streamtest
from fixtures.provider_server import ProviderServer, Scenario

FULL = os.environ.get("STREAMTEST_RELIABILITY") == "full"
TRIALS = 100 if FULL else 6  # per record mode, killed at a uniformly random moment
SAVE_TRIALS = 20 if FULL else 2  # per record mode, killed as a save has begun
PLUGIN_TRIALS = 20 if FULL else 3
CHAIN = 5  # killed runs on the same files before a run is left to finish and a chain begins
SEED = int(os.environ.get("STREAMTEST_RELIABILITY_SEED") or random.randrange(2**32))
SECONDS = 0.6  # the child's recording loop; its whole lifetime is about 1 s
# Few chunks but many bytes a stream: requests are quick and saves slow (~20% of a run).
TEXT = " ".join(f"w{n}-" + "x" * 300 for n in range(20))

DATA = Path(__file__).parent / "data"
_spec = importlib.util.spec_from_file_location("crash_child", DATA / "crash_child.py")
assert _spec is not None and _spec.loader is not None
child = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(child)


@pytest.fixture(scope="module")
def provider() -> Iterator[ProviderServer]:
    with ProviderServer(default=Scenario(text=TEXT, echo=True)) as server:
        yield server


def clean_env(**extra: str) -> dict[str, str]:
    """The child's environment: no CI default, no outer pytest or streamtest settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CI", "PYTHONPATH") and not k.startswith(("STREAMTEST_", "PYTEST_"))
    }
    return {**env, "OPENAI_API_KEY": "sk-dummy", **extra}


def answer(interaction: streamtest.Interaction) -> str:
    """The text of a recorded chat stream, joined from its SSE deltas."""
    body = b"".join(c.data for c in interaction.response.chunks).decode()
    parts = []
    for line in body.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            parts += [c["delta"].get("content") or "" for c in json.loads(line[6:])["choices"]]
    return "".join(parts)


def stored_items(key: str) -> list[Any]:
    """``child.items(key)`` as a cassette stores them (a tuple is a tagged object)."""
    return [key, {"$type": "tuple", "value": ["tuple", 1]}, {"n": len(key)}, None]


def contents(path: Path) -> tuple[list[str], list[str]]:
    """The prompts of the cassette's interactions and the keys of its object streams, after
    checking each is complete: the answer the server gave that prompt, the items of that key."""
    cassette = streamtest.load_cassette(path)  # a corrupt file raises CassetteError here
    prompts = []
    for interaction in cassette.interactions:
        prompt = json.loads(interaction.request.body)["messages"][0]["content"]
        assert interaction.response.end.value in ("completed", "closed"), prompt
        assert answer(interaction) == f"{TEXT} [{prompt}]", f"{path}: incomplete {prompt!r}"
        prompts.append(prompt)
    keys = []
    for stream in cassette.streams:
        assert stream.end.value == "completed", stream.key
        assert [item.value for item in stream.items] == stored_items(stream.key), stream.key
        keys.append(stream.key)
    return prompts, keys


def temp_files(folder: Path) -> set[Path]:
    return set(folder.glob(".*.tmp"))


# --------------------------------------------------------------------------- use_cassette


@dataclass
class Files:
    """What one chain's two files hold, as verified after the last run."""

    folder: Path
    cassette: tuple[list[str], list[str]] | None = None  # prompts, stream keys; None: absent
    objects: list[str] | None = None  # the standalone file's stream keys
    leftovers: set[Path] = field(default_factory=set)


def expected_cassette(
    files: Files, mode: str, trial: int, blocks: int
) -> tuple[list[str], list[str]] | None:
    """The cassette after ``blocks`` blocks of ``trial`` were saved."""
    if blocks == 0:
        return files.cassette
    keys = [f"t{trial}-b{b}" for b in range(blocks)]
    prompts = [p for b in range(blocks) for p in child.prompts(trial, b, 2)]
    if mode == "all":  # each block records everything again: the file is the last block's
        return prompts[-2:], keys[-1:]
    before = files.cassette or ([], [])
    return before[0] + prompts, before[1] + keys


def expected_objects(files: Files, trial: int, blocks: int) -> list[str] | None:
    """The standalone object file after ``blocks`` merges (in either mode: keys differ)."""
    if blocks == 0:
        return files.objects
    return (files.objects or []) + [f"t{trial}-b{b}" for b in range(blocks)]


def check_file(
    path: Path,
    logged: list[dict[str, Any]],
    expected: Callable[[int], Any],
    read: Callable[[Path], Any],
    context: str,
) -> Any:
    """Check ``path`` is the version after the last logged save or the next one; return what it
    holds. ``expected(blocks)`` is what it must hold after that many saves of this run."""
    assert [line["block"] for line in logged] == list(range(len(logged))), context
    done = len(logged)
    if not path.exists():
        assert expected(done) is None, f"{context}: {path.name} vanished"
        return None
    try:
        found = read(path)
    except Exception as exc:  # CassetteError, or a check in `contents`
        pytest.fail(f"{context}: {path.name} is corrupt or incomplete: {exc!r}")
    if found == expected(done):
        if done:  # byte for byte the version the child logged
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert digest == logged[-1]["sha256"], f"{context}: {path.name} differs from its log"
        return found
    assert found == expected(done + 1), (
        f"{context}: {path.name} is neither the version after save {done} nor the next one"
    )
    return found


def run_child(
    provider: ProviderServer,
    files: Files,
    mode: str,
    trial: int,
    kill_after: float | None,
    *,
    at_save: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """Run the child for ``trial``, SIGKILLed after ``kill_after`` seconds (None: let it end),
    or with ``at_save`` at the first save begun after that (a new temporary file); return its
    exit status and log."""
    log, errors = files.folder / f"log-{trial}", files.folder / f"stderr-{trial}"
    config = {
        "trial": trial,
        "mode": mode,
        "base": f"{provider.url}/v1",
        "cassette": str(files.folder / "cassette.jsonl"),
        "objects": str(files.folder / "objects.jsonl"),
        "log": str(log),
        "seconds": SECONDS,
        "requests": 2,
    }
    command = [sys.executable, str(DATA / "crash_child.py"), json.dumps(config)]
    with errors.open("wb") as stderr:
        process = subprocess.Popen(
            command, env=clean_env(), stdout=subprocess.DEVNULL, stderr=stderr
        )
        try:
            process.wait(timeout=kill_after if kill_after is not None else 60)
        except subprocess.TimeoutExpired:
            if kill_after is None:
                raise
            if at_save:
                while process.poll() is None and not temp_files(files.folder) - files.leftovers:
                    time.sleep(0.0001)  # a save lasts milliseconds
            process.send_signal(signal.SIGKILL)
            process.wait()
    status = process.returncode
    assert status in (0, -signal.SIGKILL), errors.read_text()
    lines = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return status, lines


def check_run(files: Files, mode: str, trial: int, log: list[dict[str, Any]], context: str) -> int:
    """Check both files after a run; update ``files``; return the temporary files it left."""
    by_file = {
        name: [line for line in log if line["file"] == name] for name in ("cassette", "objects")
    }
    cassette = check_file(
        files.folder / "cassette.jsonl",
        by_file["cassette"],
        lambda blocks: expected_cassette(files, mode, trial, blocks),
        lambda path: contents(path),
        context,
    )
    objects = check_file(
        files.folder / "objects.jsonl",
        by_file["objects"],
        lambda blocks: expected_objects(files, trial, blocks),
        lambda path: contents(path)[1],
        context,
    )
    files.cassette, files.objects = cassette, objects
    # Temporary files never look like cassettes to tools that scan a folder for *.jsonl.
    assert {p.name for p in files.folder.glob("*.jsonl")} <= {"cassette.jsonl", "objects.jsonl"}
    left = temp_files(files.folder) - files.leftovers
    files.leftovers |= left
    return len(left)


@pytest.mark.parametrize("mode", ["new_episodes", "all"])
def test_sigkill_while_recording_leaves_the_old_or_the_new_cassette(
    provider: ProviderServer, tmp_path: Path, mode: str
) -> None:
    calibration = Files(tmp_path / "calibration")
    calibration.folder.mkdir()
    started = time.perf_counter()
    run_child(provider, calibration, mode, -1, None)
    lifetime = time.perf_counter() - started

    killed = mid_save = finished = targeted_hits = 0
    files = Files(tmp_path)
    for trial in range(TRIALS + SAVE_TRIALS):
        if trial % CHAIN == 0:
            files = Files(tmp_path / f"chain{trial // CHAIN}")
            files.folder.mkdir()
        seed = f"{SEED}-{mode}-{trial}"
        at_save = trial >= TRIALS
        kill_after = random.Random(seed).uniform(0, (0.8 if at_save else 1.1) * lifetime)
        context = (
            f"trial {trial} (seed {seed}: STREAMTEST_RELIABILITY_SEED={SEED}), mode {mode}, "
            f"SIGKILL {'at the first save begun ' if at_save else ''}after {kill_after:.3f} s "
            f"of a ~{lifetime:.2f} s run"
        )
        status, log = run_child(provider, files, mode, trial, kill_after, at_save=at_save)
        killed += status != 0
        finished += status == 0
        left = check_run(files, mode, trial, log, context)
        mid_save += left
        targeted_hits += left if at_save else 0
        if trial % CHAIN == CHAIN - 1 or trial == TRIALS + SAVE_TRIALS - 1:
            # A run left to finish, after the killed ones: what they left never gets in its way.
            before = len(files.leftovers)
            final = 10_000 + trial
            status, log = run_child(provider, files, mode, final, None)
            assert status == 0
            assert check_run(files, mode, final, log, f"{context}; the final run") == 0
            saved = [line for line in log if line["file"] == "cassette"]
            digest = hashlib.sha256((files.folder / "cassette.jsonl").read_bytes()).hexdigest()
            assert saved and digest == saved[-1]["sha256"]  # the last save, logged
            assert len(files.leftovers) == before

    print(
        f"\n{mode}: {TRIALS} uniform + {SAVE_TRIALS} save-targeted trials (seed {SEED}): "
        f"{killed} killed, {finished} finished first, {mid_save} killed mid-save "
        f"({targeted_hits} of them targeted), each leaving a temporary file; run ~{lifetime:.2f} s"
    )
    # Most targeted kills land inside the save (the rest just after its rename).
    assert targeted_hits > 0, "no kill landed inside a save: the test proved little"


# --------------------------------------------------------------------------- pytest plugin

PLUGIN_TESTS = 20  # even ones share a cassette (new_episodes), odd ones have their own (once)

INNER_CLIENT = """
import json
import os

import httpx


CLIENT = httpx.Client(timeout=10)


def chat(prompt):
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": prompt}]}
    parts = []
    url = os.environ["CRASH_BASE"] + "/chat/completions"
    with CLIENT.stream("POST", url, json=body) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                for choice in json.loads(line[6:])["choices"]:
                    parts.append(choice["delta"].get("content") or "")
    return "".join(parts)
"""

INNER_CONFTEST = """
import hashlib
import json
import os

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    # After the cassette fixture's teardown has saved: log the test and the shared file's hash.
    result = yield
    shared = item.path.parent / "cassettes" / item.path.stem / "shared.jsonl"
    digest = hashlib.sha256(shared.read_bytes()).hexdigest() if shared.exists() else None
    fd = os.open(os.environ["CRASH_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, (json.dumps({"test": item.name, "sha256": digest}) + "\\n").encode())
    os.fsync(fd)
    os.close(fd)
    return result
"""

INNER_TESTS = """
import pytest

import streamtest
from crashclient import chat

TEXT = {text!r}
SHARED = pytest.mark.streamtest("shared.jsonl", record_mode="new_episodes")


@pytest.mark.parametrize(
    "n",
    [pytest.param(n, id=f"n{{n}}", marks=[SHARED] if n % 2 == 0 else []) for n in range({count})],
)
def test_record(n, request, cassette):
    for r in range(2):
        prompt = f"{{request.node.name}}-r{{r}}"
        assert chat(prompt) == f"{{TEXT}} [{{prompt}}]"
    key = request.node.name
    assert list(streamtest.record_stream(iter({items}(key)), name="words", key=key))
"""


def plugin_prompts(n: int) -> list[str]:
    return [f"test_record[n{n}]-r{r}" for r in range(2)]


def write_inner_suite(folder: Path) -> None:
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "crashclient.py").write_text(INNER_CLIENT)
    (folder / "conftest.py").write_text(INNER_CONFTEST)
    items = "(lambda key: [key, ('tuple', 1), {'n': len(key)}, None])"  # as child.items
    tests = INNER_TESTS.format(text=TEXT, count=PLUGIN_TESTS, items=items)
    (folder / "test_crash_plugin.py").write_text(tests)


def run_inner_pytest(
    provider: ProviderServer, folder: Path, kill_after: float | None
) -> tuple[int, list[dict[str, Any]], float]:
    """Run the inner suite; ``kill_after`` seconds after its first test ended, SIGKILL it.
    Returns the exit status, the log, and the seconds from the first test's end to the exit."""
    log = folder / "log"
    env = clean_env(CRASH_BASE=f"{provider.url}/v1", CRASH_LOG=str(log))
    # Installed plugins the suite does not need (hypothesis alone costs ~0.9 s of start-up);
    # streamtest loads through its entry point, as in a user's project.
    blocked = ("cacheprovider", "xdist", "hypothesispytest", "langsmith_plugin", "anyio")
    blocked += ("respx", "syrupy")
    command = [sys.executable, "-m", "pytest", "-q"]
    command += [arg for name in blocked for arg in ("-p", f"no:{name}")]
    with (folder / "output").open("wb") as output:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=output, stderr=output)
        deadline = time.monotonic() + 60
        while not (log.exists() and log.stat().st_size) and process.poll() is None:
            assert time.monotonic() < deadline, "the inner suite never finished a test"
            time.sleep(0.002)
        first = time.perf_counter()
        try:
            process.wait(timeout=kill_after if kill_after is not None else 60)
        except subprocess.TimeoutExpired:
            if kill_after is None:
                raise
            process.send_signal(signal.SIGKILL)
            process.wait()
        rest = time.perf_counter() - first
    status = process.returncode
    assert status in (0, -signal.SIGKILL), (folder / "output").read_text()
    return status, [json.loads(line) for line in log.read_text().splitlines()], rest


def test_sigkill_during_a_pytest_run_leaves_each_cassette_whole(
    provider: ProviderServer, tmp_path: Path
) -> None:
    """Each own cassette is absent (its test had not ended) or whole; the shared one is the
    version the last logged test saved, or the next test's."""
    write_inner_suite(tmp_path / "calibration")
    status, log, rest = run_inner_pytest(provider, tmp_path / "calibration", None)
    assert status == 0 and len(log) == PLUGIN_TESTS

    for trial in range(PLUGIN_TRIALS):
        folder = tmp_path / f"trial{trial}"
        write_inner_suite(folder)
        seed = f"{SEED}-plugin-{trial}"
        kill_after = random.Random(seed).uniform(0, 1.1 * rest)
        context = f"plugin trial {trial} (seed {seed}), SIGKILL {kill_after:.3f} s in"
        status, log, _ = run_inner_pytest(provider, folder, kill_after)

        done = [int(line["test"].split("[n")[1].rstrip("]")) for line in log]
        assert done == list(range(len(done))), context
        cassettes = folder / "cassettes" / "test_crash_plugin"
        for n in range(1, PLUGIN_TESTS, 2):  # own cassettes: absent (not yet ended) or whole
            path = cassettes / f"test_record[n{n}].jsonl"
            if n in done:
                assert path.exists(), context
            if path.exists():
                key = f"test_record[n{n}]"
                assert contents(path) == (plugin_prompts(n), [key]), context
        shared = [line for line in log if int(line["test"].split("[n")[1].rstrip("]")) % 2 == 0]
        logged = [{"block": b, "sha256": line["sha256"]} for b, line in enumerate(shared)]

        def expected(blocks: int) -> tuple[list[str], list[str]] | None:
            tests = range(0, 2 * blocks, 2)
            if not blocks:
                return None
            return [p for n in tests for p in plugin_prompts(n)], [
                f"test_record[n{n}]" for n in tests
            ]

        check_file(cassettes / "shared.jsonl", logged, expected, contents, context)
        assert not temp_files(cassettes) or status != 0, context
