"""From decoded events to `ProviderEvent`s: parse each event the way its API does.

The events come from the core's ``decode_response``, which keeps every event before a cut (a
recorded transport error, a client that closed early) and sets the framing error aside rather
than raising it: an aggregate of a broken stream is exactly what a test wants to look at.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .._core.framing import Event
from .types import ProviderEvent


def provider_events_of(events: tuple[Event, ...] | list[Event], api: str) -> list[ProviderEvent]:
    """Name and parse each event the way ``api`` does (see `ProviderEvent` for the names)."""
    out: list[ProviderEvent] = []
    for event in events:
        if event.comment is not None:
            out.append(ProviderEvent("comment", event.comment))
        if event.data is None:
            continue
        if event.data.strip() == "[DONE]":
            out.append(ProviderEvent("[DONE]", "[DONE]"))
            continue
        data = event.json()
        if data is None:  # not JSON (or a bare null): keep the text
            out.append(ProviderEvent(event.event or "raw", event.data))
            continue
        unwrapped = _bedrock_payload(event, data)
        if unwrapped is not None:
            out.append(ProviderEvent(_json_type(unwrapped, api), unwrapped))
        elif event.event and event.event != "message":
            out.append(ProviderEvent(event.event, data))
        else:
            out.append(ProviderEvent(_json_type(data, api), data))
    return out


def _json_type(data: Any, api: str) -> str:
    if not isinstance(data, dict):
        return "raw"
    kind = data.get("type")
    if isinstance(kind, str) and kind:
        return kind
    if data.get("error"):  # many objects carry "error": null
        return "error"
    kind = data.get("object")
    if isinstance(kind, str) and kind:
        return kind
    if api == "ollama" and data.get("done") is True:
        return "done"
    return "chunk"


def _bedrock_payload(event: Event, data: Any) -> Any:
    """Bedrock's ``invoke-with-response-stream`` wraps each provider event, base64-encoded,
    in a ``chunk`` frame as ``{"bytes": ...}``: the inner event is what the model's API sent."""
    if event.event != "chunk" or not isinstance(data, dict):
        return None
    payload = data.get("bytes")
    if not isinstance(payload, str):
        return None
    try:
        return json.loads(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError):
        return None
