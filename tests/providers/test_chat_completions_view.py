"""Chat Completions aggregation on small hand-built streams, one feature (or quirk) each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streamtest._core.model import StreamError
from streamtest._providers import ProviderError, ToolCall, aggregate, provider_events
from tests.providers.conftest import interaction, sse

URL = "https://api.openai.com/v1/chat/completions"


def chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-test",
        "choices": [choice],
        **extra,
    }


USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
USAGE_CHUNK = {**chunk(), "choices": [], "usage": USAGE}


def run(*events: Any, **kwargs: Any) -> Any:
    return aggregate(interaction(URL, sse(*events), **kwargs))


def test_text_with_done_obfuscation_and_usage_only_last_chunk() -> None:
    a = run(
        chunk({"role": "assistant", "content": "", "refusal": None}, obfuscation="abc"),
        chunk({"content": "Héllo"}, obfuscation="x"),
        chunk({"content": ", wörld"}),
        chunk({}, "stop"),
        USAGE_CHUNK,
        "[DONE]",
    )
    assert (a.api, a.streamed, a.model) == ("openai-chat", True, "gpt-test")
    assert a.text == "Héllo, wörld"
    assert a.finish_reason == "stop"
    assert a.usage == USAGE
    assert a.events == 6
    assert a.error is None


def test_parallel_tool_calls_interleaved() -> None:
    def call(index: int, **fields: Any) -> dict[str, Any]:
        return {"index": index, **fields}

    a = run(
        chunk(
            {
                "role": "assistant",
                "tool_calls": [
                    call(
                        0,
                        id="call_a",
                        type="function",
                        function={"name": "weather", "arguments": ""},
                    ),
                    call(
                        1,
                        id="call_b",
                        type="function",
                        function={"name": "time", "arguments": '{"tz'},
                    ),
                ],
            }
        ),
        chunk({"tool_calls": [call(0, function={"arguments": '{"city": '})]}),
        chunk({"tool_calls": [call(1, function={"arguments": '": "UTC"}'})]}),
        chunk({"tool_calls": [call(0, function={"arguments": '"Paris"}'})]}),
        chunk({}, "tool_calls"),
        "[DONE]",
    )
    assert a.tool_calls == (
        ToolCall("weather", {"city": "Paris"}, "call_a"),
        ToolCall("time", {"tz": "UTC"}, "call_b"),
    )
    assert a.text == ""
    assert a.finish_reason == "tool_calls"


def test_tool_calls_without_index_or_starting_at_one() -> None:
    # Some OpenAI-compatible servers omit the index, others count from 1.
    a = run(
        chunk({"tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": '{"a":'}}]}),
        chunk({"tool_calls": [{"function": {"arguments": " 1}"}}]}),
        chunk({"tool_calls": [{"id": "c2", "function": {"name": "g", "arguments": {"b": 2}}}]}),
        chunk({}, "tool_calls"),
    )
    assert a.tool_calls == (ToolCall("f", {"a": 1}, "c1"), ToolCall("g", {"b": 2}, "c2"))
    b = run(
        chunk(
            {"tool_calls": [{"index": 1, "id": "c1", "function": {"name": "f", "arguments": "{}"}}]}
        ),
        chunk({}, "tool_calls"),
    )
    assert b.tool_calls == (ToolCall("f", {}, "c1"),)


def test_invalid_tool_arguments_stay_a_string() -> None:
    a = run(
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "c", "function": {"name": "f", "arguments": "{oops"}}
                ]
            }
        ),
        chunk({}, "tool_calls"),
    )
    assert a.tool_calls[0].arguments == "{oops"


def test_refusal() -> None:
    a = run(
        chunk({"role": "assistant", "content": None, "refusal": ""}),
        chunk({"refusal": "I can't help "}),
        chunk({"refusal": "with that."}),
        chunk({}, "stop"),
    )
    assert a.refusal == "I can't help with that."
    assert a.text == ""


@pytest.mark.parametrize(
    "field",
    [pytest.param("reasoning_content", id="deepseek"), pytest.param("reasoning", id="groq")],
)
def test_reasoning_fields(field: str) -> None:
    a = run(
        chunk({"role": "assistant", "content": None, field: "Let me "}),
        chunk({field: "think."}),
        chunk({"content": "42"}),
        chunk({}, "stop"),
    )
    assert a.reasoning == "Let me think."
    assert a.text == "42"


def test_reasoning_sent_under_both_names_is_not_doubled() -> None:
    a = run(
        chunk({"reasoning_content": "Hm.", "reasoning": "Hm."}), chunk({"content": "ok"}, "stop")
    )
    assert a.reasoning == "Hm."


def test_mistral_typed_content_chunks() -> None:
    thinking = {"type": "thinking", "thinking": [{"type": "text", "text": "Plan "}]}
    a = run(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": [thinking]}),
        chunk({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "it."}]}]}),
        chunk({"content": [{"type": "text", "text": "Do "}]}),
        chunk({"content": "it."}, "stop"),
    )
    assert a.reasoning == "Plan it."
    assert a.text == "Do it."


def test_azure_content_filter_chunk_with_empty_choices_first() -> None:
    azure_first = {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
    }
    a = run(azure_first, chunk({"role": "assistant", "content": "Hi"}), chunk({}, "stop"), "[DONE]")
    assert (a.text, a.model, a.finish_reason) == ("Hi", "gpt-test", "stop")


def test_groq_error_event_mid_stream_without_done() -> None:
    error = {
        "error": {
            "message": "Tool call validation failed",
            "type": "invalid_request_error",
            "code": "tool_use_failed",
            "status_code": 400,
        }
    }
    interaction_ = interaction(URL, sse(chunk({"content": "Par"}), ("error", error)))
    a = aggregate(interaction_)
    assert a.error == ProviderError("tool_use_failed", "Tool call validation failed")
    assert a.text == "Par"
    assert a.finish_reason is None
    assert [e.type for e in provider_events(interaction_)] == ["chat.completion.chunk", "error"]


def test_openrouter_comments_and_error_object_in_data() -> None:
    body = b": OPENROUTER PROCESSING\n\n" + sse(
        chunk({"content": "Hel"}),
        {"error": {"code": 502, "message": "Provider returned error"}, "id": "gen-1"},
    )
    item = interaction(URL, body)
    a = aggregate(item)
    assert a.error == ProviderError("502", "Provider returned error")
    assert a.events == 2  # the comment is not a data event
    assert [e.type for e in provider_events(item)] == ["comment", "chat.completion.chunk", "error"]
    assert provider_events(item)[0].data == "OPENROUTER PROCESSING"


def test_http_error_json() -> None:
    body = {
        "error": {
            "message": "Incorrect API key provided.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    a = aggregate(
        interaction(URL, json.dumps(body).encode(), content_type="application/json", status=401)
    )
    assert a.error == ProviderError("invalid_api_key", "Incorrect API key provided.")
    assert a.streamed is False
    assert a.text == ""


def test_http_error_that_is_not_json() -> None:
    a = aggregate(
        interaction(URL, b"<html>Bad gateway</html>", content_type="text/html", status=502)
    )
    assert a.error == ProviderError("http_502", "<html>Bad gateway</html>")


def test_transport_error_keeps_what_arrived() -> None:
    item = interaction(
        URL,
        sse(chunk({"role": "assistant", "content": "Part"}), chunk({"content": "ial"}))
        + b'data: {"id',
        error=StreamError("ReadTimeout", "The read operation timed out"),
    )
    a = aggregate(item)
    assert a.text == "Partial"
    assert a.error == ProviderError("ReadTimeout", "The read operation timed out")
    assert a.finish_reason is None


def test_non_streamed_completion_matches_the_stream() -> None:
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-test",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "Checking.",
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "call_a",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                        }
                    ],
                },
            }
        ],
        "usage": USAGE,
    }
    whole = aggregate(
        interaction(URL, json.dumps(completion).encode(), content_type="application/json")
    )
    streamed = run(
        chunk({"role": "assistant", "content": "Check"}),
        chunk({"content": "ing."}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                    }
                ]
            }
        ),
        chunk({}, "tool_calls"),
        USAGE_CHUNK,
        "[DONE]",
    )
    assert whole.streamed is False and streamed.streamed is True
    assert whole.events == 1
    strip = {"streamed", "events"}
    assert {k: v for k, v in whole.to_dict().items() if k not in strip} == {
        k: v for k, v in streamed.to_dict().items() if k not in strip
    }
    assert whole.tool_calls == (ToolCall("weather", {"city": "Paris"}, "call_a"),)


def test_odd_extras_and_choice_order_do_not_trip_the_accumulator() -> None:
    def raw(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": choices,
            **extra,
        }

    citation = [{"type": "url_citation", "url": "https://example.com"}]  # a list without index
    a = run(
        raw([{"index": 1, "delta": {"content": "B"}, "logprobs": [0.5]}], moderation="flagged"),
        raw([{"index": 0, "delta": {"content": "A", "annotations": citation}}]),
        raw(
            [
                {
                    "index": 0,
                    "delta": {"content": "a", "annotations": citation},
                    "finish_reason": "stop",
                }
            ]
        ),
        raw([{"index": 1, "delta": {"content": "b"}, "finish_reason": "length"}]),
    )
    # The provider's choice 0, although choice 1 arrived first.
    assert (a.text, a.finish_reason, a.error) == ("Aa", "stop", None)
