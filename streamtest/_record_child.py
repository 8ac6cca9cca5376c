"""Recording inside each Python process that ``streamtest record`` runs.

The bootstrap (``streamtest/_cli/_bootstrap/sitecustomize.py``) calls `start` once the process
imports ``httpx``, ``httpx2`` or ``streamtest``. (``streamtest`` too: a cassette the program
activates imports the HTTP stacks from inside ``patch.activate``, and starting there would
install the patch twice; starting at ``import streamtest`` puts this one in place first.)
From then on:

- the process's requests through either stack are recorded into a cassette of its own, which is
  named when the first request is sent: after ``--name`` (the first process to record takes it),
  else the ``-m`` module, the script's stem, or ``python``; a claim file created with
  ``O_EXCL`` in the run folder makes it unique in the run (``app``, ``app-2``, ...). A cassette
  the process activates itself (the pytest plugin's, a ``use_cassette`` in the app) is inside
  this one, so it routes its own requests;
- every cassette file the process saves, its own and those, is noticed through the ``os.rename``
  audit event of the atomic save (PEP 578 audit hooks observe without patching anything);
- at exit the process's cassette is saved and a manifest (``done-<pid>-<random>.json``: its
  argv and the cassettes it saved) is written for the parent to report.

A process killed before exiting writes neither: the parent finds its claim without a manifest and
says so. SIGTERM, when the program leaves it to its default, exits through ``SystemExit`` so the
cassette is saved. A child forked without ``exec`` starts over with its own cassette; a
multiprocessing worker, which ends with ``os._exit``, saves it from multiprocessing's finalizers.

Environment (set by the parent): ``STREAMTEST_RECORD_RUN`` (the run folder),
``STREAMTEST_RECORD_DIR`` (where cassettes go), ``STREAMTEST_RECORD_MODE``,
``STREAMTEST_RECORD_NAME`` (optional) and ``STREAMTEST_RECORD_MATCH_ON`` (optional).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from ._core.clock import RealClock
from ._core.model import Request
from ._core.modes import RecordMode, default_record_mode
from ._core.recording import Recording
from ._session import Session, use_cassette
from ._wire import patch
from ._wire.routing import Replay

RUN, DIR, NAME, MATCH_ON = (
    "STREAMTEST_RECORD_RUN",
    "STREAMTEST_RECORD_DIR",
    "STREAMTEST_RECORD_NAME",
    "STREAMTEST_RECORD_MATCH_ON",
)


def process_name() -> str:
    """What this process runs: the ``-m`` module, else the script's (or console script's) stem,
    else ``python`` (``-c``, stdin, the REPL)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if isinstance(name, str) and name and name != "__main__":
        name = name.removesuffix(".__main__")
    else:
        file = getattr(main, "__file__", None)
        name = Path(file).stem if isinstance(file, str) else "python"
    return re.sub(r"[^\w.\-]", "_", name).strip(".") or "python"


def command_line() -> list[str]:
    """How this process was started (``python app.py``), for the report."""
    return list(getattr(sys, "orig_argv", None) or sys.argv)


