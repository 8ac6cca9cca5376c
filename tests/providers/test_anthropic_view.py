"""Anthropic Messages aggregation on small hand-built streams."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from streamtest._core.errors import StreamtestError
from streamtest._core.model import StreamError
from streamtest._providers import ProviderError, ToolCall, aggregate, provider_events
from tests.providers.conftest import anthropic_sse, interaction

URL = "https://api.anthropic.com/v1/messages"


def start(**usage: Any) -> dict[str, Any]:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 1, **usage},
    }
    return {"type": "message_start", "message": message}


def block(index: int, content_block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": content_block}


def delta(index: int, **fields: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": fields}


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def end(stop_reason: str = "end_turn", output_tokens: int = 12) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            # Totals so far; fields that do not apply may come as null.
            "usage": {"output_tokens": output_tokens, "input_tokens": None},
        },
        {"type": "message_stop"},
    ]


PING = {"type": "ping"}


def run(*events: dict[str, Any], **kwargs: Any) -> Any:
    return aggregate(interaction(URL, anthropic_sse(*events), **kwargs))


def test_text_with_ping_and_padded_json() -> None:
    body = anthropic_sse(
        start(cache_read_input_tokens=None),
        PING,
        block(0, {"type": "text", "text": ""}),
        delta(0, type="text_delta", text="Hello"),
        delta(0, type="text_delta", text=", wörld"),
        stop(0),
        *end(),
    ).replace(b'"type": "ping"}', b'"type": "ping"}          ')  # Anthropic pads its JSON
    item = interaction(URL, body)
    a = aggregate(item)
    assert (a.api, a.streamed, a.model) == ("anthropic-messages", True, "claude-test")
    assert a.text == "Hello, wörld"
    assert a.finish_reason == "end_turn"
    # input from message_start, output from message_delta; a null is kept, not dropped.
    assert a.usage == {"input_tokens": 25, "output_tokens": 12, "cache_read_input_tokens": None}
    assert a.events == 8
    assert provider_events(item)[1].type == "ping"


def test_thinking_signature_and_redacted_thinking() -> None:
    a = run(
        start(),
        block(0, {"type": "thinking", "thinking": "", "signature": ""}),
        delta(0, type="thinking_delta", thinking="Let me "),
        delta(0, type="thinking_delta", thinking="think."),
        delta(0, type="signature_delta", signature="EqQBCgIYAhIM"),
        stop(0),
        block(1, {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va"}),
        stop(1),
        block(2, {"type": "thinking", "thinking": "", "signature": ""}),
        delta(2, type="thinking_delta", thinking="Again."),
        stop(2),
        block(3, {"type": "text", "text": ""}),
        delta(3, type="text_delta", text="42"),
        stop(3),
        *end(),
    )
    assert a.reasoning == "Let me think.\n\nAgain."
    assert a.redacted_reasoning == 1
    assert a.text == "42"


def test_tool_use_and_server_tool_use_with_web_search_results() -> None:
    a = run(
        start(),
        block(
            0, {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
        ),
        delta(0, type="input_json_delta", partial_json='{"query": "wea'),
        delta(0, type="input_json_delta", partial_json='ther Paris"}'),
        stop(0),
        block(
            1,
            {
                "type": "web_search_tool_result",
                "tool_use_id": "srvtoolu_1",
                "content": [
                    {
                        "type": "web_search_result",
                        "url": "https://example.com",
                        "title": "Weather",
                        "encrypted_content": "Eo8J",
                    }
                ],
            },
        ),
        stop(1),
        block(2, {"type": "text", "text": ""}),
        delta(2, type="text_delta", text="Sunny. "),
        stop(2),
        block(3, {"type": "tool_use", "id": "toolu_1", "name": "remember", "input": {}}),
        delta(3, type="input_json_delta", partial_json=""),
        delta(3, type="input_json_delta", partial_json='{"fact": "sunny"}'),
        stop(3),
        *end("tool_use"),
    )
    assert a.tool_calls == (
        ToolCall("web_search", {"query": "weather Paris"}, "srvtoolu_1", "server_tool_use"),
        ToolCall("remember", {"fact": "sunny"}, "toolu_1"),
    )
    assert a.text == "Sunny. "
    assert a.finish_reason == "tool_use"


def test_tool_use_without_input_deltas_keeps_the_start_input() -> None:
    a = run(
        start(),
        block(0, {"type": "tool_use", "id": "t", "name": "now", "input": {}}),
        stop(0),
        *end("tool_use"),
    )
    assert a.tool_calls == (ToolCall("now", {}, "t"),)


def test_error_event_mid_stream() -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    a = run(
        start(),
        block(0, {"type": "text", "text": ""}),
        delta(0, type="text_delta", text="Hi"),
        error,
    )
    assert a.error == ProviderError("overloaded_error", "Overloaded")
    assert a.text == "Hi"
    assert a.finish_reason is None


def test_cut_short_tool_input_stays_the_raw_string() -> None:
    a = run(
        start(),
        block(0, {"type": "tool_use", "id": "t", "name": "weather", "input": {}}),
        delta(0, type="input_json_delta", partial_json='{"city": "Pa'),
        error=StreamError("ReadError", "connection reset"),
    )
    assert a.tool_calls == (ToolCall("weather", '{"city": "Pa', "t"),)
    assert a.error == ProviderError("ReadError", "connection reset")


def test_http_error() -> None:
    body = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": "req_1",
    }
    a = aggregate(
        interaction(URL, json.dumps(body).encode(), content_type="application/json", status=529)
    )
    assert a.error == ProviderError("overloaded_error", "Overloaded")
    assert a.streamed is False


def test_non_streamed_message_matches_the_stream() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [
            {"type": "thinking", "thinking": "Hm.", "signature": "sig"},
            {"type": "text", "text": "Hi there"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 12},
    }
    whole = aggregate(
        interaction(URL, json.dumps(message).encode(), content_type="application/json")
    )
    streamed = run(
        start(),
        block(0, {"type": "thinking", "thinking": "", "signature": ""}),
        delta(0, type="thinking_delta", thinking="Hm."),
        stop(0),
        block(1, {"type": "text", "text": ""}),
        delta(1, type="text_delta", text="Hi "),
        delta(1, type="text_delta", text="there"),
        stop(1),
        block(2, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
        delta(2, type="input_json_delta", partial_json='{"x": 1}'),
        stop(2),
        *end("tool_use"),
    )
    assert whole.streamed is False
    strip = {"streamed", "events"}
    assert {k: v for k, v in whole.to_dict().items() if k not in strip} == {
        k: v for k, v in streamed.to_dict().items() if k not in strip
    }


def test_without_the_anthropic_sdk_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "anthropic.lib.streaming._messages", None)
    with pytest.raises(StreamtestError, match=r'pip install "streamtest\[anthropic\]"'):
        run(start(), *end())


def test_tool_input_that_is_not_json_stays_the_raw_string() -> None:
    a = run(
        start(),
        block(0, {"type": "tool_use", "id": "t", "name": "run", "input": {}}),
        delta(0, type="input_json_delta", partial_json="{'single': quotes}"),
        stop(0),
        *end("tool_use"),
    )
    assert a.tool_calls == (ToolCall("run", "{'single': quotes}", "t"),)
    assert (a.error, a.finish_reason) == (None, "tool_use")
