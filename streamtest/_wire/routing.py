"""The contract between the wire and a session: a live request is either replayed or recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .._core.clock import Pacer
from .._core.model import Request, Response
from .._core.recording import Recording


@dataclass(frozen=True, slots=True)
class Replay:
    """Answer the request with ``response``, paced by ``pacer``; ``origin`` names where it is
    recorded (for error messages)."""

    response: Response
    pacer: Pacer
    origin: str


class Router(Protocol):
    """A session as the wire sees it."""

    def route(self, request: Request) -> Replay | Recording:
        """Replay or record ``request``; raise `UnmatchedRequestError` when neither may happen."""
        ...
