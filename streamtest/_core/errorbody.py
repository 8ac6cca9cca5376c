"""The JSON body of an error answered in place of a recording, shaped so the SDK of the API it
was sent to shows the message: Anthropic's error envelope for ``/v1/messages``, else OpenAI's
(which the other OpenAI-compatible SDKs read too)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

_ANTHROPIC_ROUTE = re.compile(r"(^|/)v1/messages(/|$)")
# Anthropic's documented error types by HTTP status (https://docs.anthropic.com/en/api/errors).
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def error_body(url: str, message: str, *, status: int, code: str | None = None) -> dict[str, Any]:
    """The error answer to a request for ``url`` (a full URL or a path) with HTTP ``status``."""
    if _ANTHROPIC_ROUTE.search(urlsplit(url).path):
        kind = _ANTHROPIC_TYPES.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )
        return {"type": "error", "error": {"type": kind, "message": message}}
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
