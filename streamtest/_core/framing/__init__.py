"""Stream framing: incremental, I/O-free decoders that cut a response body into events.

SSE, NDJSON, streamed JSON arrays and AWS event-stream frames, plus ``Content-Encoding``
decompression and the helpers that pick a framing and cut a recorded body at event boundaries.
Like httpx's content decoders, each decoder is a ``decode()``/``flush()`` pair.
"""

from __future__ import annotations

from .body import (
    DecodedBody,
    decode_response,
    decoder_for,
    detect_framing,
    response_events,
    split_events,
)
from .content import ContentDecoder
from .event import Decoder, Event, Framing, FramingError, JSONDecoder, RawDecoder
from .eventstream import EventStreamDecoder
from .jsonarray import JSONArrayDecoder
from .ndjson import NDJSONDecoder
from .sse import SSEDecoder

__all__ = [
    "ContentDecoder",
    "DecodedBody",
    "Decoder",
    "Event",
    "EventStreamDecoder",
    "Framing",
    "FramingError",
    "JSONArrayDecoder",
    "JSONDecoder",
    "NDJSONDecoder",
    "RawDecoder",
    "SSEDecoder",
    "decode_response",
    "decoder_for",
    "detect_framing",
    "response_events",
    "split_events",
]
