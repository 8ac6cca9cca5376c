"""OpenAI Responses API: aggregation.

Streamed events go through the openai SDK's own accumulator, ``ResponseStreamState``, as the
SDK's event types built the way its ``Stream`` builds them (``construct_type``, no validation).
The response it ends with (``response.completed``, or ``response.failed``/``incomplete`` with
the output the SDK recovered) is read as plain JSON, the same reader a non-streamed
``response`` body goes through. A stream cut short has no final response: then the SDK's
running snapshot (message text and function arguments, which it accumulates from deltas) is
read, with each output item replaced by its ``response.output_item.done`` version where one
arrived (that is where reasoning summaries and refusals are whole; the snapshot has none).

The SDK refuses streams it cannot place (no ``response.created`` first, as in a stream resumed
with ``starting_after``; an output index out of order): then it is not fed further and the
raw terminal event or done items are read instead; without a terminal event the stream is
also reported as broken.
"""

from __future__ import annotations

from typing import Any

from .common import add_reasoning_block, as_dict, as_list, as_str, parse_arguments
from .errors import error_from_object, error_name
from .types import Draft, ProviderError, ProviderEvent, ToolCall

_TERMINAL = frozenset({"response.completed", "response.failed", "response.incomplete"})
_NOT_ARGUMENTS = frozenset(
    {"type", "id", "call_id", "status", "output", "outputs", "result", "results"}
)


def aggregate_responses(events: list[ProviderEvent], draft: Draft) -> None:
    """Fill ``draft`` from a Responses stream or body."""
    from openai import omit
    from openai._models import construct_type  # what the SDK's Stream builds events with
    from openai.lib.streaming.responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent

    class _State(ResponseStreamState[Any]):
        """Keeps the running snapshot, which the SDK holds privately."""

        snapshot: Any = None

        def accumulate_event(self, event: Any) -> Any:
            self.snapshot = super().accumulate_event(event)
            return self.snapshot

    state = _State(input_tools=omit, text_format=omit)
    refused: Exception | None = None
    final: dict[str, Any] | None = None  # the response the SDK ended with
    raw_final: dict[str, Any] | None = None  # the same, from the raw terminal event
    done_items: dict[int, dict[str, Any]] = {}
    for event in events:
        data = event.data
        if not isinstance(data, dict):
            continue
        kind = data.get("type")
        if kind == "error" or (kind is None and data.get("error") and "object" not in data):
            error = error_from_object(data)
            if error is not None:
                draft.fail(error)
            continue
        if kind is None and data.get("object") == "response":  # not streamed
            raw_final = data
            continue
        if not isinstance(kind, str) or not kind.startswith("response."):
            continue
        if kind in _TERMINAL:
            raw_final = as_dict(data.get("response")) or raw_final
        if kind == "response.output_item.done" and isinstance(data.get("output_index"), int):
            done_items[data["output_index"]] = as_dict(data.get("item"))
        if refused is not None:
            continue
        sdk_event: Any = construct_type(type_=ResponseStreamEvent, value=data)
        try:
            fired: list[Any] = state.handle_event(sdk_event)
        except (RuntimeError, AssertionError, IndexError, TypeError) as exc:
            # Its own checks (order, identities), or a server that skipped an event the
            # SDK indexes by (content_part.added): the raw terminal event still counts.
            refused = exc
            continue
        for out in fired:
            if out.type in _TERMINAL:
                final = out.response.to_dict(mode="json", warnings=False)
    if final is None:
        final = raw_final
    if final is None and state.snapshot is not None:
        final = state.snapshot.to_dict(mode="json", warnings=False)
        final["status"] = None  # it said in_progress when it started; it never finished
        output = as_list(final.get("output"))
        for index, item in done_items.items():
            if index < len(output):
                output[index] = item
        final["output"] = output
    if final is None and done_items:
        final = {"output": [done_items[index] for index in sorted(done_items)]}
    if final is not None:
        read_response(final, draft)
    if refused is not None and raw_final is None:
        # Neither the SDK nor the server finished it: what was read above is all there is.
        draft.fail(ProviderError("invalid_stream", f"The Responses stream is malformed: {refused}"))


def read_response(response: dict[str, Any], draft: Draft) -> None:
    """Fill ``draft`` from a whole ``response`` object."""
    draft.model = as_str(response.get("model")) or draft.model
    draft.finish_reason = as_str(response.get("status")) or draft.finish_reason
    draft.merge_usage(response.get("usage"))
    error = as_dict(response.get("error"))
    if error:
        draft.fail(ProviderError(error_name(error), str(error.get("message") or error)))
    for item in as_list(response.get("output")):
        if isinstance(item, dict):
            _read_item(item, draft)


def _read_item(item: dict[str, Any], draft: Draft) -> None:
    kind = as_str(item.get("type")) or ""
    if kind == "message":
        for part in as_list(item.get("content")):
            part = as_dict(part)
            if part.get("type") == "output_text":
                draft.text.append(as_str(part.get("text")) or "")
            elif part.get("type") == "refusal":
                draft.refusal = (draft.refusal or "") + (as_str(part.get("refusal")) or "")
    elif kind == "reasoning":
        # Summaries when the model gives them; open models give the reasoning itself instead.
        parts = as_list(item.get("summary")) or as_list(item.get("content"))
        for part in parts:
            add_reasoning_block(draft.reasoning, as_str(as_dict(part).get("text")) or "")
        if item.get("encrypted_content"):
            draft.redacted_reasoning += 1
    elif kind in ("function_call", "custom_tool_call", "mcp_call"):
        arguments = item.get("arguments") if kind != "custom_tool_call" else item.get("input")
        draft.tool_calls.append(
            ToolCall(
                name=str(item.get("name") or ""),
                arguments=parse_arguments(arguments),
                id=as_str(item.get("call_id")) or as_str(item.get("id")),
                kind="function" if kind == "function_call" else kind,
            )
        )
    elif kind.endswith("_call"):  # built-in tools the server ran: web_search_call, ...
        action = item.get("action")
        arguments = (
            action
            if action is not None
            else {k: v for k, v in item.items() if k not in _NOT_ARGUMENTS}
        )
        draft.tool_calls.append(
            ToolCall(
                name=kind.removesuffix("_call"),
                arguments=arguments,
                id=as_str(item.get("call_id")) or as_str(item.get("id")),
                kind=kind,
            )
        )
