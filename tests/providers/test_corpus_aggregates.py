"""aggregate() over the real vcrpy corpus: every interaction of every file, then per-file facts.

The facts were read off the cassette files themselves (the deltas, the final usage event, the
error event), so a regression in any aggregator, or in the framing beneath it, fails here.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from streamtest._core.model import Chunk, Interaction, StreamError
from streamtest._providers import Aggregate, ProviderError, ToolCall, aggregate, provider_events
from tests.providers.conftest import load_vcr, manifest

ROWS = manifest()
MANIFEST_API = {
    "chat-completions": "openai-chat",
    "responses": "openai-responses",
    "messages": "anthropic-messages",
    "gemini": "gemini",
    "ndjson": "ollama",
    "converse-stream": "unknown",  # Bedrock Converse: not one of the APIs aggregated
}


def aggregates(name: str) -> list[Aggregate]:
    return [aggregate(interaction) for interaction in load_vcr(name)]


@pytest.mark.parametrize("row", [pytest.param(r, id=r["local_path"]) for r in ROWS])
def test_every_interaction_aggregates_as_the_manifest_api(row: dict[str, str]) -> None:
    results = aggregates(row["local_path"])
    assert len(results) == int(row["n_interactions"])
    assert {a.api for a in results} == {MANIFEST_API[row["api"]]}
    # The manifest counts data events per stream ([DONE] and pings included), independently.
    if row["n_events_per_stream"]:
        assert "+".join(str(a.events) for a in results) == row["n_events_per_stream"]
    features = row["features"].split(",")
    if "error" not in features:
        assert [a.error for a in results] == [None] * len(results)
        assert all(a.streamed for a in results)
    else:
        assert any(a.error for a in results)
    if MANIFEST_API[row["api"]] == "unknown":
        return  # no view of its content: the checks below are about content
    if "tool-calls" in features:
        assert any(a.tool_calls for a in results)
    if "reasoning" in features:
        assert any(a.reasoning or a.redacted_reasoning for a in results)
    if "usage" in features:
        assert any(a.usage for a in results)
    for a in results:
        assert a.finish_reason is not None or a.error is not None


@pytest.mark.parametrize("row", [pytest.param(r, id=r["local_path"]) for r in ROWS])
def test_provider_events_name_every_data_event(row: dict[str, str]) -> None:
    for interaction in load_vcr(row["local_path"]):
        events = [e for e in provider_events(interaction) if e.type != "comment"]
        assert len(events) == aggregate(interaction).events
        if aggregate(interaction).api != "unknown":
            assert all(e.type and e.type != "raw" for e in events)


def usage(a: Aggregate, *keys: str) -> list[Any]:
    assert a.usage is not None
    return [a.usage[key] for key in keys]


# ----------------------------------------------------------------- OpenAI chat completions


def test_openai_tool_call_then_answer() -> None:
    call, answer = aggregates("pydantic-ai/test_run_stream_sync_streams_real_model.yaml")
    assert call.tool_calls == (
        ToolCall("get_capital", {"country": "UK"}, "call_ZR5UUuTt3pf61kjwAJIYdVMj"),
    )
    assert call.finish_reason == "tool_calls"
    assert usage(call, "prompt_tokens", "completion_tokens") == [53, 15]
    assert answer.text == "The capital of the UK is London."
    assert answer.model == "gpt-4o-mini-2024-07-18"


def test_openai_parallel_tool_calls() -> None:
    first, _, last = aggregates("pydantic-ai/test_complex_agent_run.yaml")
    assert [(c.name, c.arguments) for c in first.tool_calls] == [
        ("get_country", {}),
        ("get_product_name", {}),
    ]
    assert last.tool_calls[0].name == "final_result"
    answers = last.tool_calls[0].arguments["answers"]
    assert answers[2] == {"label": "Product Name", "answer": "The product name is Pydantic AI."}


def test_openai_moderation_chunk_after_usage_keeps_usage() -> None:
    (a,) = aggregates("pydantic-ai/test_openai_moderation_stream.yaml")
    assert a.text == "Paris."
    assert usage(a, "prompt_tokens", "completion_tokens", "total_tokens") == [13, 11, 24]
    assert a.finish_reason == "stop"


def test_llm_multiply_tool_call() -> None:
    call, answer = aggregates("llm/test_tool_use_basic.yaml")
    assert call.tool_calls[0].name == "multiply"
    assert call.tool_calls[0].arguments == {"a": 1231, "b": 2331}
    assert "2,869,461" in answer.text


def test_openllmetry_tool_call_fragments_join() -> None:
    (a,) = aggregates("openllmetry/test_chat_tools_streaming.yaml")
    assert a.tool_calls == (
        ToolCall(
            "get_current_weather", {"location": "San Francisco"}, "call_P9Ayqu3UQNYuTBVAg2sLimh9"
        ),
    )
    assert a.usage is None  # this stream did not ask for usage


def test_azure_content_filter_chunk_first() -> None:
    results = aggregates("openllmetry/test_chat_streaming.yaml")
    # The first chunk is Azure's prompt filter result, with an empty model and no choices.
    assert results[0].model == "gpt-35-turbo"
    assert results[0].text.startswith("Why did the Opentelemetry developer bring a ladder")
    assert results[2].model == "gpt-4.1-mini-2025-04-14"


def test_mistral_typed_content_chunks() -> None:
    (a,) = aggregates("pydantic-ai/test_mistral_model_thinking_part_iter.yaml")
    assert a.reasoning.startswith("Okay, the user is asking how to cross the street.")
    assert a.text.startswith("To cross the street safely, follow these steps:\n\n1. Look both")
    assert a.text.endswith("you can ensure a safe crossing.")
    assert "Okay" not in a.text
    assert a.usage == {"prompt_tokens": 10, "total_tokens": 242, "completion_tokens": 232}


def test_groq_usage_inside_x_groq() -> None:
    (a,) = aggregates("openllmetry/test_chat_streaming_legacy.yaml")
    assert a.model == "llama3-8b-8192"
    assert usage(a, "prompt_tokens", "completion_tokens", "total_tokens") == [18, 73, 91]


def test_groq_error_event_mid_stream() -> None:
    failed, retried, answered = aggregates("pydantic-ai/test_tool_use_failed_error_streaming.yaml")
    assert failed.error is not None
    assert failed.error.type == "tool_use_failed"
    assert failed.error.message.startswith("Tool call validation failed")
    assert failed.reasoning.startswith("We need to call the tool with invalid parameters first")
    assert failed.finish_reason is None
    assert retried.tool_calls == (
        ToolCall(
            "get_something_by_name", {"name": "example"}, "fc_bfb39741-3748-4def-9886-a93fc9c64a90"
        ),
    )
    assert usage(retried, "completion_tokens_details") == [{"reasoning_tokens": 23}]
    assert answered.text == "The tool returned the expected result for the valid call."
    assert answered.error is None


def test_openrouter_reasoning_between_comments() -> None:
    (a,) = aggregates("pydantic-ai/test_openrouter_streaming_reasoning.yaml")
    assert a.reasoning == "This is a simple arithmetic question. 2+2 equals 4."
    assert a.text == "2 + 2 = 4"
    assert usage(a, "prompt_tokens", "completion_tokens", "cost") == [43, 36, 0.000669]


def test_openrouter_error_inside_a_chunk_that_also_has_usage() -> None:
    (a,) = aggregates("pydantic-ai/test_openrouter_stream_error.yaml")
    assert a.error == ProviderError("400", "Token limit reached")
    assert a.reasoning == "We need to respond to a greeting. The user"
    assert a.finish_reason == "length"
    assert usage(a, "prompt_tokens", "completion_tokens", "total_tokens") == [43, 10, 53]


def test_deepseek_reasoning_content() -> None:
    (a,) = aggregates("pydantic-ai/test_deepseek_model_thinking_stream.yaml")
    assert a.reasoning.startswith('Hmm, the user just said "Hello".')
    assert a.text == "Hello there! \U0001f60a How can I help you today?"
    assert usage(a, "completion_tokens_details") == [{"reasoning_tokens": 198}]


def test_bedrock_converse_is_not_aggregated_but_its_http_error_is() -> None:
    (stream,) = aggregates("pydantic-ai/test_bedrock_model_stream.yaml")
    assert (stream.api, stream.streamed, stream.events) == ("unknown", True, 33)
    (failed,) = aggregates("pydantic-ai/test_bedrock_streaming_error.yaml")
    assert failed.error == ProviderError("http_400", "The provided model identifier is invalid.")


# ----------------------------------------------------------------- OpenAI Responses


def test_responses_basic() -> None:
    (a,) = aggregates("llm/test_responses_basic_streaming.yaml")
    assert a.text == "pong"
    assert a.finish_reason == "completed"
    assert usage(a, "input_tokens", "output_tokens", "total_tokens") == [11, 5, 16]


def test_responses_function_call_with_encrypted_reasoning() -> None:
    (a,) = aggregates("pydantic-ai/test_openai_responses_streaming_usage.yaml")
    assert [(c.name, c.arguments) for c in a.tool_calls] == [("final_result", {"result": 6666})]
    assert a.tool_calls[0].id == "call_CWXgs68YprAjp6t0371hiPOI"
    assert a.redacted_reasoning == 1
    assert usage(a, "output_tokens_details") == [{"reasoning_tokens": 448}]


def test_responses_reasoning_summaries() -> None:
    (a,) = aggregates("pydantic-ai/test_openai_responses_thinking_part_iter.yaml")
    summaries = a.reasoning.split("\n\n**")
    assert len(summaries) == 4
    assert summaries[0].startswith("**Providing street crossing instructions**\n\nThe user")
    assert summaries[3].startswith("Providing safe crossing advice**")
    assert a.text.startswith("I'm not a road safety professional")
    assert a.model == "o3-mini-2025-01-31"


def test_responses_two_streams() -> None:
    results = aggregates("openllmetry/test_responses_streaming_async_with_context_manager.yaml")
    assert [a.text for a in results] == ["1, 2, 3, 4, 5.", "1, 2, 3, 4, 5."]


# ----------------------------------------------------------------- Anthropic


def test_anthropic_thinking() -> None:
    (a,) = aggregates("pydantic-ai/test_anthropic_model_thinking_part_stream.yaml")
    assert a.reasoning.startswith("This is a straightforward question about pedestrian safety.")
    assert a.text.startswith("Here are the basic steps for safely crossing the street:")
    assert usage(a, "input_tokens", "output_tokens") == [43, 282]
    assert a.finish_reason == "end_turn"


def test_anthropic_redacted_thinking() -> None:
    (a,) = aggregates("pydantic-ai/test_anthropic_model_thinking_part_redacted_stream.yaml")
    assert a.redacted_reasoning == 2
    assert a.reasoning == ""
    assert a.text.startswith("I notice that you've sent what appears to be")


def test_anthropic_short_answers() -> None:
    assert (
        aggregates("pydantic-ai/test_request_stream_fallback_for_high_max_tokens.yaml")[0].text
        == "2"
    )
    # The vcrpy YAML folds the line break inside the padded JSON into a space.
    assert aggregates("llm-anthropic/test_prompt.yaml")[0].text == "- Captain\n- Scoop"
    english, french = aggregates("llm-anthropic/test_async_prompt.yaml")
    assert english.text == "- Captain\n- Scoop"
    assert french.text == "- Capitaine\n- Bec (beak)"


def test_anthropic_gzip_tool_calls() -> None:
    call, answer = aggregates("llm-anthropic/test_tools.yaml")
    assert [c.name for c in call.tool_calls] == ["pelican_name_generator"] * 2
    assert [c.id for c in call.tool_calls] == [
        "toolu_01LtHJmixrs9NcWQkK8hu8hj",
        "toolu_01N8a4jWyf116qKTMqKKmjyt",
    ]
    assert call.finish_reason == "tool_use"
    assert answer.text.startswith("Here are two great names for your pet pelican:")


def test_anthropic_tool_input_fragments() -> None:
    (a,) = aggregates("openllmetry/test_anthropic_tools_streaming_legacy.yaml")
    assert [(c.name, c.arguments) for c in a.tool_calls] == [
        ("get_weather", {"location": "San Francisco, CA", "unit": "celsius"}),
        ("get_time", {"timezone": "America/Los_Angeles"}),
    ]
    assert usage(a, "input_tokens", "output_tokens") == [506, 153]


def test_anthropic_prompt_caching_usage() -> None:
    write, read = aggregates("openllmetry/test_anthropic_prompt_caching_stream_legacy.yaml")
    assert usage(write, "cache_creation_input_tokens", "cache_read_input_tokens") == [1165, 0]
    assert usage(read, "cache_creation_input_tokens", "cache_read_input_tokens") == [0, 1165]


# ----------------------------------------------------------------- Gemini and Ollama


def test_gemini_crlf_sse() -> None:
    (a,) = aggregates("pydantic-ai/test_google_model_stream.yaml")
    assert a.text == "The capital of France is Paris.\n"
    assert a.model == "gemini-2.0-flash-exp"
    # usageMetadata is cumulative: the last chunk's counts, not a sum.
    assert usage(a, "promptTokenCount", "candidatesTokenCount", "totalTokenCount") == [13, 8, 21]
    assert a.finish_reason == "STOP"


def test_gemini_thought_parts() -> None:
    (a,) = aggregates("pydantic-ai/test_google_model_thinking_part_iter.yaml")
    assert a.reasoning.startswith("**Clarifying User Goals**\n\nI'm currently")
    assert "Clarifying User Goals" not in a.text
    assert a.text.startswith("This is a great question!")


def test_gemini_json_array_gzip_with_function_call() -> None:
    think, call, answer = aggregates("llm-gemini/test_tools.yaml")
    assert think.reasoning.startswith("**Generating Pelican Names**")
    assert think.tool_calls == (ToolCall("pelican_name_generator", {}),)
    assert usage(think, "thoughtsTokenCount", "candidatesTokenCount") == [42, 12]
    assert call.tool_calls == (ToolCall("pelican_name_generator", {}),)
    assert answer.text == "How about Charles and Sammy?"


def test_ollama_ndjson_chat() -> None:
    (a,) = aggregates("openllmetry/test_ollama_streaming_chat_legacy.yaml")
    assert a.text.startswith("Why did the OpenTelemetry agent go to therapy?\n\nBecause")
    assert a.text.endswith("I hope it brought a smile to your face!)")
    assert a.finish_reason == "stop"
    assert usage(a, "prompt_eval_count", "eval_count", "total_duration") == [17, 50, 1897385625]


@pytest.mark.parametrize("row", [pytest.param(r, id=r["local_path"]) for r in ROWS])
def test_a_stream_cut_anywhere_still_aggregates(row: dict[str, str]) -> None:
    # A recording that failed mid-body: every prefix must aggregate, with the transport error,
    # and what arrived before the cut (text only ever grows as the cut moves later).
    for item in load_vcr(row["local_path"]):
        body = item.response.body
        texts = []
        for cut in sorted({len(body) * k // 12 for k in range(1, 12)}):
            response = msgspec.structs.replace(
                item.response,
                chunks=(Chunk(0.0, body[:cut]),),
                error=StreamError("RemoteProtocolError", "peer closed connection"),
            )
            a = aggregate(Interaction(item.request, response))
            assert a.error is not None
            texts.append(a.text)
        full = aggregate(item).text
        assert all(full.startswith(text) for text in texts)
