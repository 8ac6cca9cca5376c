"""LangChain values in object streams: messages (AIMessageChunk exactly), generations and
documents, loaded lazily through ``streamtest.langchain._codec``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from langchain_core.documents import Document
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, GenerationChunk

import streamtest
from streamtest._objects.codecs import decode, encode


def through_a_file(value: Any) -> Any:
    return decode(msgspec.json.decode(msgspec.json.encode(encode(value))))


def last_chunk() -> AIMessageChunk:
    return AIMessageChunk(
        content="",
        id="lc_run--0199",
        tool_call_chunks=[
            {"name": "search", "args": '{"q": "wea', "id": "call_1", "index": 0},
            {"name": None, "args": 'ther"}', "id": None, "index": 0},
        ],
        usage_metadata={
            "input_tokens": 12,
            "output_tokens": 3,
            "total_tokens": 15,
            "input_token_details": {"cache_read": 4},
        },
        response_metadata={"finish_reason": "tool_calls", "model_name": "m", "logprobs": None},
        additional_kwargs={"refusal": None},
        chunk_position="last",
    )


def test_an_ai_message_chunk_round_trips_exactly() -> None:
    chunk = last_chunk()

    back = through_a_file(chunk)

    assert type(back) is AIMessageChunk
    assert back == chunk
    assert back.model_dump() == chunk.model_dump()
    assert back.chunk_position == "last"
    assert back.tool_call_chunks == chunk.tool_call_chunks
    assert back.usage_metadata == chunk.usage_metadata
    assert (back.id, back.response_metadata) == (chunk.id, chunk.response_metadata)


def test_chunks_still_add_up_after_a_round_trip() -> None:
    first = AIMessageChunk(content="Hel", id="run-1")
    second = AIMessageChunk(content="lo", id="run-1", chunk_position="last")

    joined = through_a_file(first) + through_a_file(second)

    assert joined == first + second
    assert joined.content == "Hello"


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(HumanMessage(content="Hi", id="h1", name="ann"), id="human"),
        pytest.param(SystemMessage(content=[{"type": "text", "text": "Be brief."}]), id="system"),
        pytest.param(
            ToolMessage(
                content="22 C",
                tool_call_id="call_1",
                artifact={"raw": (22, "C")},
                status="success",
            ),
            id="tool-with-tuple-artifact",
        ),
        pytest.param(
            AIMessage(
                content="Calling",
                tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "call_1"}],
                usage_metadata={"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
            ),
            id="ai-with-tool-calls",
        ),
    ],
)
def test_other_messages_round_trip(message: BaseMessage) -> None:
    back = through_a_file(message)

    assert type(back) is type(message)
    assert back == message
    assert back.model_dump() == message.model_dump()


def test_a_tuple_inside_message_data_stays_a_tuple() -> None:
    message = AIMessage(content="x", response_metadata={"span": (1, 2), "raw": b"\x00"})

    back = through_a_file(message)

    assert back.response_metadata == {"span": (1, 2), "raw": b"\x00"}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(
            ChatGenerationChunk(message=last_chunk(), generation_info={"finish": ("stop",)}),
            id="chat-generation-chunk",
        ),
        pytest.param(ChatGeneration(message=AIMessage(content="Hi")), id="chat-generation"),
        pytest.param(GenerationChunk(text="tok", generation_info={"i": 1}), id="generation-chunk"),
        pytest.param(
            Document(page_content="Paris is...", metadata={"source": ("wiki", 3)}, id="doc-1"),
            id="document",
        ),
    ],
)
def test_generations_and_documents_round_trip(value: Any) -> None:
    back = through_a_file(value)

    assert type(back) is type(value)
    assert back == value


def test_a_langchain_stream_records_and_replays_through_a_cassette(tmp_path: Path) -> None:
    path = tmp_path / "lc.jsonl"
    chunks = [
        AIMessageChunk(content="Hel", id="run-1"),
        AIMessageChunk(content="lo", id="run-1"),
        last_chunk(),
    ]

    live = list(streamtest.record_stream(iter(chunks), name="model", path=path))
    replayed = list(streamtest.replay_stream(path, name="model"))

    assert live == replayed == chunks
    assert '"$type":"langchain.message"' in path.read_text()


def test_replaying_a_langchain_tag_loads_the_codec_lazily(tmp_path: Path) -> None:
    path = tmp_path / "lazy.jsonl"
    list(streamtest.record_stream(iter([last_chunk()]), name="model", path=path))
    code = (
        "import sys, streamtest\n"
        "assert 'langchain_core' not in sys.modules\n"
        f"[chunk] = streamtest.replay_stream({str(path)!r}, name='model')\n"
        "print(type(chunk).__name__, chunk.chunk_position)\n"
    )

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "AIMessageChunk last"
