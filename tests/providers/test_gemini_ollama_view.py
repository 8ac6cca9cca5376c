"""Gemini and Ollama aggregation (our own readers: neither SDK has an accumulator)."""

from __future__ import annotations

import gzip
import json
from typing import Any

from streamtest._providers import ProviderError, ToolCall, aggregate, provider_events
from tests.providers.conftest import interaction, ndjson, sse

GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/gemini-test"
STREAM_SSE = GEMINI + ":streamGenerateContent?alt=sse"
STREAM_ARRAY = GEMINI + ":streamGenerateContent"
WHOLE = GEMINI + ":generateContent"


def gemini_chunk(*parts: dict[str, Any], finish: str | None = None, **usage: int) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": {"promptTokenCount": 5, **usage},
        "modelVersion": "gemini-test-001",
        "responseId": "r1",
    }


CHUNKS = [
    gemini_chunk({"text": "**Plan**\n\n", "thought": True}, totalTokenCount=9),
    gemini_chunk({"text": "Think more.", "thought": True}),
    gemini_chunk({"text": "The answer"}),
    gemini_chunk(
        {
            "functionCall": {"id": "fc1", "name": "lookup", "args": {"q": "x"}},
            "thoughtSignature": "CiQB",
        }
    ),
    gemini_chunk({"text": " is 42."}, finish="STOP", candidatesTokenCount=7, totalTokenCount=20),
]


def check_gemini(a: Any) -> None:
    assert a.api == "gemini"
    assert a.reasoning == "**Plan**\n\nThink more."
    assert a.text == "The answer is 42."
    assert a.tool_calls == (ToolCall("lookup", {"q": "x"}, "fc1"),)
    assert a.finish_reason == "STOP"
    assert a.model == "gemini-test-001"
    # Cumulative: the last chunk's numbers, earlier keys kept where later chunks omit them.
    assert a.usage == {"promptTokenCount": 5, "totalTokenCount": 20, "candidatesTokenCount": 7}


def test_gemini_crlf_sse() -> None:
    a = aggregate(interaction(STREAM_SSE, sse(*CHUNKS, newline="\r\n")))
    check_gemini(a)
    assert a.streamed is True
    assert a.events == 5


def test_gemini_json_array_gzip() -> None:
    array = "[" + ",\r\n".join(json.dumps(c, indent=1) for c in CHUNKS) + "]"
    item = interaction(
        STREAM_ARRAY,
        gzip.compress(array.encode()),
        content_type="application/json; charset=UTF-8",
        headers=(("content-encoding", "gzip"),),
        chunk_size=5,
    )
    a = aggregate(item)
    check_gemini(a)
    assert a.streamed is True
    assert [e.type for e in provider_events(item)] == ["chunk"] * 5


def test_gemini_non_streamed() -> None:
    whole = gemini_chunk(
        {"text": "**Plan**\n\nThink more.", "thought": True},
        {"text": "The answer is 42."},
        {"functionCall": {"id": "fc1", "name": "lookup", "args": {"q": "x"}}},
        finish="STOP",
        candidatesTokenCount=7,
        totalTokenCount=20,
    )
    a = aggregate(interaction(WHOLE, json.dumps(whole).encode(), content_type="application/json"))
    check_gemini(a)
    assert a.streamed is False


def test_gemini_blocked_prompt() -> None:
    blocked = {
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 3},
    }
    a = aggregate(interaction(STREAM_SSE, sse(blocked)))
    assert a.finish_reason == "SAFETY"
    assert a.text == ""


def test_gemini_errors() -> None:
    error = {"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT"}}
    http = aggregate(
        interaction(WHOLE, json.dumps(error).encode(), content_type="application/json", status=400)
    )
    assert http.error == ProviderError("INVALID_ARGUMENT", "API key not valid.")
    in_band = {"error": {"code": 500, "message": "Internal error.", "status": "INTERNAL"}}
    a = aggregate(interaction(STREAM_SSE, sse(CHUNKS[2], in_band)))
    assert a.error == ProviderError("INTERNAL", "Internal error.")
    assert a.text == "The answer"


OLLAMA_CHAT = "http://localhost:11434/api/chat"


def ollama_line(content: str = "", done: bool = False, **fields: Any) -> dict[str, Any]:
    message = {"role": "assistant", "content": content, **fields.pop("message", {})}
    return {
        "model": "qwen3",
        "created_at": "2025-01-01T00:00:00Z",
        "message": message,
        "done": done,
        **fields,
    }


DONE = {
    "done_reason": "stop",
    "total_duration": 900,
    "load_duration": 10,
    "prompt_eval_count": 11,
    "prompt_eval_duration": 100,
    "eval_count": 6,
    "eval_duration": 700,
}


def test_ollama_chat_stream_with_thinking_and_tool_calls() -> None:
    call = {"function": {"name": "weather", "arguments": {"city": "Paris"}}}
    item = interaction(
        OLLAMA_CHAT,
        ndjson(
            ollama_line(message={"thinking": "Need "}),
            ollama_line(message={"thinking": "weather."}),
            ollama_line("Checking"),
            ollama_line(message={"tool_calls": [call]}),
            ollama_line("", True, **DONE),
        ),
        content_type="application/x-ndjson",
    )
    a = aggregate(item)
    assert (a.api, a.streamed, a.model) == ("ollama", True, "qwen3")
    assert a.reasoning == "Need weather."
    assert a.text == "Checking"
    assert a.tool_calls == (ToolCall("weather", {"city": "Paris"}),)
    assert a.finish_reason == "stop"
    assert a.usage == {k: v for k, v in DONE.items() if k != "done_reason"}
    assert [e.type for e in provider_events(item)] == ["chunk"] * 4 + ["done"]


def test_ollama_generate_and_non_streamed() -> None:
    lines = [
        {"model": "llama3", "created_at": "t", "response": "Hi", "done": False},
        {"model": "llama3", "created_at": "t", "response": " there", "done": False},
        {"model": "llama3", "created_at": "t", "response": "", "done": True, **DONE},
    ]
    a = aggregate(
        interaction(
            "http://localhost:11434/api/generate",
            ndjson(*lines),
            content_type="application/x-ndjson",
        )
    )
    assert (a.text, a.finish_reason) == ("Hi there", "stop")
    whole = ollama_line("Hi there", True, **DONE)
    b = aggregate(
        interaction(OLLAMA_CHAT, json.dumps(whole).encode(), content_type="application/json")
    )
    assert (b.text, b.streamed, b.usage) == ("Hi there", False, a.usage)


def test_ollama_errors() -> None:
    missing = aggregate(
        interaction(
            OLLAMA_CHAT,
            b'{"error":"model \\"nope\\" not found"}',
            content_type="application/json",
            status=404,
        )
    )
    assert missing.error == ProviderError("http_404", 'model "nope" not found')
    in_band = aggregate(
        interaction(
            OLLAMA_CHAT,
            ndjson(ollama_line("Hi"), {"error": "out of memory"}),
            content_type="application/x-ndjson",
        )
    )
    assert in_band.error == ProviderError(None, "out of memory")
    assert in_band.text == "Hi"
