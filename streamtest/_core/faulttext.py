"""The text form of faults: ``kind=value,key=value`` (``cut=3,error=timeout,times=1``), as the
pytest marker, ``--streamtest-fault``, ``streamtest replay --fault``, ``streamtest serve --fault``
and the ``STREAMTEST_FAULTS`` variable (forms separated by ``;``) take them; the values
themselves are in `streamtest._core.faults`."""

from __future__ import annotations

import os
from collections.abc import Iterable

from .faults import Cut, ErrorStatus, Fault, Rechunk, Stall


def faults_of(faults: Fault | str | Iterable[Fault | str] | None) -> tuple[Fault, ...]:
    """``faults`` (one or several values, or strings for `parse_fault`) as a tuple of values;
    a ValueError or TypeError for one that is not a fault."""
    if faults is None:
        return ()
    if isinstance(faults, str | Fault):
        faults = [faults]
    parsed = [parse_fault(f) if isinstance(f, str) else f for f in faults]
    for fault in parsed:
        if not isinstance(fault, Fault):
            raise TypeError(
                f"{fault!r} is not a fault: pass Rechunk, Cut, Stall or ErrorStatus values, "
                "strings such as 'cut=3,error=reset', or objects with skip, times and reshape."
            )
    return tuple(parsed)


FAULTS_VARIABLE = "STREAMTEST_FAULTS"


def environment_faults() -> tuple[Fault, ...]:
    """The faults in ``STREAMTEST_FAULTS`` (text forms separated by ``;``), which every
    `use_cassette` adds to its own; pytest's ``--streamtest-fault`` sets it for its run."""
    text = os.environ.get(FAULTS_VARIABLE, "")
    try:
        return tuple(parse_fault(spec) for spec in text.split(";") if spec.strip())
    except ValueError as exc:
        raise ValueError(f"The environment variable {FAULTS_VARIABLE} is wrong: {exc}") from None


FAULT_FORMS = (
    "rechunk=bytes | rechunk=whole | rechunk=random[,seed=N][,max=BYTES]",
    "cut=N[,error=reset|timeout|incomplete]",
    "stall=N,seconds=S",
    "status=CODE[,retry_after=S]",
)
FAULT_HELP = (
    "inject a fault into every replayed response: "
    + "; ".join(FAULT_FORMS)
    + "; add skip=N and times=N to pick which replays (repeatable)"
)


def parse_fault(spec: str) -> Fault:
    """A fault from its text form: ``kind=value`` then ``key=value`` pairs, comma-separated,
    e.g. ``cut=3,error=timeout,times=1`` (`FAULT_FORMS` lists them)."""
    pairs: list[tuple[str, str]] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, equals, value = part.partition("=")
        if not equals or not key.strip() or not value.strip():
            raise _bad(spec, f"{part!r} is not key=value")
        pairs.append((key.strip().lower(), value.strip()))
    if not pairs:
        raise _bad(spec, "it is empty")
    (kind, main), options = pairs[0], dict(pairs[1:])
    if len(options) != len(pairs) - 1:
        raise _bad(spec, "a key is given twice")
    try:
        skip = int(options.pop("skip", "0"))
        times = int(options.pop("times")) if "times" in options else None
        fault = _build(kind, main, options, skip, times)
    except (ValueError, TypeError) as exc:
        raise _bad(spec, str(exc).rstrip(".")) from None
    if options:
        raise _bad(spec, f"{kind} takes no {', '.join(sorted(options))}")
    return fault


def _build(kind: str, main: str, options: dict[str, str], skip: int, times: int | None) -> Fault:
    """The fault ``kind`` from its text arguments; each is checked by the fault itself."""
    if kind == "rechunk":
        seed, size = int(options.pop("seed", "0")), int(options.pop("max", "64"))
        return Rechunk(main, seed, size, skip=skip, times=times)  # type: ignore[arg-type]
    if kind == "cut":
        error = options.pop("error", "reset")
        return Cut(int(main), error, skip=skip, times=times)  # type: ignore[arg-type]
    if kind == "stall":
        if "seconds" not in options:
            raise ValueError("stall needs seconds=S, the length of the pause")
        return Stall(int(main), float(options.pop("seconds")), skip=skip, times=times)
    if kind == "status":
        after = options.pop("retry_after", None)
        retry = None if after is None else float(after)
        return ErrorStatus(int(main), retry_after=retry, skip=skip, times=times)
    raise ValueError(f"the kind {kind!r} is not rechunk, cut, stall or status")


def _bad(spec: str, why: str) -> ValueError:
    return ValueError(
        f"The fault {spec!r} cannot be read: {why}. Write one of: {'; '.join(FAULT_FORMS)} "
        "(add skip=N and times=N to pick which replays)."
    )
