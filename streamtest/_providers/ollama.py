"""Ollama's native ``/api/chat`` and ``/api/generate``: aggregation.

Our own reader: the ollama client has no accumulator (``chat(stream=True)`` yields each
``ChatResponse`` and leaves joining them to the caller). Streamed lines and a whole
(``stream: false``) response have the same shape: ``message.content`` / ``message.thinking``
/ ``message.tool_calls`` for chat, ``response`` / ``thinking`` for generate; the final line has
``done: true``, ``done_reason`` and the counts, which are the usage.
"""

from __future__ import annotations

from typing import Any

from .common import as_dict, as_list, as_str, parse_arguments
from .errors import error_from_object
from .types import Draft, ProviderEvent, ToolCall

USAGE_FIELDS = (
    "prompt_eval_count",
    "eval_count",
    "total_duration",
    "load_duration",
    "prompt_eval_duration",
    "eval_duration",
)
"""The final line's counts and timings (nanoseconds), which make up Ollama's usage."""


def aggregate_ollama(events: list[ProviderEvent], draft: Draft) -> None:
    """Fill ``draft`` from Ollama NDJSON lines or a whole response."""
    for event in events:
        if isinstance(event.data, dict):
            _read_line(event.data, draft)


def _read_line(line: dict[str, Any], draft: Draft) -> None:
    error = error_from_object(line)
    if error is not None:
        draft.fail(error)
        return
    draft.model = as_str(line.get("model")) or draft.model
    message = as_dict(line.get("message"))
    draft.text.append(as_str(message.get("content")) or as_str(line.get("response")) or "")
    draft.reasoning.append(as_str(message.get("thinking")) or as_str(line.get("thinking")) or "")
    for call in as_list(message.get("tool_calls")):
        function = as_dict(as_dict(call).get("function"))
        draft.tool_calls.append(
            ToolCall(
                name=str(function.get("name") or ""),
                arguments=parse_arguments(function.get("arguments", {})),
                id=as_str(as_dict(call).get("id")),
            )
        )
    if line.get("done") is True:
        draft.finish_reason = as_str(line.get("done_reason")) or draft.finish_reason
        counts = {key: line[key] for key in USAGE_FIELDS if key in line}
        if counts:
            draft.merge_usage(counts)
