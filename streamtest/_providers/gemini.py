"""Gemini ``generateContent`` / ``streamGenerateContent``: aggregation.

Our own reader: google-genai has no stream accumulator (its ``generate_content_stream``
yields each ``GenerateContentResponse`` as it comes and leaves joining them to the caller).
A streamed chunk and a whole response have the same shape, so one reader serves both: parts
of the first candidate are appended in order (``thought`` parts to the reasoning,
``functionCall`` parts as tool calls), ``usageMetadata`` and ``finishReason`` are cumulative,
so the last one seen wins. SSE (often CRLF-separated) and JSON-array streams arrive here as
the same decoded chunks.
"""

from __future__ import annotations

from typing import Any

from .common import as_dict, as_list, as_str
from .errors import error_from_object
from .types import Draft, ProviderEvent, ToolCall


def aggregate_gemini(events: list[ProviderEvent], draft: Draft) -> None:
    """Fill ``draft`` from Gemini chunks or a whole response."""
    for event in events:
        for chunk in as_list(event.data) if isinstance(event.data, list) else [event.data]:
            if isinstance(chunk, dict):
                _read_chunk(chunk, draft)


def _read_chunk(chunk: dict[str, Any], draft: Draft) -> None:
    error = error_from_object(chunk)
    if error is not None:
        draft.fail(error)
        return
    draft.model = as_str(chunk.get("modelVersion")) or draft.model
    draft.merge_usage(chunk.get("usageMetadata"))
    candidates = [c for c in as_list(chunk.get("candidates")) if isinstance(c, dict)]
    candidate = next((c for c in candidates if c.get("index", 0) == 0), None)
    if candidate is None:
        # No candidate at all: the prompt was blocked, and promptFeedback says why.
        blocked = as_str(as_dict(chunk.get("promptFeedback")).get("blockReason"))
        draft.finish_reason = blocked or draft.finish_reason
        return
    draft.finish_reason = as_str(candidate.get("finishReason")) or draft.finish_reason
    for part in as_list(as_dict(candidate.get("content")).get("parts")):
        part = as_dict(part)
        text = as_str(part.get("text"))
        if text is not None:
            (draft.reasoning if part.get("thought") is True else draft.text).append(text)
        call = part.get("functionCall")
        if isinstance(call, dict):
            draft.tool_calls.append(
                ToolCall(
                    name=str(call.get("name") or ""),
                    arguments=call.get("args") if call.get("args") is not None else {},
                    id=as_str(call.get("id")),
                )
            )
