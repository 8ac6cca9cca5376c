"""Options shared by several commands."""

from __future__ import annotations

import argparse

from .._core.clock import Timing
from .._core.faults import Fault
from .._core.faulttext import FAULT_HELP, parse_fault


def add_pacing(command: argparse.ArgumentParser) -> None:
    """--speed / --instant and --untimed-gap, for the commands that replay."""
    pace = command.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0, help="speed factor (default 1)")
    pace.add_argument("--instant", action="store_true", help="no waiting between chunks")
    command.add_argument(
        "--untimed-gap",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="gap between chunks whose timing is unknown (imported from vcrpy); default 0",
    )


def add_faults(command: argparse.ArgumentParser) -> None:
    """--fault, for the commands that replay (see `streamtest._core.faults`)."""
    command.add_argument(
        "--fault", action="append", default=[], metavar="FAULT", type=_fault, help=FAULT_HELP
    )


def _fault(spec: str) -> Fault:
    try:
        return parse_fault(spec)
    except ValueError as exc:  # argparse shows an ArgumentTypeError's message as it is
        raise argparse.ArgumentTypeError(str(exc)) from None


def check_pacing(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Timing:
    """The timing the pacing options ask for; a bad value is a usage error."""
    if not args.speed > 0:
        parser.error("--speed must be a positive number")
    if not args.untimed_gap >= 0:
        parser.error("--untimed-gap must be zero or a positive number of seconds")
    return Timing.INSTANT if args.instant else Timing.REALTIME


def examples(*lines: str) -> str:
    """An epilog listing example command lines."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)
