"""Anthropic Messages: aggregation.

Streamed events go through the anthropic SDK's own accumulator, ``accumulate_event`` (in
``anthropic.lib.streaming._messages``, the function its ``MessageStream`` and its tracing
use; the SDK exports no public one), fed the decoded JSON, which it builds into its event
types itself. The message it ends with is read as plain JSON, the same reader a non-streamed
``message`` body goes through.

``ping`` events and event types the accumulator does not know are skipped, as the SDK's
stream does. ``usage`` is merged from the raw ``message_start`` and ``message_delta`` events
(later non-null values win, which is what the SDK does field by field). Tool inputs are
taken from the raw ``input_json_delta`` text, so a tool input that is not valid JSON stays the
string it was and block types the stable accumulator does not track (``mcp_tool_use``) keep
theirs; ``input_json_delta`` events are therefore not fed to it (it raises on tool input that is
not valid partial JSON, which models do produce).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .common import add_reasoning_block, as_dict, as_list, as_str, missing_sdk, parse_arguments
from .errors import error_from_object
from .types import Draft, ProviderError, ProviderEvent, ToolCall

_STREAM_TYPES = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    }
)
_TOOL_BLOCKS = {"tool_use": "function"}  # else the block type is the kind: server_tool_use...


def _accumulator() -> Callable[..., Any]:
    try:
        from anthropic.lib.streaming._messages import accumulate_event
    except ImportError as exc:
        raise missing_sdk("an Anthropic Messages response", "anthropic", "anthropic") from exc
    return accumulate_event


def aggregate_anthropic(events: list[ProviderEvent], draft: Draft) -> None:
    """Fill ``draft`` from a Messages stream or body."""
    accumulate_event = _accumulator()
    snapshot: Any = None
    inputs: dict[int, str] = {}  # block index -> raw input JSON text from input_json_delta
    broken = False
    for event in events:
        data = event.data
        if not isinstance(data, dict):
            continue
        kind = data.get("type")
        if kind == "error" or event.type == "error" or data.get("error"):
            error = error_from_object(data)
            if error is not None:
                draft.fail(error)
            continue
        if kind == "message":  # not streamed
            read_message(data, draft, {})
            draft.merge_usage(data.get("usage"))
            continue
        if kind not in _STREAM_TYPES or broken:
            continue
        if kind == "message_start":
            draft.merge_usage(as_dict(data.get("message")).get("usage"))
        elif kind == "message_delta":
            draft.merge_usage(data.get("usage"))
        elif kind == "content_block_delta":
            delta = as_dict(data.get("delta"))
            if delta.get("type") == "input_json_delta":
                if isinstance(data.get("index"), int):
                    index = data["index"]
                    inputs[index] = inputs.get(index, "") + str(delta.get("partial_json") or "")
                # Not fed: the SDK raises on tool input that is not valid (partial) JSON,
                # which a model can produce; the raw text above is what the aggregate reads.
                continue
        try:
            snapshot = accumulate_event(event=data, current_snapshot=snapshot, json_bufs={})
        except (RuntimeError, IndexError, ValueError, TypeError, AttributeError) as exc:
            # Out of order (no message_start), a delta for a block never started: the stream
            # itself is broken, and what accumulated so far is still read.
            broken = True
            draft.fail(ProviderError("invalid_stream", f"The Messages stream is malformed: {exc}"))
    if snapshot is not None:
        read_message(snapshot.to_dict(mode="json", warnings=False), draft, inputs)


def read_message(message: dict[str, Any], draft: Draft, inputs: dict[int, str]) -> None:
    """Fill ``draft`` from a whole ``message``; ``inputs`` are raw tool inputs by block index."""
    draft.model = as_str(message.get("model")) or draft.model
    draft.finish_reason = as_str(message.get("stop_reason")) or draft.finish_reason
    for index, block in enumerate(as_list(message.get("content"))):
        block = as_dict(block)
        kind = as_str(block.get("type")) or ""
        if kind == "text":
            draft.text.append(as_str(block.get("text")) or "")
        elif kind == "thinking":
            add_reasoning_block(draft.reasoning, as_str(block.get("thinking")) or "")
        elif kind == "redacted_thinking":
            draft.redacted_reasoning += 1
        elif kind in _TOOL_BLOCKS or kind.endswith("tool_use"):
            arguments = parse_arguments(inputs[index]) if inputs.get(index) else block.get("input")
            draft.tool_calls.append(
                ToolCall(
                    name=str(block.get("name") or ""),
                    arguments=arguments if arguments is not None else {},
                    id=as_str(block.get("id")),
                    kind=_TOOL_BLOCKS.get(kind, kind),
                )
            )
