"""OpenAI Responses aggregation on small hand-built streams."""

from __future__ import annotations

import json
from typing import Any

from streamtest._core.model import StreamError
from streamtest._providers import ProviderError, ToolCall, aggregate, provider_events
from tests.providers.conftest import interaction, sse

URL = "https://api.openai.com/v1/responses"
USAGE = {"input_tokens": 9, "output_tokens": 4, "total_tokens": 13}


def response(status: str, output: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "status": status,
        "model": "gpt-test",
        "output": output,
        "usage": USAGE if status == "completed" else None,
        "error": None,
        **extra,
    }


def message(text: str | None, status: str = "completed") -> dict[str, Any]:
    content = [] if text is None else [{"type": "output_text", "text": text, "annotations": []}]
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def function_call(arguments: str, status: str = "completed") -> dict[str, Any]:
    return {
        "id": "fc_1",
        "type": "function_call",
        "call_id": "call_1",
        "name": "weather",
        "arguments": arguments,
        "status": status,
    }


def text_stream(pieces: list[str], *, complete: bool = True) -> list[dict[str, Any]]:
    seq = iter(range(1000))
    events: list[dict[str, Any]] = [
        {
            "type": "response.created",
            "sequence_number": next(seq),
            "response": response("in_progress", []),
        },
        {
            "type": "response.in_progress",
            "sequence_number": next(seq),
            "response": response("in_progress", []),
        },
        {
            "type": "response.output_item.added",
            "sequence_number": next(seq),
            "output_index": 0,
            "item": message(None, "in_progress"),
        },
        {
            "type": "response.content_part.added",
            "sequence_number": next(seq),
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
    ]
    for piece in pieces:
        events.append(
            {
                "type": "response.output_text.delta",
                "sequence_number": next(seq),
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": piece,
                "obfuscation": "zz",
            }
        )
    if complete:
        text = "".join(pieces)
        events += [
            {
                "type": "response.output_item.done",
                "sequence_number": next(seq),
                "output_index": 0,
                "item": message(text),
            },
            {
                "type": "response.completed",
                "sequence_number": next(seq),
                "response": response("completed", [message(text)]),
            },
        ]
    return events


def run(events: list[Any], **kwargs: Any) -> Any:
    return aggregate(interaction(URL, sse(*((e["type"], e) for e in events)), **kwargs))


def test_text_stream() -> None:
    a = run(text_stream(["Hel", "lo ", "wörld"]))
    assert (a.api, a.streamed, a.model) == ("openai-responses", True, "gpt-test")
    assert a.text == "Hello wörld"
    assert a.finish_reason == "completed"
    assert a.usage == USAGE
    assert a.events == 9


def test_function_call_stream() -> None:
    events = [
        {"type": "response.created", "sequence_number": 0, "response": response("in_progress", [])},
        {
            "type": "response.output_item.added",
            "sequence_number": 1,
            "output_index": 0,
            "item": function_call("", "in_progress"),
        },
        {
            "type": "response.function_call_arguments.delta",
            "sequence_number": 2,
            "item_id": "fc_1",
            "output_index": 0,
            "delta": '{"city": ',
        },
        {
            "type": "response.function_call_arguments.delta",
            "sequence_number": 3,
            "item_id": "fc_1",
            "output_index": 0,
            "delta": '"Paris"}',
        },
        {
            "type": "response.output_item.done",
            "sequence_number": 4,
            "output_index": 0,
            "item": function_call('{"city": "Paris"}'),
        },
        {
            "type": "response.completed",
            "sequence_number": 5,
            "response": response("completed", [function_call('{"city": "Paris"}')]),
        },
    ]
    a = run(events)
    assert a.tool_calls == (ToolCall("weather", {"city": "Paris"}, "call_1"),)


def test_stream_cut_short_reads_the_running_snapshot() -> None:
    a = run(
        text_stream(["Part", "ial"], complete=False),
        error=StreamError("RemoteProtocolError", "peer closed"),
    )
    assert a.text == "Partial"
    assert a.finish_reason is None
    assert a.error == ProviderError("RemoteProtocolError", "peer closed")


def test_reasoning_summaries_refusal_and_encrypted_reasoning_from_items() -> None:
    reasoning = {
        "id": "rs_1",
        "type": "reasoning",
        "encrypted_content": "gAAA",
        "summary": [
            {"type": "summary_text", "text": "**One**\n\nFirst."},
            {"type": "summary_text", "text": "**Two**\n\nSecond."},
        ],
    }
    refusal = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "refusal", "refusal": "I can't help with that."}],
    }
    events = [
        {"type": "response.created", "sequence_number": 0, "response": response("in_progress", [])},
        {
            "type": "response.output_item.added",
            "sequence_number": 1,
            "output_index": 0,
            "item": {**reasoning, "summary": []},
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "sequence_number": 2,
            "item_id": "rs_1",
            "output_index": 0,
            "summary_index": 0,
            "delta": "**One**",
        },
        {
            "type": "response.output_item.done",
            "sequence_number": 3,
            "output_index": 0,
            "item": reasoning,
        },
        {
            "type": "response.output_item.added",
            "sequence_number": 4,
            "output_index": 1,
            "item": message(None, "in_progress"),
        },
        {
            "type": "response.output_item.done",
            "sequence_number": 5,
            "output_index": 1,
            "item": refusal,
        },
        {
            "type": "response.completed",
            "sequence_number": 6,
            "response": response("completed", [reasoning, refusal]),
        },
    ]
    a = run(events)
    assert a.reasoning == "**One**\n\nFirst.\n\n**Two**\n\nSecond."
    assert a.redacted_reasoning == 1
    assert a.refusal == "I can't help with that."
    assert a.text == ""


