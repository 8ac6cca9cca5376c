"""Provider views of recorded responses: which API an interaction speaks, its events as that
API names them, and what the response added up to.

    detect_api(request, response)  -> "openai-chat" | "openai-responses" | "anthropic-messages"
                                      | "gemini" | "ollama" | "unknown"
    provider_events(interaction)   -> [ProviderEvent(type, data), ...]
    aggregate(interaction)         -> Aggregate(text, reasoning, tool_calls, usage, error, ...)

Streamed and non-streamed responses of an API give the same `Aggregate` (``streamed`` tells
them apart). Where an SDK has an accumulator it does the joining (openai's chat and Responses
stream states, anthropic's ``accumulate_event``); Gemini and Ollama have none, so ours does.
The SDKs are imported on first use, never by ``import streamtest``.

Errors come, in this order of precedence: an HTTP error status (with the body's error
object), an error inside the stream, the recorded transport error, and last a body the
framing could not decode to the end (unless the client closed the stream early, which cuts
it anywhere).
"""

from __future__ import annotations

from collections.abc import Callable

from .._core.framing import Event, decode_response
from .._core.model import Interaction, Request, Response
from .anthropic import aggregate_anthropic
from .decode import provider_events_of
from .detect import api_from_events, api_from_url
from .errors import http_error, transport_error
from .gemini import aggregate_gemini
from .ollama import aggregate_ollama
from .openai_chat import aggregate_chat
from .openai_responses import aggregate_responses
from .types import API_NAMES, Aggregate, Draft, ProviderError, ProviderEvent, ToolCall

__all__ = [
    "API_NAMES",
    "Aggregate",
    "ProviderError",
    "ProviderEvent",
    "ToolCall",
    "aggregate",
    "detect_api",
    "provider_events",
]

_AGGREGATORS: dict[str, Callable[[list[ProviderEvent], Draft], None]] = {
    "openai-chat": aggregate_chat,
    "openai-responses": aggregate_responses,
    "anthropic-messages": aggregate_anthropic,
    "gemini": aggregate_gemini,
    "ollama": aggregate_ollama,
}


def _api(url: str, events: tuple[Event, ...]) -> str:
    """By the URL path, else by the events' shapes, else ``"unknown"``; the URL is free, so
    the events are parsed for this only when it says nothing."""
    return api_from_url(url) or api_from_events(provider_events_of(events, ""))


def detect_api(request: Request, response: Response) -> str:
    """The API this exchange speaks: by the request's URL path, else by the response's event
    shapes, else ``"unknown"``."""
    if (api := api_from_url(request.url)) is not None:
        return api
    return _api(request.url, decode_response(response, url=request.url).events)


def provider_events(interaction: Interaction) -> list[ProviderEvent]:
    """The response's events, parsed and named as its API names them (see `ProviderEvent`)."""
    url = interaction.request.url
    events = decode_response(interaction.response, url=url).events
    return provider_events_of(events, _api(url, events))


def aggregate(interaction: Interaction) -> Aggregate:
    """What the response added up to: text, reasoning, tool calls, usage, finish reason, error.

    Raises `StreamtestError` when the API's SDK, needed to aggregate it, is not installed.
    """
    request, response = interaction.request, interaction.response
    decoded = decode_response(response, url=request.url)
    api = _api(request.url, decoded.events)
    events = provider_events_of(decoded.events, api)
    draft = Draft()
    if response.status >= 400:
        draft.fail(http_error(response.status, events))
    elif api in _AGGREGATORS:
        _AGGREGATORS[api](events, draft)
    if response.error is not None:
        draft.fail(transport_error(response.error))
    # A client that closed the stream early cut it wherever it was: that is not an error.
    if decoded.error is not None and not response.closed:
        draft.fail(ProviderError(type(decoded.error).__name__, str(decoded.error)))
    streamed = decoded.streamed and response.status < 400
    return draft.freeze(api=api, streamed=streamed, events=decoded.data_events)
