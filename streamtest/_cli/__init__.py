"""The ``streamtest`` command line.

One module per command, each with ``register(commands)`` adding its parser and setting its
``run(args, parser) -> exit code``. The conventions every command follows live in ``_term``:
exit codes 0 (ok), 1 (found a problem), 2 (usage error); a user mistake is one line on stderr,
never a traceback; colour and progress bars only on a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .._core.errors import StreamtestError
from .._version import __version__
from . import _diff, _import_vcr, _record, _replay, _scrub, _serve_command, _show
from ._term import PROBLEM, USAGE, Parser, fail

COMMANDS = (_record, _show, _replay, _diff, _scrub, _import_vcr, _serve_command)


def parser() -> Parser:
    """The whole command line's parser."""
    root = Parser(
        prog="streamtest",
        description="Chunk cassettes for streaming LLM traffic: record, inspect, compare, "
        "clean and replay them. `streamtest COMMAND --help` shows each command's options and "
        "examples.",
    )
    root.add_argument("--version", action="version", version=f"streamtest {__version__}")
    commands = root.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.register(commands)
    for name, command_parser in commands.choices.items():
        command_parser.set_defaults(parser=command_parser, command=name)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args, args.parser)
    except StreamtestError as exc:
        # A cassette problem: the message names the file, the place and the fix.
        return fail(args.command, str(exc), PROBLEM)
    except FileNotFoundError as exc:
        return fail(args.command, f"{exc.filename or exc}: no such file.", USAGE)
    except KeyboardInterrupt:
        return fail(args.command, "interrupted.", PROBLEM)
    return code


if __name__ == "__main__":
    sys.exit(main())
