"""streamtest: record and replay streaming LLM traffic chunk by chunk, with timing.

Importing streamtest loads only the standard library and msgspec; the HTTP stacks are imported
when a cassette is first used, and adapters import their library on first use.
"""

from __future__ import annotations

import typing as _typing

from ._core.clock import Clock, RealClock, Timing
from ._core.errors import (
    CassetteError,
    IncompleteRecordingError,
    RecordedStreamError,
    StreamtestError,
    StreamtestWarning,
    UnencodableItemError,
    UnmatchedRequestError,
    UnmatchedStreamError,
)
from ._core.faults import Cut, ErrorStatus, Fault, Rechunk, Stall
from ._core.faulttext import parse_fault
from ._core.fileformat import FORMAT_VERSION
from ._core.matching import BUILTIN_MATCHERS, DEFAULT_MATCH_ON, Matcher
from ._core.model import (
    Cassette,
    Chunk,
    End,
    Interaction,
    Item,
    ObjectStream,
    Request,
    Response,
    StreamError,
)
from ._core.modes import RecordMode
from ._core.redaction import Redaction
from ._objects import Codec, record_stream, register_codec, register_type, replay_stream
from ._providers import (
    Aggregate,
    ProviderError,
    ProviderEvent,
    ToolCall,
    aggregate,
    detect_api,
    provider_events,
)
from ._session import load_cassette, use_cassette
from ._vcr_import import import_vcr
from ._version import __version__

if _typing.TYPE_CHECKING:
    from ._serve import ReplayServer


def __getattr__(name: str) -> _typing.Any:
    # The replay server loads http.server: only when asked for, so `import streamtest` stays light.
    if name == "ReplayServer":
        from ._serve import ReplayServer

        return ReplayServer
    raise AttributeError(f"module 'streamtest' has no attribute {name!r}")


__all__ = [
    "BUILTIN_MATCHERS",
    "DEFAULT_MATCH_ON",
    "FORMAT_VERSION",
    "Aggregate",
    "Cassette",
    "CassetteError",
    "Chunk",
    "Clock",
    "Codec",
    "Cut",
    "End",
    "ErrorStatus",
    "Fault",
    "IncompleteRecordingError",
    "Interaction",
    "Item",
    "Matcher",
    "ObjectStream",
    "ProviderError",
    "ProviderEvent",
    "RealClock",
    "Rechunk",
    "RecordMode",
    "RecordedStreamError",
    "Redaction",
    "ReplayServer",
    "Request",
    "Response",
    "Stall",
    "StreamError",
    "StreamtestError",
    "StreamtestWarning",
    "Timing",
    "ToolCall",
    "UnencodableItemError",
    "UnmatchedRequestError",
    "UnmatchedStreamError",
    "__version__",
    "aggregate",
    "detect_api",
    "import_vcr",
    "load_cassette",
    "parse_fault",
    "provider_events",
    "record_stream",
    "register_codec",
    "register_type",
    "replay_stream",
    "use_cassette",
]
