"""detect_api, provider_events and the cross-API parts of aggregate(): unknown APIs, framing
errors, Bedrock's wrapped payloads, to_dict, and what importing the package loads."""

from __future__ import annotations

import ast
import base64
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

import streamtest._providers
from streamtest._core.model import Interaction, Request, Response, StreamError
from streamtest._providers import (
    Aggregate,
    ProviderError,
    ProviderEvent,
    ToolCall,
    aggregate,
    detect_api,
    provider_events,
)
from tests.providers.conftest import anthropic_sse, interaction, ndjson, sse


@pytest.mark.parametrize(
    ("url", "api"),
    [
        pytest.param("https://api.openai.com/v1/chat/completions", "openai-chat", id="openai"),
        pytest.param(
            "https://x.openai.azure.com/openai/deployments/gpt4/chat/completions?api-version=2024-02-01",
            "openai-chat",
            id="azure",
        ),
        pytest.param(
            "https://api.mistral.ai/v1/chat/completions#stream", "openai-chat", id="fragment"
        ),
        pytest.param(
            "http://localhost:11434/v1/chat/completions", "openai-chat", id="ollama-compat"
        ),
        pytest.param("https://api.openai.com/v1/responses", "openai-responses", id="responses"),
        pytest.param(
            "https://api.openai.com/v1/responses/resp_1?stream=true&starting_after=3",
            "openai-responses",
            id="responses-retrieve",
        ),
        pytest.param(
            "https://api.anthropic.com/v1/messages?beta=true", "anthropic-messages", id="anthropic"
        ),
        pytest.param("https://api.openai.com/v1/threads/t_1/messages", "unknown", id="assistants"),
        pytest.param(
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            "gemini",
            id="gemini-stream",
        ),
        pytest.param(
            "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/l/publishers/google/models/g:generateContent",
            "gemini",
            id="vertex",
        ),
        pytest.param("http://127.0.0.1:11434/api/chat", "ollama", id="ollama-chat"),
        pytest.param("http://127.0.0.1:11434/api/generate", "ollama", id="ollama-generate"),
    ],
)
def test_detect_api_by_url(url: str, api: str) -> None:
    # The body would say otherwise (or nothing): the path decides.
    response = Response(200, (("content-type", "application/json"),))
    assert detect_api(Request("POST", url), response) == api


SHAPES = {
    "openai-chat": sse({"object": "chat.completion.chunk", "choices": []}, "[DONE]"),
    "openai-responses": sse(("response.created", {"type": "response.created", "response": {}})),
    "anthropic-messages": anthropic_sse({"type": "ping"}, {"type": "message_start", "message": {}}),
    "gemini": sse({"candidates": [{"content": {"parts": [{"text": "hi"}]}}]}),
    "ollama": ndjson(
        {"model": "m", "created_at": "t", "message": {"content": "hi"}, "done": False}
    ),
}


@pytest.mark.parametrize("api", list(SHAPES))
def test_detect_api_by_event_shapes_behind_an_unknown_path(api: str) -> None:
    kind = "application/x-ndjson" if api == "ollama" else "text/event-stream"
    item = interaction("https://gateway.example.com/proxy/v2/llm", SHAPES[api], content_type=kind)
    assert detect_api(item.request, item.response) == api
    assert aggregate(item).api == api


def test_unknown_api_still_reports_status_events_and_transport_error() -> None:
    item = interaction(
        "https://example.com/other",
        b"data: hello\n\ndata: world\n\n",
        error=StreamError("ReadTimeout", "timed out"),
    )
    a = aggregate(item)
    assert (a.api, a.streamed, a.events, a.text) == ("unknown", True, 2, "")
    assert a.error == ProviderError("ReadTimeout", "timed out")
    assert provider_events(item) == [ProviderEvent("raw", "hello"), ProviderEvent("raw", "world")]


