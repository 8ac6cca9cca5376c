"""The contract between the wire and a session: a live request is either replayed or recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .._core.clock import Pacer
from .._core.model import Request, Response
from .._core.recording import Recording


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Replay:
    """Answer the request with ``response``, paced by ``pacer``; ``origin`` names where it is
    recorded (for error messages). ``stalls`` are injected pauses (seconds before chunk number
    ``index``, see `streamtest._core.faults`); ``release`` is called when an injected stall ends
    in the client's timeout, so the recording stays unplayed for a retry."""

    response: Response
    pacer: Pacer
    origin: str
    stalls: tuple[tuple[int, float], ...] = ()
    release: Callable[[], None] = _nothing


class Router(Protocol):
    """A session as the wire sees it."""

    def route(self, request: Request) -> Replay | Recording:
        """Replay or record ``request``; raise `UnmatchedRequestError` when neither may happen."""
        ...
