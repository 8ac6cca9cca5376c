"""Terminal conventions shared by every command: colour only on a terminal, progress only on a
terminal, one line per user mistake, and the exit codes.

Hand-written rather than ``rich``/``tqdm``: the CLI needs a dozen lines of each, and the core
package depends on neither.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator
from typing import IO, NoReturn, TypeVar

T = TypeVar("T")

OK, PROBLEM, USAGE = 0, 1, 2
"""Exit codes: all is well / the command found a problem / the command was used wrongly."""

_STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def colour_on(stream: IO[str]) -> bool:
    """Colour only on a terminal, never with ``NO_COLOR``, always with ``FORCE_COLOR``."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


def paint(text: str, style: str, stream: IO[str] | None = None) -> str:
    """``text`` in ``style`` (a key of the styles above) when ``stream`` shows colour."""
    if not colour_on(stream or sys.stdout):
        return text
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"


def fail(command: str, message: str, code: int = PROBLEM) -> int:
    """Print one line ``streamtest COMMAND: MESSAGE`` on stderr and return ``code``."""
    prefix = f"streamtest {command}: " if command else "streamtest: "
    print(paint(prefix, "red", sys.stderr) + message, file=sys.stderr)
    return code


def progress(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    """Yield ``items``, drawing ``label [#####     ] 3/10`` on stderr when it is a terminal
    and there is more than one item; nothing otherwise (pipes and CI logs stay clean)."""
    show = total > 1 and sys.stderr.isatty()
    width = 24
    for done, item in enumerate(items, 1):
        yield item
        if show:
            filled = width * done // total
            bar = "#" * filled + " " * (width - filled)
            end = "\n" if done == total else ""
            print(f"\r{label} [{bar}] {done}/{total}", end=end, file=sys.stderr, flush=True)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line naming the fix, exit code 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("streamtest").strip()
        where = f"streamtest {command}" if command else "streamtest"
        fail(command, f"{message} (see {where} --help)", USAGE)
        sys.exit(USAGE)
