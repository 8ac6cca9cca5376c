"""Codecs for LangChain values in object streams: messages, generations and documents.

streamtest imports this module by name, lazily, when an object stream meets an object whose
class lives in ``langchain_core`` or a tag that begins with ``langchain.``; importing it
registers the codecs. Messages go through LangChain's own ``message_to_dict`` (which round-trips
``AIMessageChunk`` exactly, ``chunk_position`` included), and their ``data`` is encoded again by
streamtest, so values JSON cannot hold (tuples, bytes, ...) survive inside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core import messages as lc
from langchain_core.documents import Document
from langchain_core.messages import message_to_dict, messages_from_dict
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, Generation, GenerationChunk

from .._objects.registry import Decode, Encode, register_codec

# Exactly the classes messages_from_dict rebuilds; a subclass of one of them would come back as
# its base class, so it needs a codec of its own.
MESSAGE_TYPES: tuple[type, ...] = (
    lc.AIMessage,
    lc.AIMessageChunk,
    lc.ChatMessage,
    lc.ChatMessageChunk,
    lc.FunctionMessage,
    lc.FunctionMessageChunk,
    lc.HumanMessage,
    lc.HumanMessageChunk,
    lc.RemoveMessage,
    lc.SystemMessage,
    lc.SystemMessageChunk,
    lc.ToolMessage,
    lc.ToolMessageChunk,
)


@dataclass(frozen=True, slots=True)
class MessageCodec:
    tag: str = "langchain.message"
    types: tuple[type, ...] = MESSAGE_TYPES

    def encode(self, obj: Any, encode: Encode) -> Any:
        stored = message_to_dict(obj)
        return {"type": stored["type"], "data": encode(stored["data"])}

    def decode(self, data: Any, decode: Decode) -> Any:
        [message] = messages_from_dict([{"type": data["type"], "data": decode(data["data"])}])
        return message


@dataclass(frozen=True, slots=True)
class FieldsCodec:
    """A pydantic value stored as the fields its constructor takes (derived ones left out:
    ``ChatGeneration.text`` is computed from its message again)."""

    tag: str
    cls: type
    fields: tuple[str, ...]

    @property
    def types(self) -> tuple[type, ...]:
        return (self.cls,)

    def encode(self, obj: Any, encode: Encode) -> Any:
        return encode({name: getattr(obj, name) for name in self.fields})

    def decode(self, data: Any, decode: Decode) -> Any:
        fields = decode(data)
        if type(fields) is not dict or set(fields) != set(self.fields):
            raise ValueError(f"expected the fields {list(self.fields)}, got {data!r}")
        return self.cls(**fields)


CODECS = (
    MessageCodec(),
    FieldsCodec("langchain.chat_generation", ChatGeneration, ("message", "generation_info")),
    FieldsCodec(
        "langchain.chat_generation_chunk", ChatGenerationChunk, ("message", "generation_info")
    ),
    FieldsCodec("langchain.generation", Generation, ("text", "generation_info")),
    FieldsCodec("langchain.generation_chunk", GenerationChunk, ("text", "generation_info")),
    FieldsCodec("langchain.document", Document, ("page_content", "metadata", "id")),
)
for _codec in CODECS:
    register_codec(_codec)
