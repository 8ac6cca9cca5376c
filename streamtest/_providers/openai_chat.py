"""OpenAI Chat Completions (and every server that copies it): aggregation.

Streamed chunks go through the openai SDK's own accumulator, ``ChatCompletionStreamState``,
as ``ChatCompletionChunk``s built the way the SDK's ``Stream`` builds them (``construct``,
no validation). The final snapshot is then read as plain JSON, the same reader a non-streamed
``chat.completion`` body goes through.

Chunks are normalized first where real servers send what the accumulator cannot take:

* Mistral's ``delta.content`` as a list of typed chunks (``text``, ``thinking``): the text is
  joined into ``content`` and the thinking moved to ``reasoning_content``, since the
  accumulator only concatenates strings.
* tool-call fragments without an ``index``, with indexes that do not start at 0, without a
  ``type`` or a ``function``, or with ``arguments`` already parsed: indexes are renumbered
  densely in order of appearance (the accumulator indexes a list with them), the rest filled.
  Choice indexes are renumbered the same way.
* a missing ``choices`` or ``delta``, and fields the aggregate does not read (logprobs,
  moderation, extensions), which are left out rather than risk odd shapes.

Error chunks (Groq's ``event: error``, OpenRouter's ``{"error": ...}``) are not chunks and
are read as errors. ``model`` and ``usage`` come from the raw chunks, not the snapshot: the
snapshot keeps the first chunk's model (empty in Azure's prompt-filter chunk) and the last
chunk's usage (null in the moderation chunk that follows the usage chunk).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .common import add_reasoning_block, as_dict, as_list, as_str, parse_arguments
from .errors import error_from_object
from .types import Draft, ProviderError, ProviderEvent, ToolCall


@dataclass(slots=True)
class _Renumbering:
    """Provider indexes to the dense ones the accumulator needs, for one stream."""

    choices: dict[int, int] = field(default_factory=dict)
    tools: dict[int, dict[Any, int]] = field(default_factory=dict)  # per (dense) choice


def aggregate_chat(events: list[ProviderEvent], draft: Draft) -> None:
    """Fill ``draft`` from a chat completion stream or body."""
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    renumber = _Renumbering()
    fed = broken = False
    for event in events:
        data = event.data
        if not isinstance(data, dict):
            continue
        error = error_from_object(data)
        if error is not None:
            draft.fail(error)
            if "choices" not in data:
                continue  # a bare error object; OpenRouter's error chunks also carry usage
        # Azure's first chunk (prompt filter results) has an empty model; the SDK keeps the
        # first chunk's, so the first named one is taken here.
        draft.model = draft.model or as_str(data.get("model")) or None
        # Groq's older streams carried usage only inside their x_groq extension.
        usage = data.get("usage") or as_dict(data.get("x_groq")).get("usage")
        draft.merge_usage(usage)
        if _is_completion(data):
            read_completion(data, draft)
            continue
        if broken:
            continue
        try:
            state.handle_chunk(ChatCompletionChunk.construct(**_normalized_chunk(data, renumber)))
        except (IndexError, TypeError, RuntimeError, AssertionError) as exc:
            # Normalized chunks should never get here; if one does, the stream is broken in
            # a way the accumulator cannot place, and what it accumulated so far is read.
            broken = True
            draft.fail(ProviderError("invalid_stream", f"The chat stream is malformed: {exc}"))
        else:
            fed = True
    if fed:
        snapshot = state.current_completion_snapshot.to_dict(mode="json", warnings=False)
        read_completion(snapshot, draft, choice=renumber.choices.get(0, 0))


def _is_completion(data: dict[str, Any]) -> bool:
    if data.get("object") == "chat.completion":
        return True
    return any(isinstance(c, dict) and "message" in c for c in as_list(data.get("choices")))


def read_completion(completion: dict[str, Any], draft: Draft, *, choice: int = 0) -> None:
    """Fill ``draft`` from a whole ``chat.completion`` object: its choice ``choice`` (the
    provider's first, 0, unless the stream was renumbered), else its first listed."""
    draft.model = as_str(completion.get("model")) or draft.model
    choices = [c for c in as_list(completion.get("choices")) if isinstance(c, dict)]
    chosen = next((c for c in choices if c.get("index", 0) == choice), None)
    read_choice(chosen if chosen is not None else (choices[0] if choices else {}), draft)


def read_choice(choice: dict[str, Any], draft: Draft) -> None:
    draft.finish_reason = as_str(choice.get("finish_reason")) or draft.finish_reason
    message = as_dict(choice.get("message"))
    text, thinking = split_content(message.get("content"))
    draft.text.append(text)
    # DeepSeek and vLLM say reasoning_content, Groq and OpenRouter reasoning; a server that
    # sends both sends the same text twice.
    reasoning = as_str(message.get("reasoning_content")) or as_str(message.get("reasoning"))
    add_reasoning_block(draft.reasoning, (reasoning or "") + thinking)
    refusal = as_str(message.get("refusal"))
    if refusal:
        draft.refusal = refusal
    for call in as_list(message.get("tool_calls")):
        if isinstance(call, dict):
            draft.tool_calls.append(_tool_call(call))


def _tool_call(call: dict[str, Any]) -> ToolCall:
    kind = as_str(call.get("type")) or "function"
    if kind == "custom":  # custom tools take free text: {"custom": {"name", "input"}}
        custom = as_dict(call.get("custom"))
        name, arguments = custom.get("name"), parse_arguments(custom.get("input"))
    else:
        function = as_dict(call.get("function"))
        name, arguments = function.get("name"), parse_arguments(function.get("arguments"))
    return ToolCall(name=str(name or ""), arguments=arguments, id=as_str(call.get("id")), kind=kind)


def split_content(content: Any) -> tuple[str, str]:
    """``(text, thinking)`` of a message or delta ``content``: a string, or Mistral's list of
    typed chunks (``{"type": "text", "text"}``, ``{"type": "thinking", "thinking": [...]}``)."""
    if isinstance(content, str):
        return content, ""
    text: list[str] = []
    thinking: list[str] = []
    for part in as_list(content):
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            text.append(part["text"])
        elif part.get("type") == "thinking":
            inner = part.get("thinking")
            if isinstance(inner, str):
                thinking.append(inner)
            else:
                thinking.append(split_content(inner)[0])
    return "".join(text), "".join(thinking)


def _normalized_chunk(data: dict[str, Any], renumber: _Renumbering) -> dict[str, Any]:
    """The part of a chunk the aggregate reads, in shapes the accumulator takes. Everything
    else (logprobs, moderation, usage, provider extensions) stays out: none of it is read
    from the snapshot, and odd shapes of it are what trips the accumulator."""
    choices = []
    for position, raw in enumerate(as_list(data.get("choices"))):
        if not isinstance(raw, dict):
            continue
        key = raw["index"] if isinstance(raw.get("index"), int) else position
        # Dense choice indexes: the accumulator indexes its list of choices with them.
        index = renumber.choices.setdefault(key, len(renumber.choices))
        delta = as_dict(raw.get("delta"))
        tool_indexes = renumber.tools.setdefault(index, {})
        choices.append(
            {
                "index": index,
                "delta": _normalized_delta(delta, tool_indexes),
                "finish_reason": as_str(raw.get("finish_reason")),
            }
        )
    return {
        "id": str(data.get("id") or ""),
        "object": "chat.completion.chunk",
        "created": data.get("created") if isinstance(data.get("created"), int) else 0,
        "model": str(data.get("model") or ""),
        "choices": choices,
    }


_DELTA_TEXT = ("content", "refusal", "reasoning_content", "reasoning")


def _normalized_delta(delta: dict[str, Any], tool_indexes: dict[Any, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(delta.get("role"), str):
        out["role"] = delta["role"]
    for key in _DELTA_TEXT:
        if isinstance(delta.get(key), str):
            out[key] = delta[key]
    content = delta.get("content")
    if isinstance(content, list):
        text, thinking = split_content(content)
        out["content"] = text
        if thinking:
            out["reasoning_content"] = out.get("reasoning_content", "") + thinking
    calls = [c for c in as_list(delta.get("tool_calls")) if isinstance(c, dict)]
    if calls:
        out["tool_calls"] = [_normalized_call(call, tool_indexes) for call in calls]
    return out


def _normalized_call(raw: dict[str, Any], tool_indexes: dict[Any, int]) -> dict[str, Any]:
    call = dict(raw)
    key = call.get("index")
    if not isinstance(key, int):
        # No index: a call that names itself starts a new one, a bare fragment continues
        # the latest.
        starts = call.get("id") is not None or as_dict(call.get("function")).get("name")
        key = ("new", len(tool_indexes)) if starts or not tool_indexes else None
    if key is None:
        call["index"] = len(tool_indexes) - 1
    else:
        call["index"] = tool_indexes.setdefault(key, len(tool_indexes))
    if call.get("type") is None:
        call["type"] = "function"
    if call["type"] == "function":
        function = dict(as_dict(call.get("function")))
        for field in ("name", "arguments"):
            value = function.get(field)
            if value is not None and not isinstance(value, str):
                function[field] = json.dumps(value) if field == "arguments" else str(value)
        call["function"] = function
    return call