def _claim(run: Path, cassette: Path) -> bool:
    """Take ``cassette`` for this process, atomically; False when another process has it."""
    try:
        fd = os.open(run / f"claim-{cassette.stem}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:  # read by the parent when no manifest comes
        json.dump({"pid": os.getpid(), "argv": command_line(), "cassette": str(cassette)}, handle)
    return True


def claim_cassette(run: Path, folder: Path, preferred: str | None) -> Path:
    """This process's cassette path: ``preferred`` when no process took it yet, else the first
    free one of ``NAME.jsonl``, ``NAME-2.jsonl``, ... in this run."""
    if preferred and _claim(run, path := folder / f"{preferred}.jsonl"):
        return path
    base = process_name()
    number = 1
    while not _claim(run, path := folder / f"{base if number == 1 else f'{base}-{number}'}.jsonl"):
        number += 1
    return path


class ProcessCassette:
    """The cassette of the whole process: at the bottom of the session stack, it routes every
    request no cassette of the program's own routes. It is claimed at the first request."""

    def __init__(self, environ: dict[str, str] | os._Environ[str]) -> None:
        self.run = Path(environ[RUN])
        self.folder = Path(environ[DIR])
        self.preferred = environ.get(NAME) or None
        self.mode = default_record_mode()  # STREAMTEST_RECORD_MODE
        names = environ.get(MATCH_ON, "")
        self.options: dict[str, Any] = {"record_mode": self.mode}
        if names:
            self.options["match_on"] = [n.strip() for n in names.split(",") if n.strip()]
        use_cassette(self.folder / "check.jsonl", **self.options)  # a bad option fails now
        self.path: Path | None = None
        self.session: Session | None = None
        self.saved: list[str] = []
        self.finished = False
        self.forked_child = False
        self._lock = threading.Lock()

    def route(self, request: Request) -> Replay | Recording:
        with self._lock:
            if self.session is None:
                try:
                    path = claim_cassette(self.run, self.folder, self.preferred)
                except OSError:  # the run is over: this process outlived the command
                    return Recording(request, RealClock())  # goes to the network, kept nowhere
                self.path, self.session = path, self._session(path)
                _finish_in_multiprocessing_worker(self.finish, forked=self.forked_child)
            session = self.session
        return session.route(request)

    def _session(self, path: Path) -> Session:
        if self.mode is not RecordMode.ALL:
            return use_cassette(path, **self.options).session()
        # "all" replaces the file without reading it, so a broken old cassette cannot stop a
        # new recording: the session starts on a path that does not exist, then takes this one.
        session = use_cassette(self.run / f"new-{os.getpid()}.jsonl", **self.options).session()
        session.cassette.path = path
        return session

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        """Note each cassette saved (``fileformat.save`` renames ``.NAME.<hex>.tmp`` onto
        ``NAME``). An audit hook must never raise: it would fail the rename."""
        if event != "os.rename":
            return
        try:
            source, target = os.fspath(args[0]), os.fspath(args[1])
            if isinstance(source, str) and isinstance(target, str):
                name = os.path.basename(target)
                temporary = os.path.basename(source)
                if temporary.startswith(f".{name}.") and temporary.endswith(".tmp"):
                    self.saved.append(os.path.abspath(target))
        except Exception:
            pass

    def forked(self) -> None:
        """In a child forked without exec: start over, with a cassette of its own."""
        global _exiting
        _exiting = False
        self._lock = threading.Lock()
        self.path, self.session, self.saved = None, None, []
        self.finished, self.forked_child = False, True

    def finish(self) -> None:
        """At exit: save this process's cassette and write its manifest."""
        global _exiting
        if self.finished:
            return
        self.finished = _exiting = True
        problem = None
        if self.session is not None:
            try:
                self.session.finish()
            except Exception as exc:  # e.g. a full disk: say so, the program's exit code stays
                problem = f"{self.path} could not be saved: {type(exc).__name__}: {exc}"
                print(f"streamtest record: {problem}", file=sys.stderr)
        if self.path is None and not self.saved and problem is None:
            return
        manifest = {
            "pid": os.getpid(),
            "argv": command_line(),
            "claimed": str(self.path) if self.path else None,
            "saved": list(dict.fromkeys(self.saved)),
            "problem": problem,
        }
        target = self.run / f"done-{os.getpid()}-{secrets.token_hex(4)}.json"
        partial = target.with_suffix(".part")
        try:
            partial.write_text(json.dumps(manifest))
            os.replace(partial, target)
        except OSError:
            pass  # the run folder is gone: the parent has reported already


def _finish_in_multiprocessing_worker(finish: Callable[[], None], *, forked: bool) -> None:
    """A multiprocessing worker started by fork or forkserver ends with ``os._exit``, which
    skips ``atexit``; multiprocessing runs its exit finalizers first, so register there too."""
    util, process = (
        sys.modules.get("multiprocessing.util"),
        sys.modules.get("multiprocessing.process"),
    )
    if util is not None and (forked or (process is not None and process.parent_process())):
        util.Finalize(None, finish, exitpriority=0)


def _exit_on_sigterm() -> None:
    """Make SIGTERM, left to its default (die at once, skipping ``atexit``), end the process
    with ``SystemExit(143)`` instead, so its cassette is saved: a CI timeout, a process manager
    or ``Pool.terminate()`` would otherwise lose every recording. A handler the program set
    is left alone, and so is one it sets later."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers: keep the default
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)


_exiting = False  # set once the process is saving: a late SIGTERM must not cut that short


def _terminated(signum: int, frame: FrameType | None) -> None:
    if not _exiting:
        raise SystemExit(128 + signum)


def start() -> None:
    """Record this process's requests from now on (see the module docstring)."""
    recorder = ProcessCassette(os.environ)
    sys.addaudithook(recorder.audit)
    atexit.register(recorder.finish)
    if hasattr(os, "register_at_fork"):  # (not on Windows, which has no fork)
        os.register_at_fork(after_in_child=recorder.forked)
    _exit_on_sigterm()
    patch.activate(recorder)
