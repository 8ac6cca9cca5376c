"""What a LangChain stream or message means, as a plain dict that is equal in every replay.

Streams are added up the way LangChain adds them: message chunks with ``+``
(``add_ai_message_chunks``: content merged, ``tool_call_chunks`` merged by index and parsed
into ``tool_calls``, usage summed, ``response_metadata`` merged, the provider's id preferred);
``ChatGenerationChunk``\\ s the same, their ``generation_info`` folded into the message's
``response_metadata`` as ``BaseChatModel.stream`` does. ``chunk_position="last"`` (the empty
chunk ``BaseChatModel.stream`` appends) marks where a stream ended, which is not part of what it
meant, so it is not shown; neither are ``tool_call_chunks``, once added up into ``tool_calls``.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, BaseMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk

from ._normalize import _Names, _plain

__all__ = ["summarize"]

_LC_ID_PREFIX = "lc_"  # "lc_run--<run id>" and "lc_<uuid>": ids LangChain made up, not the API
_GATEWAY_KEY = "lc_gateway_metadata"  # dropped from generation_info by BaseChatModel too
_CHUNK_TYPES = {
    "AIMessageChunk": "ai",
    "HumanMessageChunk": "human",
    "SystemMessageChunk": "system",
    "ToolMessageChunk": "tool",
    "FunctionMessageChunk": "function",
    "ChatMessageChunk": "chat",
}
_FINISH_KEYS = ("finish_reason", "stop_reason", "done_reason")  # OpenAI, Anthropic, Ollama
_MODEL_KEYS = ("model_name", "model")
# Fields shown in the fixed order below, or not at all.
_PLACED = frozenset(
    {
        "content",
        "additional_kwargs",
        "response_metadata",
        "type",
        "id",
        "tool_calls",
        "invalid_tool_calls",
        "usage_metadata",
        "tool_call_chunks",
        "chunk_position",
        "example",  # deprecated, always False
    }
)


def summarize(value: object) -> dict[str, Any]:
    """The aggregated meaning of ``value``, with keys in a fixed order and empty ones left out.

    ``value`` is a message (``AIMessage``, ``AIMessageChunk``, any ``BaseMessage``), a
    ``ChatGeneration(Chunk)``, or an iterable of message chunks, of ``ChatGenerationChunk``\\ s
    or of strings (joined: the output of a chain ending in ``StrOutputParser``).

    Keys: ``type`` (``"ai"``, ``"tool"``, ...; a chunk has its message's type), ``content``
    (always; text, or the list of content blocks), ``tool_calls`` (``name``, ``args``, ``id``),
    ``invalid_tool_calls``, ``usage_metadata`` (as is), ``finish_reason`` (the
    ``response_metadata``'s ``finish_reason``, ``stop_reason`` or ``done_reason``),
    ``model_name`` (its ``model_name`` or ``model``), ``id`` (only a provider's, such as
    ``chatcmpl-...`` or ``msg_...``, which comes from the cassette; LangChain's ``lc_run--...``
    ids change every run and are left out), the message type's other fields that are set
    (``name``, ``tool_call_id``, ``status``, ...), the rest of ``response_metadata``, and
    ``additional_kwargs``. A string stream gives only ``content``. UUIDs anywhere (in tool call
    ids some integrations generate, in ``lc_...`` ids of content blocks) become ``<uuid1>``,
    ``<uuid2>``, ... in order of appearance.
    """
    names = _Names()
    added = _add_up(value)
    if isinstance(added, str):
        return {"content": names.text(added)}
    return _describe(added, names)


def _add_up(value: object) -> BaseMessage | str:
    if isinstance(value, BaseMessage | str):
        return value
    if isinstance(value, ChatGeneration):  # a ChatGenerationChunk is one
        return _with_generation_info(value)
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise TypeError(
            f"summarize cannot read a value of type {type(value).__qualname__}; pass a LangChain "
            "message, or "
            "the list of chunks (message chunks, ChatGenerationChunks or strings) a stream gave."
        )
    items = list(value)
    if not items:
        return ""
    if all(isinstance(item, str) for item in items):
        return "".join(items)
    if all(isinstance(item, AIMessageChunk) for item in items):
        first: AIMessageChunk = items[0]
        return first + items[1:] if len(items) > 1 else first
    if all(isinstance(item, BaseMessageChunk) for item in items):
        added: BaseMessageChunk = functools.reduce(operator.add, items)
        return added
    if all(isinstance(item, ChatGenerationChunk) for item in items):
        generation: ChatGenerationChunk = items[0] + items[1:] if len(items) > 1 else items[0]
        return _with_generation_info(generation)
    kinds = sorted({type(item).__qualname__ for item in items})
    fix = (
        "; summarize whole messages one by one"
        if any(
            isinstance(item, BaseMessage) and not isinstance(item, BaseMessageChunk)
            for item in items
        )
        else ""
    )
    raise TypeError(
        f"summarize adds up a stream of one kind of chunk (message chunks, "
        f"ChatGenerationChunks or strings), but got {', '.join(kinds)}{fix}."
    )


def _with_generation_info(generation: ChatGeneration) -> BaseMessage:
    info = {k: v for k, v in (generation.generation_info or {}).items() if k != _GATEWAY_KEY}
    if not info:
        return generation.message
    metadata = {**info, **generation.message.response_metadata}
    return generation.message.model_copy(update={"response_metadata": metadata})


def _describe(message: BaseMessage, names: _Names) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "type": _CHUNK_TYPES.get(message.type, message.type),
        "content": _plain(message.content, names),
    }
    if isinstance(message, AIMessage):
        if message.tool_calls:
            shown["tool_calls"] = [
                _plain({"name": call["name"], "args": call["args"], "id": call["id"]}, names)
                for call in message.tool_calls
            ]
        if message.invalid_tool_calls:
            shown["invalid_tool_calls"] = [
                _plain({key: value for key, value in call.items() if key != "type"}, names)
                for call in message.invalid_tool_calls
            ]
        if message.usage_metadata:
            shown["usage_metadata"] = _plain(message.usage_metadata, names)
    metadata = dict(message.response_metadata)
    for label, keys in (("finish_reason", _FINISH_KEYS), ("model_name", _MODEL_KEYS)):
        key = next((key for key in keys if metadata.get(key) is not None), None)
        if key is not None:
            shown[label] = _plain(metadata.pop(key), names)
    if message.id and not message.id.startswith(_LC_ID_PREFIX):
        shown["id"] = _plain(message.id, names)
    for field in type(message).model_fields:
        value = getattr(message, field)
        if field not in _PLACED and value not in (None, "", [], {}):
            shown[field] = _plain(value, names)
    if metadata:
        shown["response_metadata"] = _plain(metadata, names)
    if message.additional_kwargs:
        shown["additional_kwargs"] = _plain(message.additional_kwargs, names)
    return shown
