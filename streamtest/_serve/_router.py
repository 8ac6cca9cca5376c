"""Which recorded interaction answers a request sent to the replay server, across cassettes."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from .._core.clock import Clock, Timing
from .._core.errors import UnmatchedRequestError
from .._core.faults import Fault, Injector
from .._core.matching import Matcher, closest
from .._core.model import Cassette, Request
from .._session import Session, use_cassette
from .._wire.routing import Replay

SERVE_MATCH_ON = ("method", "path", "query", "body")
"""The server's default matchers: no ``url``, as the scheme, host and port of the recording
(``api.openai.com``, a loopback server) differ from those of the client pointed at the server."""

SERVE_FIX = (
    "streamtest serve only replays: record the request into one of the served cassettes with "
    'use_cassette (record_mode="new_episodes" or "all"), then restart the server.'
)


def cassette_paths(sources: Iterable[str | Path]) -> list[Path]:
    """The cassette files to serve: each file as given, and every ``*.jsonl`` under each folder
    (sorted), without repeats; `FileNotFoundError` for a missing path or a folder with none."""
    found: dict[Path, None] = {}
    for source in map(Path, sources):
        if source.is_dir():
            files = sorted(p for p in source.rglob("*.jsonl") if p.is_file())
            if not files:
                raise FileNotFoundError(f"The folder {source} holds no cassette files (*.jsonl).")
            found.update(dict.fromkeys(files))
        elif source.is_file():
            found[source] = None
        else:
            raise FileNotFoundError(f"The cassette {source} does not exist.")
    if not found:
        raise FileNotFoundError("No cassette was given to serve.")
    return list(found)


class CassetteRouter:
    """Routes each request to the first cassette (in the order given) holding an unplayed match;
    identical requests replay in recorded order. With ``allow_playback_repeats``, a request
    whose matches were all played replays the last match of the first cassette holding one."""

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        timing: Timing | str,
        speed: float,
        untimed_gap: float,
        match_on: Sequence[str | Matcher],
        allow_playback_repeats: bool,
        clock: Clock,
        faults: Sequence[Fault] = (),
    ) -> None:
        # Sessions of record mode "none" never record and never touch the network. They are
        # built without repeats: a repeat is only wanted once no cassette has a fresh match.
        self.sessions = [
            use_cassette(
                path,
                record_mode="none",
                timing=timing,
                speed=speed,
                untimed_gap=untimed_gap,
                match_on=match_on,
                allow_playback_repeats=False,
                clock=clock,
            ).session()
            for path in paths
        ]
        # One injector for every cassette: `skip` and `times` count the server's replays.
        shared = Injector(faults) if faults else None
        for session in self.sessions:
            session.injector = shared
        self.repeats = allow_playback_repeats
        self._lock = threading.Lock()  # guards the sessions' `repeats` switch

    @property
    def cassettes(self) -> tuple[Cassette, ...]:
        return tuple(session.cassette for session in self.sessions)

    def route(self, request: Request) -> Replay:
        """The replay answering ``request``; else `UnmatchedRequestError` whose message names
        the closest recorded request across all cassettes."""
        with self._lock:
            misses: list[tuple[float, UnmatchedRequestError, Session]] = []
            for session in self.sessions:
                try:
                    return _replay(session, request)
                except UnmatchedRequestError as exc:
                    misses.append((_distance(session, request), exc, session))
            if self.repeats:
                for distance, _, session in misses:
                    if distance == 0:  # it matches, and every match was played already
                        session.repeats = True
                        try:
                            return _replay(session, request)
                        finally:
                            session.repeats = False
        # the fewest differing matchers; the first cassette on a tie
        _, error, _ = min(misses, key=lambda miss: miss[0])
        raise UnmatchedRequestError(f"{error}\n{SERVE_FIX}")


def _replay(session: Session, request: Request) -> Replay:
    try:
        answer = session.route(request)
    except UnmatchedRequestError:
        # A server never closes its sessions, so their list of misses would only grow.
        session.misses.clear()
        raise
    assert isinstance(answer, Replay), "record mode 'none' never records"
    return answer


def _distance(session: Session, request: Request) -> float:
    """How many matchers tell ``request`` from the closest recorded request of ``session``."""
    best = closest(session.scrubber.request(request), session.recorded, session.matchers)
    return math.inf if best is None else len(best[1])
