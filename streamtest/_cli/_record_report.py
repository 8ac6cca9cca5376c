"""What ``streamtest record`` reports once the command has exited, from the run folder the
recorded processes wrote in (see ``streamtest._record_child``): ``claim-NAME`` when a process
took a cassette name, ``done-PID-*.json`` when it exited (the cassettes it saved), ``started-PID``
when a Python process started, ``note-PID`` when one could not record."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

from .._core.errors import StreamtestError
from .._core.fileformat import load
from .._core.modes import RecordMode
from ._term import OK, PROBLEM, fail, paint


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):  # a claim whose writer was killed before writing it
        return {}
    return value if isinstance(value, dict) else {}


def shown(path: str | Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def describe(path: str | Path) -> str:
    """``FILE: 2 interaction(s), 31 chunk(s), 4,210 bytes`` (body bytes of the responses)."""
    try:
        cassette = load(path)
    except StreamtestError as exc:
        return f"{shown(path)}: cannot be read: {exc}"
    responses = [interaction.response for interaction in cassette.interactions]
    chunks = sum(len(response.chunks) for response in responses)
    size = sum(len(chunk.data) for response in responses for chunk in response.chunks)
    streams = f", {len(cassette.streams)} object stream(s)" if cassette.streams else ""
    return (
        f"{shown(path)}: {len(cassette.interactions)} interaction(s), {chunks} chunk(s), "
        f"{size:,} bytes{streams}"
    )


def _natural(path: str) -> list[Any]:
    """Sort key: app, app-2, app-10 (a cassette before its numbered siblings)."""
    parts = re.split(r"(\d+)", str(Path(path).with_suffix("")))
    return [int(part) if part.isdigit() else part for part in parts]


def _command_line(argv: object) -> str:
    """``python app.py`` from a process's argv (the interpreter's folder left out)."""
    if not isinstance(argv, list) or not argv:
        return "?"
    line = " ".join([os.path.basename(str(argv[0])), *map(str, argv[1:])])
    return line if len(line) <= 60 else line[:59] + "…"


def report(run: Path, code: int, mode: str) -> int:
    """Print the cassettes the command's processes saved, and what went wrong; the exit code."""
    manifests = [_read_json(path) for path in sorted(run.glob("done-*.json"))]
    saved = list(dict.fromkeys(p for m in manifests for p in m.get("saved", [])))
    finished = {m.get("pid") for m in manifests}
    lost = []
    for claim in sorted(run.glob("claim-*"), key=lambda path: path.stat().st_mtime_ns):
        owner = _read_json(claim)
        if owner.get("pid") not in finished:
            cassette = shown(owner.get("cassette") or claim.name.removeprefix("claim-"))
            process = f"process {owner.get('pid', '?')} ({_command_line(owner.get('argv'))})"
            lost.append(
                f"{cassette}: not saved: {process} did not exit normally (killed?), or was "
                "still running when the command ended"
            )
    err = sys.stderr
    if saved:
        print(paint(f"streamtest record: saved {len(saved)} cassette(s)", "bold", err), file=err)
        for path in sorted(saved, key=_natural):
            print(f"  {describe(path)}", file=err)
    for line in lost:
        print(f"  {paint(line, 'yellow', err)}", file=err)
    problems = [str(m["problem"]) for m in manifests if m.get("problem")]
    for note in sorted(run.glob("note-*")):  # from the bootstrap: a process that cannot record
        problems += note.read_text(errors="replace").splitlines()
    for problem in problems:
        print(f"  {paint(problem, 'yellow', err)}", file=err)
    if not saved:
        fail("record", "nothing was recorded.")
        if not lost and not problems:
            unanswered = sum(1 for m in manifests if m.get("claimed"))
            print(f"hint: {_hint(run, mode, unanswered)}", file=err)
    if code != 0:
        fail("record", _how_it_ended(code))
    return OK if saved and code == 0 and not lost and not problems else PROBLEM


def _how_it_ended(code: int) -> str:
    """``code`` < 0: killed by that signal; 128 + N: the shell's way to say the same (and the
    recorded Python processes' on SIGTERM, see ``_record_child``)."""
    number = -code if code < 0 else code - 128 if code > 128 else 0
    try:
        name = signal.Signals(number).name if number else None
    except ValueError:
        name = None
    if code < 0:
        return f"the command was killed by {name or f'signal {-code}'}."
    if name in ("SIGTERM", "SIGINT"):
        return f"the command exited with code {code} ({name})."
    return f"the command exited with code {code}."


def _hint(run: Path, mode: str, unanswered: int) -> str:
    """Why nothing was recorded; ``unanswered``: processes whose requests got no response."""
    started = len(list(run.glob("started-*")))
    if mode != RecordMode.ALL:
        return (
            f"in record mode {mode}, requests that a cassette already answers are replayed, not "
            "recorded again; --record-mode all records everything again."
        )
    if unanswered:
        return (
            f"{unanswered} process(es) sent requests that got no response (a connection error?), "
            "so there was nothing to record."
        )
    if not started:
        return (
            "no Python process started. Only Python programs are recorded (other languages: "
            "record one request with --url); `python -I`, `-S` and `-E` skip the recording."
        )
    return (
        f"{started} Python process(es) ran, and none sent an HTTP request through httpx or "
        "httpx2 (used by the openai and anthropic SDKs); requests, aiohttp and urllib are "
        "not recorded."
    )
