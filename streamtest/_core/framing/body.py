"""Whole-body helpers: which framing a response uses, its events, and cutting it per event.

Framing is chosen from the ``Content-Type`` first, then from the decompressed start of the body
and the URL where the type alone is ambiguous: Gemini's ``:streamGenerateContent`` without
``alt=sse`` is ``application/json`` but streams a JSON array, element by element.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import StreamtestError
from ..model import Response
from .content import ContentDecoder
from .event import Decoder, Event, Framing, FramingError, JSONDecoder, RawDecoder
from .eventstream import EventStreamDecoder
from .jsonarray import JSONArrayDecoder
from .ndjson import NDJSONDecoder
from .sse import SSEDecoder

_NDJSON_TYPES = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"}
)
_SSE_STARTS = (b"data:", b"event:", b"id:", b"retry:", b":")
_HEAD = 4096  # how much of the decompressed body framing detection looks at


def detect_framing(content_type: str | None, head: bytes, *, url: str = "") -> Framing:
    """The framing of a body with this ``Content-Type``, decompressed start and request URL."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "text/event-stream":
        return Framing.SSE
    if media in _NDJSON_TYPES:
        return Framing.NDJSON
    if media == "application/vnd.amazon.eventstream":
        return Framing.EVENTSTREAM
    if media == "application/json" or media.endswith("+json"):
        streamed = "stream" in urlsplit(url).path.lower()
        return Framing.JSON_ARRAY if streamed and head.lstrip()[:1] == b"[" else Framing.JSON
    if not media and head.removeprefix(b"\xef\xbb\xbf").startswith(_SSE_STARTS):
        return Framing.SSE
    return Framing.RAW


def decoder_for(framing: Framing) -> Decoder:
    """A new incremental decoder for ``framing``."""
    decoders: dict[Framing, type[Decoder]] = {
        Framing.SSE: SSEDecoder,
        Framing.NDJSON: NDJSONDecoder,
        Framing.JSON_ARRAY: JSONArrayDecoder,
        Framing.EVENTSTREAM: EventStreamDecoder,
        Framing.JSON: JSONDecoder,
        Framing.RAW: RawDecoder,
    }
    return decoders[framing]()


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """A response's events, the framing they came in, and the error that stopped decoding early
    (None when the body decoded to the end). The events before the error are all kept."""

    framing: Framing
    events: tuple[Event, ...]
    error: StreamtestError | None = None

    @property
    def streamed(self) -> bool:
        return self.framing in STREAMED_FRAMINGS

    @property
    def data_events(self) -> int:
        return sum(1 for event in self.events if event.data is not None)


STREAMED_FRAMINGS = frozenset(
    {Framing.SSE, Framing.NDJSON, Framing.JSON_ARRAY, Framing.EVENTSTREAM}
)


def _decompressed(response: Response) -> tuple[list[bytes], StreamtestError | None]:
    pieces: list[bytes] = []
    try:
        content = ContentDecoder(response.header("content-encoding"))
        for chunk in response.chunks:
            pieces.append(content.decode(chunk.data))
        pieces.append(content.flush())
    except StreamtestError as exc:  # corrupt, or an encoding (br, zstd) that cannot be undone
        return pieces, exc
    return pieces, None


def _head(pieces: list[bytes]) -> bytes:
    head = bytearray()
    for piece in pieces:
        head += piece
        if len(head) >= _HEAD:
            break
    return bytes(head)


def decode_response(response: Response, *, url: str = "") -> DecodedBody:
    """Every event of a recorded response, never raising for a bad body: decompressed, framed
    by its headers, body and URL, decoded chunk by chunk. A body cut short or corrupt keeps the
    events before the damage and says what stopped it in ``error``."""
    pieces, error = _decompressed(response)
    framing = detect_framing(response.header("content-type"), _head(pieces), url=url)
    decoder = decoder_for(framing)
    events: list[Event] = []
    try:
        for piece in pieces:
            events += decoder.decode(piece)
        if error is None:
            events += decoder.flush()
    except FramingError as exc:
        error = error or exc
    return DecodedBody(framing, tuple(events), error)


def response_events(response: Response, *, url: str = "") -> list[Event]:
    """Every event of a recorded response (see `decode_response`); raises `FramingError` (or
    `StreamtestError` for an unsupported encoding) when the body is malformed."""
    decoded = decode_response(response, url=url)
    if decoded.error is not None:
        raise decoded.error
    return list(decoded.events)


def split_events(
    body: bytes, *, content_type: str | None, content_encoding: str | None, url: str = ""
) -> list[bytes]:
    """Cut a raw body, still compressed if it was, into pieces that end where events end.

    The pieces join back to exactly ``body`` and none is empty. Uncompressed, piece ``k`` ends
    where event ``k`` ends (bytes after the last event join the last piece), so there is one
    piece per event; an SSE comment-only block counts as an event. Compressed, a piece ends at
    the first compressed byte after which the decompressed output holds its event entirely;
    when one compressed byte completes several events they share a piece. A body framed as one
    JSON document or as unknown is one piece.
    """
    if not body:
        return []
    content = ContentDecoder(content_encoding)
    decoded = content.decode(body) + content.flush()
    framing = detect_framing(content_type, decoded[:_HEAD], url=url)
    if framing in (Framing.JSON, Framing.RAW):
        return [body]
    decoder = decoder_for(framing)
    ends = [event.end for event in decoder.decode(decoded) + decoder.flush()]
    cuts = _compressed_cuts(body, ends, content_encoding) if content.encodings else ends
    # One compressed byte may complete several events: they share a piece. The last piece
    # runs to the end, taking whatever follows the last event (a "]", a gzip trailer).
    bounds = [0, *sorted(set(cuts))[:-1], len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds)]


def _compressed_cuts(body: bytes, ends: list[int], content_encoding: str | None) -> list[int]:
    """For each decompressed offset in ``ends``, the first compressed offset whose prefix
    decompresses to at least that many bytes. Feeds zlib one byte at a time: exact, and fast
    enough for recorded bodies (a few microseconds per compressed byte)."""
    content = ContentDecoder(content_encoding)
    cuts: list[int] = []
    produced = 0
    index = 0
    for position in range(len(body)):
        if index == len(ends):
            break
        produced += len(content.decode(body[position : position + 1]))
        while index < len(ends) and ends[index] <= produced:
            cuts.append(position + 1)
            index += 1
    cuts += [len(body)] * (len(ends) - index)  # reached only by flush (not in practice)
    return cuts
