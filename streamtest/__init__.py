"""streamtest: record and replay streaming LLM traffic chunk by chunk, with timing.

Importing streamtest loads only the standard library and msgspec; the HTTP stacks are imported
when a cassette is first used, and adapters import their library on first use.
"""

from __future__ import annotations

from ._core.clock import Clock, RealClock, Timing
from ._core.errors import (
    CassetteError,
    IncompleteRecordingError,
    StreamtestError,
    UnmatchedRequestError,
)
from ._core.fileformat import FORMAT_VERSION
from ._core.matching import BUILTIN_MATCHERS, DEFAULT_MATCH_ON, Matcher
from ._core.model import Cassette, Chunk, End, Interaction, Request, Response, StreamError
from ._core.modes import RecordMode
from ._core.redaction import Redaction
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

__all__ = [
    "BUILTIN_MATCHERS",
    "DEFAULT_MATCH_ON",
    "FORMAT_VERSION",
    "Aggregate",
    "Cassette",
    "CassetteError",
    "Chunk",
    "Clock",
    "End",
    "IncompleteRecordingError",
    "Interaction",
    "Matcher",
    "ProviderError",
    "ProviderEvent",
    "RealClock",
    "RecordMode",
    "Redaction",
    "Request",
    "Response",
    "StreamError",
    "StreamtestError",
    "Timing",
    "ToolCall",
    "UnmatchedRequestError",
    "__version__",
    "aggregate",
    "detect_api",
    "import_vcr",
    "load_cassette",
    "provider_events",
    "use_cassette",
]