def test_a_body_the_framing_cannot_finish_keeps_the_events_before_it() -> None:
    url = "https://generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent"
    first = {"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]}
    body = b"[" + json.dumps(first).encode() + b',\r\n{"candidates": [{"cont'
    a = aggregate(interaction(url, body, content_type="application/json"))
    assert a.text == "Hel"
    assert a.error is not None and a.error.type == "FramingError"
    # Closed early by the client, the same cut is expected, not an error.
    closed = aggregate(interaction(url, body, content_type="application/json", closed=True))
    assert (closed.text, closed.error) == ("Hel", None)


def test_empty_body() -> None:
    a = aggregate(interaction("https://api.openai.com/v1/chat/completions", b""))
    assert (a.api, a.events, a.text, a.error) == ("openai-chat", 0, "", None)


def aws_frame(event_type: str, payload: bytes) -> bytes:
    headers = b""
    for name, value in ((":event-type", event_type), (":message-type", "event")):
        headers += (
            bytes([len(name)])
            + name.encode()
            + b"\x07"
            + struct.pack(">H", len(value))
            + value.encode()
        )
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def test_bedrock_invoke_stream_payloads_are_unwrapped() -> None:
    def wrapped(event: dict[str, Any]) -> bytes:
        inner = base64.b64encode(json.dumps(event).encode()).decode()
        return aws_frame("chunk", json.dumps({"bytes": inner, "p": "abcd"}).encode())

    events = [
        {
            "type": "message_start",
            "message": {
                "id": "m",
                "type": "message",
                "role": "assistant",
                "model": "claude-bedrock",
                "content": [],
                "usage": {"input_tokens": 3, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 2},
        },
        {"type": "message_stop"},
    ]
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude/invoke-with-response-stream"
    item = interaction(
        url, b"".join(map(wrapped, events)), content_type="application/vnd.amazon.eventstream"
    )
    a = aggregate(item)
    assert (a.api, a.text, a.model, a.finish_reason) == (
        "anthropic-messages",
        "Hi",
        "claude-bedrock",
        "end_turn",
    )
    assert [e.type for e in provider_events(item)][:2] == ["message_start", "content_block_start"]


def test_to_dict_is_plain_json_in_a_stable_order() -> None:
    a = Aggregate(
        api="openai-chat",
        streamed=True,
        text="hi",
        tool_calls=(ToolCall("f", {"x": [1]}, "c1"),),
        usage={"total_tokens": 3},
        error=ProviderError("E", "boom"),
        events=2,
    )
    d = a.to_dict()
    assert list(d) == [
        "api",
        "streamed",
        "model",
        "text",
        "reasoning",
        "redacted_reasoning",
        "refusal",
        "tool_calls",
        "usage",
        "finish_reason",
        "error",
        "events",
    ]
    assert d["tool_calls"] == [
        {"name": "f", "arguments": {"x": [1]}, "id": "c1", "kind": "function"}
    ]
    assert d["error"] == {"type": "E", "message": "boom"}
    assert json.loads(json.dumps(d)) == d


def test_interaction_values_are_accepted_as_built_by_the_model() -> None:
    item = Interaction(Request("POST", "https://api.openai.com/v1/chat/completions"), Response(500))
    assert aggregate(item).error == ProviderError("http_500", "HTTP status 500.")


def test_importing_the_provider_layer_loads_no_sdk() -> None:
    code = (
        "import sys, streamtest._providers; "
        "print(','.join(m for m in ('openai', 'anthropic', 'google.genai', 'ollama', 'httpx2') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == ""


def test_the_provider_layer_imports_only_core_the_stdlib_and_the_sdks() -> None:
    package = Path(streamtest._providers.__file__).parent
    allowed = set(sys.stdlib_module_names) | {"__future__", "openai", "anthropic"}
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                # Siblings, or the core layer below; never the wire, session or front ends.
                assert node.level == 1 or (node.module or "").startswith("_core"), (
                    path,
                    node.module,
                )
            elif isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] in allowed, (path, node.module)
            elif isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] in allowed for a in node.names), path


def test_a_body_in_an_encoding_the_core_cannot_undo_is_reported_not_raised() -> None:
    item = interaction(
        "https://api.openai.com/v1/chat/completions",
        b"\x8b\x05\x80data",
        headers=(("content-encoding", "br"),),
    )
    a = aggregate(item)
    assert a.error is not None and "'br' is not supported" in a.error.message
    assert a.events == 0
