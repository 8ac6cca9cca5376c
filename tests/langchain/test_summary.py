"""`summarize`: what a LangChain stream or message adds up to, equal in every run."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGenerationChunk

from streamtest.langchain import summarize

RUN_ID = "lc_run--019a0000-0000-7000-8000-000000000000"
USAGE: Any = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}


def tool_call_stream() -> list[AIMessageChunk]:
    """Chunks as langchain-openai streams them: a first call's arguments split over two chunks,
    a second (parallel) call, usage and finish reason on the last data chunk, then the empty
    ``chunk_position="last"`` chunk ``BaseChatModel.stream`` appends (with an ``lc_run--`` id)."""
    return [
        AIMessageChunk(
            content="",
            id="chatcmpl-1",
            tool_call_chunks=[
                {"name": "get_weather", "args": '{"ci', "id": "call_1", "index": 0},
            ],
            response_metadata={"model_provider": "openai"},
        ),
        AIMessageChunk(
            content="",
            tool_call_chunks=[{"name": None, "args": 'ty": "Paris"}', "id": None, "index": 0}],
            response_metadata={"model_provider": "openai"},
        ),
        AIMessageChunk(
            content="",
            tool_call_chunks=[{"name": "get_time", "args": "{}", "id": "call_2", "index": 1}],
        ),
        AIMessageChunk(
            content="",
            response_metadata={
                "finish_reason": "tool_calls",
                "model_name": "gpt-4o-mini",
                "system_fingerprint": "fp_1",
            },
            usage_metadata=USAGE,
        ),
        AIMessageChunk(content="", chunk_position="last", id=RUN_ID),
    ]


def test_tool_call_chunks_split_across_chunks_add_up_to_tool_calls() -> None:
    summary = summarize(tool_call_stream())

    assert summary == {
        "type": "ai",
        "content": "",
        "tool_calls": [
            {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"},
            {"name": "get_time", "args": {}, "id": "call_2"},
        ],
        "usage_metadata": USAGE,
        "finish_reason": "tool_calls",
        "model_name": "gpt-4o-mini",
        "id": "chatcmpl-1",  # the provider's id, not the lc_run-- one of the last chunk
        "response_metadata": {"model_provider": "openai", "system_fingerprint": "fp_1"},
    }
    assert list(summary) == [
        "type",
        "content",
        "tool_calls",
        "usage_metadata",
        "finish_reason",
        "model_name",
        "id",
        "response_metadata",
    ]


def test_a_message_and_the_stream_of_it_summarize_alike() -> None:
    whole = AIMessage(
        content="",
        id="chatcmpl-1",
        tool_calls=[
            {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"},
            {"name": "get_time", "args": {}, "id": "call_2"},
        ],
        usage_metadata=USAGE,
        response_metadata={
            "model_provider": "openai",
            "finish_reason": "tool_calls",
            "model_name": "gpt-4o-mini",
            "system_fingerprint": "fp_1",
        },
    )
    assert summarize(whole) == summarize(tool_call_stream())


def test_text_usage_on_the_last_chunk_and_the_closing_chunk() -> None:
    chunks = [
        AIMessageChunk(content="Hel", id=RUN_ID),
        AIMessageChunk(content="lo\nworld", id=RUN_ID),
        AIMessageChunk(
            content="",
            id=RUN_ID,
            usage_metadata=USAGE,
            response_metadata={"stop_reason": "end_turn", "model": "claude-x"},
        ),
        AIMessageChunk(content="", chunk_position="last", id=RUN_ID),
    ]
    assert summarize(chunks) == {
        "type": "ai",
        "content": "Hello\nworld",
        "usage_metadata": USAGE,
        "finish_reason": "end_turn",  # Anthropic's stop_reason, Ollama's done_reason alike
        "model_name": "claude-x",
    }


def test_a_real_models_stream_summarizes_the_same_in_every_run() -> None:
    def run() -> list[Any]:
        model = GenericFakeChatModel(messages=iter(["Hello there, world"]))
        return list(model.stream("hi"))

    first, second = run(), run()
    assert first[-1].chunk_position == "last"
    assert first[0].id != second[0].id  # lc_run-- ids change with every run
    assert summarize(first) == summarize(second) == {"type": "ai", "content": "Hello there, world"}


def test_content_blocks_are_kept_as_a_list() -> None:
    chunks = [
        AIMessageChunk(content=[{"type": "text", "text": "Hi", "index": 0}], id="msg_1"),
        AIMessageChunk(content=[{"type": "text", "text": " there", "index": 0}]),
    ]
    assert summarize(chunks) == {
        "type": "ai",
        "content": [{"type": "text", "text": "Hi there", "index": 0}],
        "id": "msg_1",
    }


def test_generation_chunks_fold_generation_info_into_response_metadata() -> None:
    chunks = [
        ChatGenerationChunk(message=AIMessageChunk(content="Hi")),
        ChatGenerationChunk(
            message=AIMessageChunk(content="!"),
            generation_info={"finish_reason": "stop", "lc_gateway_metadata": {"x": 1}},
        ),
    ]
    assert summarize(chunks) == {"type": "ai", "content": "Hi!", "finish_reason": "stop"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(["Hel", "lo"], {"content": "Hello"}, id="strings joined"),
        pytest.param("Hello", {"content": "Hello"}, id="one string"),
        pytest.param(iter([]), {"content": ""}, id="an empty stream"),
        pytest.param(
            ToolMessage(content="18 C", tool_call_id="call_1"),
            {"type": "tool", "content": "18 C", "tool_call_id": "call_1", "status": "success"},
            id="a tool message",
        ),
        pytest.param(
            HumanMessage(content="Hi", name="ann"),
            {"type": "human", "content": "Hi", "name": "ann"},
            id="a human message",
        ),
    ],
)
def test_other_values(value: object, expected: dict[str, Any]) -> None:
    assert summarize(value) == expected


def test_uuids_become_ordinal_names() -> None:
    generated = str(uuid.uuid4())  # some integrations make up tool call ids like this
    message = AIMessage(
        content="",
        tool_calls=[
            {"name": "a", "args": {}, "id": generated},
            {"name": "b", "args": {"ref": generated}, "id": str(uuid.uuid4())},
        ],
    )
    assert summarize(message)["tool_calls"] == [
        {"name": "a", "args": {}, "id": "<uuid1>"},
        {"name": "b", "args": {"ref": "<uuid1>"}, "id": "<uuid2>"},
    ]


def test_invalid_tool_calls_are_kept() -> None:
    chunk = AIMessageChunk(
        content="", tool_call_chunks=[{"name": "f", "args": "[1", "id": "call_1", "index": 0}]
    )
    assert summarize([chunk])["invalid_tool_calls"] == [
        {"name": "f", "args": "[1", "id": "call_1", "error": None}
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            [AIMessage(content="a"), AIMessage(content="b")],
            "got AIMessage; summarize whole messages one by one.",
            id="whole messages",
        ),
        pytest.param([AIMessageChunk(content="a"), "b"], "got AIMessageChunk, str.", id="mixed"),
        pytest.param(42, "cannot read a value of type int;", id="not a stream"),
        pytest.param({"content": "a"}, "cannot read a value of type dict;", id="a dict"),
    ],
)
def test_what_it_cannot_read_is_named(value: object, message: str) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        summarize(value)
