"""The records of chunk cassette format v1, as msgspec Structs (see `fileformat` for the format).

Reading decodes every line into the one `Line` shape; writing builds the same Structs (and the
faster two-field `TextChunk` for the common chunk line). None of them is tracked by the cyclic
garbage collector (``gc=False``): they hold decoded JSON and strings, which cannot refer back
to them, and a load or save makes one per line.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from .model import Request, StreamError, parse_json

FORMAT_VERSION = 1
FIX_RERECORD = (
    "Restore it from version control, or delete it and record it again "
    '(record_mode="all" or --streamtest-record-mode=all).'
)


class RequestRecord(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True, gc=False):
    method: str
    url: str
    headers: list[tuple[str, str]] = []
    json: Any = msgspec.UNSET
    text: str | None = None
    b64: bytes | None = None


class ResponseRecord(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True, gc=False):
    status: int
    t: float = 0.0
    headers: list[tuple[str, str]] = []
    timing: str | None = None  # "unknown", or absent when the offsets were measured


class StreamRecord(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True, gc=False):
    name: str
    key: Any = None


class Line(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True, gc=False):
    """Every record kind shares this one shape, so each line decodes in a single typed pass."""

    streamtest: int | None = None
    recorded_with: str | None = None
    request: RequestRecord | None = None
    response: ResponseRecord | None = None
    t: float | None = None
    text: str | None = None
    b64: bytes | None = None
    end: str | None = None
    chunks: int | None = None
    items: int | None = None
    error: StreamError | None = None
    stream: StreamRecord | None = None
    item: Any = msgspec.UNSET  # JSON null is a legitimate item, so absence is UNSET


class TextChunk(msgspec.Struct, gc=False):
    """A timed UTF-8 chunk line: encodes exactly as ``Line(t=..., text=...)``, built faster."""

    t: float
    text: str


def request_record(request: Request) -> RequestRecord:
    record = RequestRecord(request.method, request.url, list(request.headers))
    parsed = parse_json(request.body)
    try:
        strict = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        same = strict.encode() == request.body
    except (ValueError, UnicodeEncodeError):  # NaN/Infinity, lone surrogates: keep verbatim
        same = False
    # Readable JSON only when loading gives back the same bytes; any other body (pretty-printed,
    # imported from vcrpy, ...) is kept verbatim as text, so every body round-trips exactly.
    if parsed is not None and same:
        record.json = parsed
    elif request.body:
        try:
            record.text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            record.b64 = request.body
    return record


def _compact_json(value: Any) -> bytes:
    """The compact form httpx and the openai/anthropic SDKs send."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def request_body(record: RequestRecord) -> bytes:
    if record.json is not msgspec.UNSET:
        return _compact_json(record.json)
    if record.text is not None:
        return record.text.encode("utf-8")
    return record.b64 or b""
