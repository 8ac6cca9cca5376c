"""Which provider API an interaction speaks: by URL path first, by event shapes as a fallback.

The path is decisive for the official endpoints and for the many servers that copy them
(Azure's ``/openai/deployments/x/chat/completions``, OpenRouter, Groq, Mistral, vLLM, Ollama's
OpenAI-compatible ``/v1/...``). Shapes cover proxies and gateways with their own paths, and
Bedrock's ``invoke-with-response-stream`` once its payloads are unwrapped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from .types import ProviderEvent

_PATHS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"/chat/completions/?$"), "openai-chat"),
    # Creating a response, or retrieving one (``GET /responses/{id}?stream=true``).
    (re.compile(r"/responses(/[^/]+)?/?$"), "openai-responses"),
    # ``/v1/threads/{id}/messages`` is OpenAI's Assistants API, not Anthropic's.
    (re.compile(r"^(?!.*/threads/).*/messages/?$"), "anthropic-messages"),
    (re.compile(r":(stream)?generatecontent$", re.IGNORECASE), "gemini"),
    (re.compile(r"/api/(chat|generate)/?$"), "ollama"),
)
_ANTHROPIC_TYPES = frozenset(
    {
        "message",
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    }
)
_SHAPE_LOOKAHEAD = 20  # events enough to see past pings, comments and a leading error


def api_from_url(url: str) -> str | None:
    """The API ``url``'s path belongs to, or None when the path does not say."""
    path = urlsplit(url).path
    for pattern, api in _PATHS:
        if pattern.search(path):
            return api
    return None


def api_from_events(events: Iterable[ProviderEvent]) -> str:
    """The API whose event shapes these are, or ``"unknown"``."""
    for seen, event in enumerate(events):
        if seen >= _SHAPE_LOOKAHEAD:
            break
        api = _api_of(event)
        if api is not None:
            return api
    return "unknown"


def _api_of(event: ProviderEvent) -> str | None:
    kind, data = event.type, event.data
    if kind.startswith("chat.completion"):
        return "openai-chat"
    if kind.startswith("response.") or kind == "response":
        return "openai-responses"
    if kind in _ANTHROPIC_TYPES:
        return "anthropic-messages"
    if not isinstance(data, dict):
        return None
    if "candidates" in data or "usageMetadata" in data or "promptFeedback" in data:
        return "gemini"
    if "done" in data and "created_at" in data and ("message" in data or "response" in data):
        return "ollama"
    if isinstance(data.get("choices"), list):  # OpenAI-compatible servers that omit "object"
        return "openai-chat"
    return None
