"""Loaded by every Python process ``streamtest record`` runs: its folder is first on PYTHONPATH.

Does nothing unless ``STREAMTEST_RECORD_RUN`` is set. Then it notes that a Python process
started, watches for the first import of ``httpx``, ``httpx2`` or ``streamtest``, and only then
hands over to ``streamtest._record_child``, which records the process's requests. A process that
never imports them pays a fraction of a millisecond here, not the ~200 ms that importing
streamtest and both HTTP stacks would cost. Last, it runs the ``sitecustomize`` module this one
hides (a distribution's or a virtualenv's), as ``site`` would have.

Standard library only, and written for any Python 3 a recorded command may start.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not `typing`'s: importing typing would cost ~5 ms in every process
if TYPE_CHECKING:
    from typing import Any

_HERE = os.path.normcase(os.path.dirname(os.path.abspath(__file__)))
_WATCHED = frozenset({"httpx", "httpx2", "streamtest"})


class _Watch:
    """A meta path finder that finds nothing itself: it wraps the loader of a watched module,
    so that `_hand_over` runs once that module has been executed."""

    def __init__(self) -> None:
        self.finding: set[str] = set()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _WATCHED or name in self.finding:
            return None
        self.finding.add(name)  # the import lock of ``name`` is held: no other thread is here
        try:
            spec: Any = None
            for finder in list(sys.meta_path):
                if finder is not self and hasattr(finder, "find_spec"):
                    spec = finder.find_spec(name, path, target)
                    if spec is not None:
                        break
        finally:
            self.finding.discard(name)
        if spec is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Loader(spec.loader)
        return spec


class _Loader:
    """The module's own loader, which calls `_hand_over` after executing the module."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)

    def create_module(self, spec: Any) -> Any:
        create = getattr(self.loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: Any) -> None:
        module.__loader__ = module.__spec__.loader = self.loader  # the module sees its own
        self.loader.exec_module(module)
        _hand_over()


_watch = _Watch()


def _hand_over() -> None:
    """Start recording in this process, once. A failure is reported, never raised: it must not
    break the program being recorded."""
    if _watch not in sys.meta_path:
        return
    sys.meta_path.remove(_watch)
    try:
        from streamtest._record_child import start
    except Exception as exc:
        _note(f"not recorded: {sys.executable} cannot import streamtest ({exc}).")
        return
    try:
        start()
    except Exception as exc:
        _note(f"not recorded: recording could not start ({type(exc).__name__}: {exc}).")


def _note(message: str) -> None:
    """Leave ``message`` for the parent's report (or, when the run is over, say it now)."""
    line = f"process {os.getpid()} ({os.path.basename(sys.executable)}): {message}"
    try:
        path = os.path.join(os.environ["STREAMTEST_RECORD_RUN"], f"note-{os.getpid()}")
        with open(path, "a") as note:
            note.write(line + "\n")
    except OSError:
        sys.stderr.write(f"streamtest record: {line}\n")


def _chain() -> None:
    """Import the ``sitecustomize`` this one hides, if there is one (``site`` reports its
    errors as it would have), and take this folder off ``sys.path``."""
    sys.path[:] = [p for p in sys.path if os.path.normcase(os.path.abspath(p or ".")) != _HERE]
    ours = sys.modules.pop("sitecustomize", None)
    if ours is not None:  # keep it (and so the watch's globals) alive under another name
        sys.modules["_streamtest_record_bootstrap"] = ours
    try:
        __import__("sitecustomize")  # the next one on sys.path
    except ImportError as exc:
        if exc.name != "sitecustomize":
            raise
        if ours is not None:  # no other: the import of this one must find it when it ends
            sys.modules["sitecustomize"] = ours


def _start() -> None:
    run = os.environ.get("STREAMTEST_RECORD_RUN")
    if not run:
        return
    try:  # counted by the parent, to tell "no Python ran" from "Python sent no request"
        os.close(os.open(os.path.join(run, f"started-{os.getpid()}"), os.O_CREAT | os.O_WRONLY))
    except OSError:
        return  # the run is over (a process the command left behind): record nothing
    sys.meta_path.insert(0, _watch)
    if any(name in sys.modules for name in _WATCHED):  # imported by a .pth file already
        _hand_over()


if __name__ == "sitecustomize":  # not when imported as streamtest._cli._bootstrap.sitecustomize
    _start()
    _chain()
