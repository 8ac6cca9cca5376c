"""Reading errors the way providers write them, into `ProviderError`.

Shapes seen in real traffic: ``{"error": {"message", "type", "code"}}`` (OpenAI, Groq,
OpenRouter, whose ``code`` may be a number), ``{"type": "error", "error": {"type",
"message"}}`` (Anthropic), ``{"error": {"code": 400, "message", "status"}}`` (Gemini),
``{"error": "text"}`` (Ollama), ``{"type": "error", "code", "message"}`` (OpenAI Responses),
and for HTTP errors ``{"message"}`` (AWS).
The most specific name wins: a string ``code`` (``"tool_use_failed"``) over a ``type``
(``"invalid_request_error"``) over a ``status`` (``"INVALID_ARGUMENT"``); a number only when no
string names it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .._core.model import StreamError
from .types import ProviderError, ProviderEvent

_MESSAGE_LIMIT = 2000  # an HTML error page is evidence, not something to snapshot whole


def error_name(obj: dict[str, Any], keys: Sequence[str] = ("code", "type", "status")) -> str | None:
    """The most specific error name in ``obj`` (see the module docstring), or None."""
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    for key in keys:
        value = obj.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


def error_from_object(obj: Any) -> ProviderError | None:
    """The error an event or body reports, or None when it is not an error."""
    if isinstance(obj, list):
        for element in obj:
            if (found := error_from_object(element)) is not None:
                return found
        return None
    if not isinstance(obj, dict):
        return None
    error = obj.get("error")
    if isinstance(error, dict):
        return ProviderError(error_name(error), _message(error.get("message"), error))
    if isinstance(error, str) and error:
        return ProviderError(None, error)
    if obj.get("type") == "error":  # OpenAI Responses puts the fields on the event itself
        return ProviderError(error_name(obj, ("code",)), _message(obj.get("message"), obj))
    return None


def http_error(status: int, events: list[ProviderEvent]) -> ProviderError:
    """The error an HTTP error response reports: the body's error object when it has one."""
    for event in events:
        found = error_from_object(event.data)
        if found is not None:
            return ProviderError(found.type or f"http_{status}", found.message)
    for event in events:
        # AWS (Bedrock) answers {"message": ...}, naming the type only in a header, if at all.
        data = event.data if isinstance(event.data, dict) else {}
        message = data.get("message", data.get("Message"))
        if isinstance(message, str) and message:
            name = error_name(data, ("__type", "code", "type"))
            return ProviderError(name or f"http_{status}", message)
    text = "".join(
        event.data if isinstance(event.data, str) else json.dumps(event.data)
        for event in events
        if event.type != "comment"
    ).strip()
    return ProviderError(f"http_{status}", text[:_MESSAGE_LIMIT] or f"HTTP status {status}.")


def transport_error(error: StreamError) -> ProviderError:
    return ProviderError(error.type, error.message)


def _message(message: Any, whole: dict[str, Any]) -> str:
    if isinstance(message, str) and message:
        return message
    return json.dumps(whole, sort_keys=True)[:_MESSAGE_LIMIT]
