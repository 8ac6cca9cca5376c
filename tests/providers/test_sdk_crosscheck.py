"""Cross-checks: the same recorded bytes replayed through each provider's real SDK (behind a
mock transport of the HTTP stack that SDK uses) must give what aggregate() gives.

The SDK side joins the deltas the way an application does, by hand, so it is independent of
the accumulators aggregate() uses; for Anthropic the SDK's own ``get_final_message`` shares
the accumulator but not our decoding, framing, or event feeding.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import httpx2
import ollama
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from streamtest._core.model import Interaction
from streamtest._providers import aggregate
from tests.providers.conftest import load_vcr, manifest

KEPT_HEADERS = ("content-type", "content-encoding")


def cases(api: str) -> list[Any]:
    out = []
    for row in manifest():
        if row["api"] != api:
            continue
        for n, item in enumerate(load_vcr(row["local_path"])):
            out.append(pytest.param(item, id=f"{row['local_path']}#{n}"))
    return out


def headers(item: Interaction) -> list[tuple[str, str]]:
    return [(k, v) for k, v in item.response.headers if k.lower() in KEPT_HEADERS]


def httpx2_client(item: Interaction) -> httpx2.Client:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            item.response.status, headers=headers(item), content=item.response.body
        )

    return httpx2.Client(transport=httpx2.MockTransport(handler))


def httpx_transport(item: Interaction) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            item.response.status, headers=headers(item), content=item.response.body
        )

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("item", cases("chat-completions"))
def test_openai_chat_sdk_deltas_match(item: Interaction) -> None:
    client = openai.OpenAI(
        api_key="sk-test", base_url="https://api.test/v1", http_client=httpx2_client(item)
    )
    result = aggregate(item)
    text = ""
    calls: dict[int, dict[str, Any]] = {}
    try:
        stream = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        for chunk in stream:
            for choice in chunk.choices:
                delta = choice.delta
                if isinstance(delta.content, str):  # Mistral's thinking arrives as lists
                    text += delta.content
                for call in delta.tool_calls or []:
                    entry = calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
                    entry["id"] = entry["id"] or call.id
                    if call.function is not None:
                        entry["name"] += call.function.name or ""
                        entry["arguments"] += call.function.arguments or ""
    except openai.APIError as exc:  # Groq's in-band error event
        assert result.error is not None
        assert exc.message == result.error.message
    else:
        assert result.error is None
    assert text == result.text
    expected = [(c["name"], json.loads(c["arguments"]), c["id"]) for _, c in sorted(calls.items())]
    assert expected == [(c.name, c.arguments, c.id) for c in result.tool_calls]


@pytest.mark.parametrize("item", cases("responses"))
def test_openai_responses_sdk_matches(item: Interaction) -> None:
    client = openai.OpenAI(
        api_key="sk-test", base_url="https://api.test/v1", http_client=httpx2_client(item)
    )
    result = aggregate(item)
    deltas = ""
    final: Any = None
    for event in client.responses.create(model="m", input="hi", stream=True):
        if event.type == "response.output_text.delta":
            deltas += event.delta
        elif event.type == "response.completed":
            final = event.response
    assert deltas == result.text == final.output_text
    calls = [
        (o.name, json.loads(o.arguments), o.call_id)
        for o in final.output
        if o.type == "function_call"
    ]
    assert calls == [(c.name, c.arguments, c.id) for c in result.tool_calls]
    assert final.usage.to_dict() == result.usage


@pytest.mark.parametrize("item", cases("messages"))
def test_anthropic_sdk_final_message_matches(item: Interaction) -> None:
    client = anthropic.Anthropic(
        api_key="sk-test", base_url="https://api.test", http_client=httpx2_client(item)
    )
    result = aggregate(item)
    with client.messages.stream(
        model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        streamed_text = "".join(stream.text_stream)
        message = stream.get_final_message()
    assert streamed_text == result.text
    assert "".join(b.text for b in message.content if b.type == "text") == result.text
    thinking = [b.thinking for b in message.content if b.type == "thinking"]
    assert "\n\n".join(thinking) == result.reasoning
    assert sum(b.type == "redacted_thinking" for b in message.content) == result.redacted_reasoning
    tools = [(b.name, b.input, b.id) for b in message.content if b.type == "tool_use"]
    assert tools == [(c.name, c.arguments, c.id) for c in result.tool_calls]
    assert message.stop_reason == result.finish_reason
    assert result.usage is not None
    assert message.usage.output_tokens == result.usage["output_tokens"]
    assert message.usage.input_tokens == result.usage["input_tokens"]


GEMINI_SSE = [p for p in cases("gemini") if "alt=sse" in p.values[0].request.url]


@pytest.mark.parametrize("item", GEMINI_SSE)
def test_google_genai_stream_matches(item: Interaction) -> None:
    http = httpx.Client(transport=httpx_transport(item))
    client = genai.Client(api_key="k", http_options=genai_types.HttpOptions(httpx_client=http))
    result = aggregate(item)
    text = reasoning = ""
    for chunk in client.models.generate_content_stream(model="gemini-test", contents="hi"):
        for part in (chunk.candidates or [])[0].content.parts or []:
            if part.thought:
                reasoning += part.text or ""
            else:
                text += part.text or ""
    assert (text, reasoning) == (result.text, result.reasoning)
    assert chunk.usage_metadata is not None and result.usage is not None
    assert chunk.usage_metadata.total_token_count == result.usage["totalTokenCount"]


@pytest.mark.parametrize("item", cases("ndjson"))
def test_ollama_client_stream_matches(item: Interaction) -> None:
    client = ollama.Client(host="http://127.0.0.1:11434", transport=httpx_transport(item))
    result = aggregate(item)
    parts = list(client.chat(model="m", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert "".join(p.message.content or "" for p in parts) == result.text
    assert parts[-1].done_reason == result.finish_reason
    assert result.usage is not None
    assert (parts[-1].eval_count, parts[-1].prompt_eval_count) == (
        result.usage["eval_count"],
        result.usage["prompt_eval_count"],
    )