def test_failed_response_reports_its_error() -> None:
    failed = response("failed", [], error={"code": "server_error", "message": "Something broke."})
    terminal = {"type": "response.failed", "sequence_number": 50, "response": failed}
    events = [*text_stream(["Hi"], complete=False), terminal]
    a = run(events)
    assert a.error == ProviderError("server_error", "Something broke.")
    assert a.finish_reason == "failed"


def test_error_event() -> None:
    error = {
        "type": "error",
        "sequence_number": 1,
        "code": "rate_limit_exceeded",
        "message": "Slow down.",
        "param": None,
    }
    item = interaction(URL, sse(("error", error)))
    assert aggregate(item).error == ProviderError("rate_limit_exceeded", "Slow down.")
    assert [e.type for e in provider_events(item)] == ["error"]


def test_stream_not_starting_with_created_still_reads_the_final_response() -> None:
    # A stream resumed with starting_after begins mid-way; the SDK's state refuses it.
    events = text_stream(["Hello"])[4:]
    a = run(events)
    assert a.text == "Hello"
    assert a.error is None


def test_non_streamed_response_matches_the_stream() -> None:
    body = json.dumps(response("completed", [message("Hello wörld")])).encode()
    whole = aggregate(interaction(URL, body, content_type="application/json"))
    streamed = run(text_stream(["Hello", " wörld"]))
    assert whole.streamed is False
    strip = {"streamed", "events"}
    assert {k: v for k, v in whole.to_dict().items() if k not in strip} == {
        k: v for k, v in streamed.to_dict().items() if k not in strip
    }
    assert [
        e.type for e in provider_events(interaction(URL, body, content_type="application/json"))
    ] == ["response"]


def test_a_stream_the_sdk_cannot_place_and_that_never_finished_is_broken() -> None:
    # Deltas for an output item that was never added, then the connection ended.
    events = text_stream(["Hi"], complete=False)
    del events[2:4]  # no output_item.added, no content_part.added
    a = run(events)
    assert a.error is not None and a.error.type == "invalid_stream"
    assert a.text == ""
