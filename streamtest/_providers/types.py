"""The values the provider layer returns: `Aggregate` (what a response added up to), its
`ToolCall`s and `ProviderError`, and `ProviderEvent` (one event as the provider's API names it).

All are frozen slots dataclasses holding plain JSON values, so snapshots and CLI output built
from them are stable and never carry SDK objects. `Draft` is the one mutable piece: each API's
aggregator fills one while it walks the events, then `Draft.freeze` turns it into an Aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

API_NAMES = (
    "openai-chat",
    "openai-responses",
    "anthropic-messages",
    "gemini",
    "ollama",
    "unknown",
)
"""Every value `Aggregate.api` and `detect_api` can take."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool the model asked to call (or, for server tools, called itself).

    ``arguments`` is the parsed JSON (usually a dict), or the raw string when it is not valid
    JSON. ``kind`` is ``"function"`` for client tools, else the provider's own name for the
    block (``"server_tool_use"``, ``"web_search_call"``...).
    """

    name: str
    arguments: Any
    id: str | None = None
    kind: str = "function"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments, "id": self.id, "kind": self.kind}


@dataclass(frozen=True, slots=True)
class ProviderError:
    """An error the provider reported in the stream or as an HTTP status, or a recorded
    transport error. ``type`` is the provider's code or type (``"tool_use_failed"``,
    ``"overloaded_error"``), ``"http_<status>"`` when the body names none, or the transport
    error's class name."""

    type: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message}


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One event of a response as its API names it.

    ``type`` is the SSE event name, else the JSON ``type`` or ``object`` field, else
    ``"error"`` for an error object; ``"[DONE]"`` for OpenAI's sentinel, ``"comment"`` for an
    SSE keep-alive comment; Gemini's chunks are ``"chunk"``, Ollama's are ``"chunk"`` until the
    final ``"done"``. ``data`` is the parsed JSON, or the raw text when it is not JSON.
    """

    type: str
    data: Any


@dataclass(frozen=True, slots=True)
class Aggregate:
    """What one response added up to, the same for streamed and non-streamed responses.

    ``reasoning`` is the thinking text (reasoning deltas, thought parts, summaries);
    ``redacted_reasoning`` counts blocks whose reasoning is redacted or encrypted. ``usage`` is
    the provider's own usage object as plain JSON, merged across the events that carry parts
    of it. ``finish_reason`` is the provider's finish_reason / stop_reason / status /
    finishReason / done_reason. ``events`` counts data events (sentinels and pings included,
    comments not).
    """

    api: str
    streamed: bool
    model: str | None = None
    text: str = ""
    reasoning: str = ""
    redacted_reasoning: int = 0
    refusal: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Mapping[str, Any] | None = None
    finish_reason: str | None = None
    error: ProviderError | None = None
    events: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict with a stable key order, for snapshots."""
        return {
            "api": self.api,
            "streamed": self.streamed,
            "model": self.model,
            "text": self.text,
            "reasoning": self.reasoning,
            "redacted_reasoning": self.redacted_reasoning,
            "refusal": self.refusal,
            "tool_calls": [call.to_dict() for call in self.tool_calls],
            "usage": dict(self.usage) if self.usage is not None else None,
            "finish_reason": self.finish_reason,
            "error": self.error.to_dict() if self.error is not None else None,
            "events": self.events,
        }


@dataclass(slots=True)
class Draft:
    """The fields of an `Aggregate` while an aggregator is still filling them in."""

    model: str | None = None
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    redacted_reasoning: int = 0
    refusal: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    error: ProviderError | None = None

    def merge_usage(self, usage: object) -> None:
        """Fold a usage object into the one so far: later values win, but a null never erases
        a value (Anthropic's ``message_delta`` repeats fields as null that ``message_start``
        filled)."""
        if not isinstance(usage, dict):
            return
        merged = dict(self.usage or {})
        for key, value in usage.items():
            if value is not None or merged.get(key) is None:
                merged[str(key)] = value
        self.usage = merged

    def fail(self, error: ProviderError) -> None:
        """Keep the first error: later ones are usually consequences of it."""
        if self.error is None:
            self.error = error

    def freeze(self, *, api: str, streamed: bool, events: int) -> Aggregate:
        return Aggregate(
            api=api,
            streamed=streamed,
            model=self.model,
            text="".join(self.text),
            reasoning="".join(self.reasoning),
            redacted_reasoning=self.redacted_reasoning,
            refusal=self.refusal,
            tool_calls=tuple(self.tool_calls),
            usage=self.usage,
            finish_reason=self.finish_reason,
            error=self.error,
            events=events,
        )
