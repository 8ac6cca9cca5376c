"""``streamtest record``: run a command with recording on in each of its Python processes, or
send one request (``--url``, see ``_record_url``) and record its stream.

How a command is recorded: the command runs as a child process with ``_bootstrap/`` first on
``PYTHONPATH``, so every Python process of its tree loads that folder's ``sitecustomize`` at
start, and ``STREAMTEST_RECORD_*`` variables naming a private run folder. Each process records
into a cassette of its own and leaves a manifest in the run folder (``streamtest._record_child``);
once the command exits, the manifests say what to report.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .._core.matching import resolve_matchers
from .._core.modes import RECORD_MODE_VARIABLE, RecordMode
from .._record_child import DIR, MATCH_ON, NAME, RUN
from ._record_report import report
from ._record_url import add_url_options, record_url, url_options_given
from ._term import fail

BOOTSTRAP = Path(__file__).resolve().parent / "_bootstrap"

_EPILOG = """\
examples:
  streamtest record -- python app.py                 # cassettes/app.jsonl
  streamtest record --name chat -- python -m myapp   # cassettes/chat.jsonl
  streamtest record -- pytest tests/                 # each test's cassette records again
  streamtest record --cassette-dir tests/cassettes -- streamlit run app.py
  streamtest record --url http://127.0.0.1:11434/api/chat --json @request.json \\
      --cassette cassettes/ollama.jsonl --show text
  streamtest record --url https://api.openai.com/v1/chat/completions \\
      --header "Authorization: Bearer $OPENAI_API_KEY" \\
      --json '{"model": "gpt-4o-mini", "stream": true,
               "messages": [{"role": "user", "content": "Hi"}]}' --cassette chat.jsonl

Every Python process the command starts records its own cassette, named after its script
(or -m module, or "python" for -c), made unique in the run (app.jsonl, app-2.jsonl, ...); one
that sends no request writes nothing. Requests through httpx and httpx2 are recorded (the
openai and anthropic SDKs, LangChain's chat models, ...). Secrets are redacted. The command's
own output is left alone; the report goes to stderr. Exit status: 0 when the command
succeeded and something was recorded, else 1."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    record = commands.add_parser(
        "record",
        help="run a command (or send one request) and record its HTTP streams",
        usage="streamtest record [OPTIONS] -- COMMAND [ARG ...]\n"
        "       streamtest record --url URL [--json BODY | --data-file FILE] "
        "[--header 'NAME: VALUE' ...] --cassette FILE",
        description="Run COMMAND with recording on in it and in every Python process it starts\n"
        "(scripts, pytest, streamlit, ...), then list the cassettes written. With --url, send\n"
        "one request instead, show its stream as it arrives and record it.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    record.add_argument(
        "--cassette-dir",
        type=Path,
        metavar="DIR",
        help="where the command's cassettes go (default: cassettes)",
    )
    record.add_argument(
        "--record-mode",
        choices=[mode.value for mode in RecordMode],
        default=RecordMode.ALL.value,
        help="all (default): record every request again, replacing the cassettes; once, "
        "new_episodes, none: replay what the cassettes hold, as in tests. Also the default of "
        "the pytest plugin's cassettes in the command (STREAMTEST_RECORD_MODE)",
    )
    record.add_argument(
        "--name",
        help="cassette name for the first process that records (default: its script's name)",
    )
    record.add_argument(
        "--match-on",
        metavar="NAMES",
        help="comma-separated matchers, for the modes that replay (default "
        "method,url,body; also path, query, scheme, host, port, headers)",
    )
    add_url_options(record)
    record.add_argument(
        "command", nargs=argparse.REMAINDER, metavar="-- COMMAND ...", help="the command to run"
    )
    record.set_defaults(run=_run)


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.match_on is not None:
        names = [name.strip() for name in args.match_on.split(",") if name.strip()]
        try:
            resolve_matchers(names)
        except ValueError as exc:
            parser.error(f"--match-on: {exc}")
    if args.url is not None:
        if command:
            parser.error("give either a command after -- or --url, not both")
        given = [f for f, v in (("--cassette-dir", args.cassette_dir), ("--name", args.name)) if v]
        if given:
            parser.error(f"{given[0]} is for recording a command; with --url use --cassette FILE")
        return record_url(args, parser)
    if args.name is not None and not re.fullmatch(r"\w[\w.\-]*", args.name):
        parser.error(f"--name {args.name!r} is not a file name (letters, digits, _ . -)")
    if url_option := url_options_given(args):
        parser.error(f"{url_option} goes with --url (to send one request)")
    if not command:
        parser.error(
            "give the command to record after --, e.g. streamtest record -- python app.py "
            "(or --url to send one request)"
        )
    folder = (args.cassette_dir or Path("cassettes")).resolve()
    return record_command(command, folder, args.record_mode, args.name, args.match_on)


def child_environment(
    run: Path, folder: Path, mode: str, name: str | None, match_on: str | None
) -> dict[str, str]:
    """The command's environment: the bootstrap first on PYTHONPATH, and where to record."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([str(BOOTSTRAP), *([path] if path else [])])
    env.update({RUN: str(run), DIR: str(folder), RECORD_MODE_VARIABLE: mode})
    for variable, value in ((NAME, name), (MATCH_ON, match_on)):
        if value:
            env[variable] = value
        else:  # from an outer `streamtest record`: not ours
            env.pop(variable, None)
    return env


def record_command(
    command: Sequence[str], folder: Path, mode: str, name: str | None, match_on: str | None
) -> int:
    """Run ``command`` with recording on, then report what it recorded."""
    run = Path(tempfile.mkdtemp(prefix="streamtest-record-"))
    try:
        env = child_environment(run, folder, mode, name, match_on)
        try:
            child = subprocess.Popen(list(command), env=env)
        except OSError as exc:
            reason = "no such command" if isinstance(exc, FileNotFoundError) else exc.strerror
            return fail("record", f"cannot run {command[0]!r}: {reason}.")
        code = _wait(child)
        return report(run, code, mode)
    finally:
        shutil.rmtree(run, ignore_errors=True)


def _from_terminal() -> bool:
    """Whether a SIGINT came from the terminal's Ctrl-C, which reaches the child as well: we
    are in the terminal's foreground process group."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


def _wait(child: subprocess.Popen[bytes]) -> int:
    """Wait for the command, whatever signal arrives: SIGTERM is passed on, and SIGINT too,
    unless it was a Ctrl-C, which the child got from the terminal itself (a second one would
    interrupt its exit, and the cassettes it is saving)."""

    def pass_on(signum: int, frame: FrameType | None) -> None:
        if signum != signal.SIGINT or not _from_terminal():
            child.send_signal(signum)

    # (a signal ignored by whoever started us, as a shell does for a background job's SIGINT,
    # stays ignored: the command inherited that too)
    handled = [s for s in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(s) != signal.SIG_IGN]
    previous = {signum: signal.signal(signum, pass_on) for signum in handled}
    try:
        return child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
