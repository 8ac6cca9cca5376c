"""Real-TCP tests for the loopback fake provider (fixtures/provider_server.py): no mocks."""

from __future__ import annotations

import asyncio
import csv
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
import yaml
from openai.types.responses import ResponseFunctionToolCall

from fixtures.provider_events import Api, Turn, reply_turn
from fixtures.provider_server import (
    ProviderServer,
    Scenario,
    realworld_dir,
)

TEXT = Scenario().text
WORDS = re.findall(r"\S+\s*", TEXT)
CHAT = {"model": "gpt-loop", "messages": [{"role": "user", "content": "hi"}], "stream": True}
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[ProviderServer]:
    """One server for the module (these tests never stop it), unlike the per-test conftest one."""
    with ProviderServer() as srv:
        yield srv


def raw_chunks(
    server: ProviderServer, scenario: Scenario, path: str = "/chat/completions"
) -> list[bytes]:
    with (
        httpx.Client() as client,
        client.stream("POST", server.base_url(scenario) + path, json=CHAT) as response,
    ):
        assert response.status_code == 200
        assert response.headers["transfer-encoding"] == "chunked"
        return list(response.iter_raw())


def sse_content(body: bytes) -> str:
    """Concatenate the chat ``delta.content`` pieces of an SSE body."""
    out = []
    for event in body.decode("utf-8").split("\n\n"):
        if event.startswith("data: {"):
            for choice in json.loads(event[len("data: ") :])["choices"]:
                out.append(choice["delta"].get("content") or "")
    return "".join(out)


# ------------------------------------------------------------------ write boundaries


def test_event_split_chunks_are_exactly_the_sse_events(server: ProviderServer) -> None:
    chunks = raw_chunks(server, Scenario(split="event"))
    assert len(chunks) == len(WORDS) + 3  # role chunk, words, finish chunk, [DONE]
    for chunk in chunks:
        assert chunk.startswith(b"data: ") and chunk.endswith(b"\n\n")
        assert chunk.count(b"\n\n") == 1
    assert chunks[-1] == b"data: [DONE]\n\n"
    assert sse_content(b"".join(chunks)) == TEXT


def test_coalesce_halves_and_utf8_rewrite_only_the_boundaries(server: ProviderServer) -> None:
    events = raw_chunks(server, Scenario(split="event"))
    body = b"".join(events)

    coalesced = raw_chunks(server, Scenario(split="coalesce", events_per_write=3))
    assert [c.count(b"\n\n") for c in coalesced[:-1]] == [3] * (len(coalesced) - 1)
    assert len(coalesced) == -(-len(events) // 3)
    assert b"".join(coalesced) == body

    halves = raw_chunks(server, Scenario(split="halves"))
    assert len(halves) == 2 * len(events)
    assert [halves[i] + halves[i + 1] for i in range(0, len(halves), 2)] == events
    assert all(abs(len(halves[i]) - len(halves[i + 1])) <= 1 for i in range(0, len(halves), 2))

    utf8 = raw_chunks(server, Scenario(split="utf8"))
    multibyte = [e for e in events if not e.isascii()]
    assert len(multibyte) >= 5
    assert len(utf8) == len(events) + len(multibyte)
    undecodable = 0
    for chunk in utf8:
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            undecodable += 1
    assert undecodable == 2 * len(multibyte)
    assert b"".join(utf8) == body
    assert sse_content(b"".join(utf8)) == TEXT


def test_gap_spaces_the_writes(server: ProviderServer) -> None:
    gap = 0.04
    scenario = Scenario(text="one two three", gap=gap)
    arrivals: list[float] = []
    with (
        httpx.Client() as client,
        client.stream("POST", server.base_url(scenario) + "/chat/completions", json=CHAT) as r,
    ):
        start = time.monotonic()
        for _ in r.iter_raw():
            arrivals.append(time.monotonic())
    n = len(arrivals)
    assert n == 6
    assert arrivals[0] - start < gap  # no sleep before the first write
    assert arrivals[-1] - arrivals[0] >= 0.8 * (n - 1) * gap
    assert arrivals[-1] - arrivals[0] < (n - 1) * gap + 1.0
    assert min(b - a for a, b in itertools.pairwise(arrivals)) >= 0.5 * gap


@pytest.mark.parametrize("lib", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_disconnect_after_raises_remote_protocol_error(server: ProviderServer, lib: Any) -> None:
    url = server.base_url(Scenario(disconnect_after=3)) + "/chat/completions"
    got: list[bytes] = []
    with lib.Client() as client, client.stream("POST", url, json=CHAT) as response:
        assert response.status_code == 200
        with pytest.raises(lib.RemoteProtocolError):
            for chunk in response.iter_raw():
                got.append(chunk)
    assert len(got) == 3
    assert all(c.endswith(b"\n\n") for c in got)


def test_keep_alive_serves_several_requests_on_one_socket(server: ProviderServer) -> None:
    path = server.base_url(Scenario(text="a b")).removeprefix(server.url) + "/chat/completions"
    body = json.dumps(CHAT).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for _ in range(2):
            sock.sendall(request)
            data = b""
            while not data.endswith(b"\r\n0\r\n\r\n"):
                piece = sock.recv(65536)
                assert piece, "connection closed before the terminating chunk"
                data += piece
            head, _, chunked = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b"transfer-encoding: chunked" in head.lower()
            events = []
            while True:
                size_line, _, chunked = chunked.partition(b"\r\n")
                size = int(size_line, 16)
                if size == 0:
                    break
                events.append(chunked[:size])
                assert chunked[size : size + 2] == b"\r\n"
                chunked = chunked[size + 2 :]
            assert len(events) == 5 and events[-1] == b"data: [DONE]\n\n"
    assert server.requests[-1].path == path and server.requests[-2].path == path
    assert server.requests[-1].json() == CHAT


def test_unknown_scenario_and_route_are_404(server: ProviderServer) -> None:
    with httpx.Client() as client:
        missing = client.post(f"{server.url}/s/99999/v1/chat/completions", json=CHAT)
        wrong = client.post(server.base_url() + "/embeddings", json={})
    assert missing.status_code == 404 and "error" in missing.json()
    assert wrong.status_code == 404 and "embeddings" in wrong.json()["error"]["message"]


def test_wait_idle_waits_for_the_stream(server: ProviderServer) -> None:
    url = server.base_url(Scenario(text="a b", gap=0.05)) + "/chat/completions"
    with httpx.Client() as client, client.stream("POST", url, json=CHAT) as response:
        pieces = response.iter_raw()
        first = next(pieces)
        with pytest.raises(TimeoutError):
            server.wait_idle(timeout=0.01)
        rest = list(pieces)
    server.wait_idle(timeout=2.0)
    assert first.startswith(b"data: ") and rest[-1] == b"data: [DONE]\n\n"


def test_stop_returns_promptly_mid_stream() -> None:
    srv = ProviderServer().start()
    url = srv.base_url(Scenario(gap=1.0)) + "/chat/completions"
    first = threading.Event()
    got: list[bytes] = []
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            with httpx.Client() as client, client.stream("POST", url, json=CHAT) as response:
                for chunk in response.iter_raw():
                    got.append(chunk)
                    first.set()
        except httpx.HTTPError as exc:
            errors.append(exc)
        finally:
            first.set()

    thread = threading.Thread(target=consume)
    thread.start()
    assert first.wait(5.0)
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 1.0
    thread.join(5.0)
    assert not thread.is_alive()
    assert len(got) == 1 and len(errors) == 1
    with pytest.raises(RuntimeError):
        srv.base_url()


# ------------------------------------------------------------------ real SDKs


def test_openai_chat_stream_text_with_usage(server: ProviderServer) -> None:
    scenario = Scenario(split="utf8")
    with openai.OpenAI(base_url=server.base_url(scenario), api_key="sk-test", max_retries=0) as c:
        stream = c.chat.completions.create(
            model="gpt-loop",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == TEXT
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(WORDS)
    assert {ch.model for ch in chunks} == {"gpt-loop"}
    assert server.requests[-1].json()["stream_options"] == {"include_usage": True}


def test_openai_chat_stream_tool_call(server: ProviderServer) -> None:
    scenario = Scenario(tool_call=True, split="halves")
    with openai.OpenAI(base_url=server.base_url(scenario), api_key="sk-test", max_retries=0) as c:
        chunks = list(
            c.chat.completions.create(
                model="gpt-loop",
                messages=[{"role": "user", "content": "weather?"}],
                tools=[WEATHER_TOOL],
                stream=True,
            )
        )
        with c.chat.completions.stream(
            model="gpt-loop",
            messages=[{"role": "user", "content": "weather?"}],
            tools=[WEATHER_TOOL],
        ) as stream:
            final = stream.get_final_completion()
    fragments = [
        call.function.arguments
        for ch in chunks
        for call in ch.choices[0].delta.tool_calls or []
        if call.function and call.function.arguments
    ]
    assert len(fragments) >= 3
    assert json.loads("".join(fragments)) == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    (call,) = final.choices[0].message.tool_calls or []
    assert call.id == "call_loopback_1" and call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


def test_openai_responses_stream(server: ProviderServer) -> None:
    scenario = Scenario(split="coalesce", events_per_write=2)
    with openai.OpenAI(base_url=server.base_url(scenario), api_key="sk-test", max_retries=0) as c:
        events = list(c.responses.create(model="gpt-loop", input="hi", stream=True))
        with c.responses.stream(model="gpt-loop", input="hi") as stream:
            final = stream.get_final_response()
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == WORDS
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert events[-1].response.output_text == TEXT
    assert final.output_text == TEXT and final.usage is not None
    assert final.usage.output_tokens == len(WORDS)


def test_generated_objects_pass_strict_sdk_validation(server: ProviderServer) -> None:
    with httpx.Client() as client:
        r = client.post(server.base_url() + "/responses", json={"model": "m", "stream": True})
        m = client.post(
            server.base_url(suffix="") + "/v1/messages", json={"model": "c", "stream": True}
        )
    completed = [
        json.loads(e.split("data: ", 1)[1]) for e in r.text.split("\n\n") if "completed" in e
    ]
    response = openai.types.responses.Response.model_validate(completed[-1]["response"])
    assert response.output_text == TEXT
    start = json.loads(m.text.split("\n\n")[0].split("data: ", 1)[1])
    assert anthropic.types.Message.model_validate(start["message"]).id == "msg_loopback_1"
    assert "event: ping\n" in m.text


def test_openai_async_chat_and_responses(server: ProviderServer) -> None:
    async def run() -> tuple[str, str]:
        base = server.base_url(Scenario(split="utf8"))
        async with openai.AsyncOpenAI(base_url=base, api_key="sk-test", max_retries=0) as c:
            stream = await c.chat.completions.create(
                model="gpt-loop", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            text = "".join([ch.choices[0].delta.content or "" async for ch in stream])
            events = await c.responses.create(model="gpt-loop", input="hi", stream=True)
            deltas = [e.delta async for e in events if e.type == "response.output_text.delta"]
        return text, "".join(deltas)

    assert asyncio.run(run()) == (TEXT, TEXT)


def test_openai_non_streaming_and_error_status(server: ProviderServer) -> None:
    with openai.OpenAI(base_url=server.base_url(), api_key="sk-test", max_retries=0) as c:
        completion = c.chat.completions.create(
            model="gpt-loop", messages=[{"role": "user", "content": "hi"}]
        )
    assert completion.choices[0].message.content == TEXT
    failing = server.base_url(Scenario(status=503))
    with (
        openai.OpenAI(base_url=failing, api_key="sk-test", max_retries=0) as c,
        pytest.raises(openai.APIStatusError) as info,
    ):
        c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 503


def test_anthropic_messages_stream(server: ProviderServer) -> None:
    scenario = Scenario(split="utf8")
    base = server.base_url(scenario, suffix="")
    with (
        anthropic.Anthropic(base_url=base, api_key="sk-ant-test", max_retries=0) as client,
        client.messages.stream(
            model="claude-loop", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        ) as stream,
    ):
        pieces = list(stream.text_stream)
        message = stream.get_final_message()
    assert pieces == WORDS
    assert message.id == "msg_loopback_1" and message.stop_reason == "end_turn"
    assert message.content[0].type == "text" and message.content[0].text == TEXT
    assert message.usage.output_tokens == len(WORDS)
    assert server.requests[-1].path.endswith("/v1/messages")


# ------------------------------------------------------------------ tool loops and echo

ASK = [{"role": "user", "content": "weather?"}]
RESPONSES_TOOL: Any = {
    "type": "function",
    "name": "get_weather",
    "parameters": WEATHER_TOOL["function"]["parameters"],
    "strict": False,
}
ANTHROPIC_TOOL: Any = {
    "name": "get_weather",
    "input_schema": WEATHER_TOOL["function"]["parameters"],
}


def openai_client(server: ProviderServer, scenario: Scenario) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url(scenario), api_key="x", max_retries=0)


def anthropic_client(server: ProviderServer, scenario: Scenario) -> anthropic.Anthropic:
    base = server.base_url(scenario, suffix="")
    return anthropic.Anthropic(base_url=base, api_key="x", max_retries=0)


def test_anthropic_tool_use_stream_and_message(server: ProviderServer) -> None:
    ask: Any = {"model": "claude-loop", "max_tokens": 64, "messages": ASK}
    with anthropic_client(server, Scenario(tool_call=True, split="halves")) as client:
        events = list(client.messages.create(**ask, tools=[ANTHROPIC_TOOL], stream=True))
        with client.messages.stream(**ask, tools=[ANTHROPIC_TOOL]) as stream:
            final = stream.get_final_message()
        whole = client.messages.create(**ask, tools=[ANTHROPIC_TOOL])
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 3,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[1]
    assert start.type == "content_block_start" and start.content_block.type == "tool_use"
    assert start.content_block.input == {} and start.content_block.id == "toolu_loopback_1"
    fragments = [
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert json.loads("".join(fragments)) == {"city": "Paris"}
    delta = events[-2]
    assert delta.type == "message_delta" and delta.delta.stop_reason == "tool_use"
    assert delta.usage.output_tokens == len(fragments)
    (block,) = final.content
    assert block.type == "tool_use" and block.name == "get_weather"
    assert block.id == "toolu_loopback_1" and block.input == {"city": "Paris"}
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == len(fragments)
    assert whole.model_dump() == final.model_dump()


def test_openai_responses_function_call_stream_and_object(server: ProviderServer) -> None:
    ask: Any = {"model": "gpt-loop", "input": "weather?", "tools": [RESPONSES_TOOL]}
    with openai_client(server, Scenario(tool_call=True, split="utf8")) as client:
        events = list(client.responses.create(**ask, stream=True))
        with client.responses.stream(**ask) as stream:
            final = stream.get_final_response()
        whole = client.responses.create(**ask)
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * 3,
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    added = events[2]
    assert added.type == "response.output_item.added" and added.item.type == "function_call"
    assert (added.item.id, added.item.arguments) == ("fc_loopback_1", "")
    fragments = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert json.loads("".join(fragments)) == {"city": "Paris"}
    completed = events[-1]
    assert completed.type == "response.completed"
    for response in (final, whole, completed.response):
        (call,) = response.output
        assert isinstance(call, ResponseFunctionToolCall) and call.status == "completed"
        assert (call.id, call.call_id, call.name) == (
            "fc_loopback_1",
            "call_loopback_1",
            "get_weather",
        )
        assert json.loads(call.arguments) == {"city": "Paris"}
        assert response.output_text == ""
        assert response.usage is not None and response.usage.output_tokens == len(fragments)


def ask_chat(server: ProviderServer, scenario: Scenario, messages: Any, stream: bool) -> Any:
    """(text, completion tokens) of a chat completion, streamed or not."""
    with openai_client(server, scenario) as client:
        if not stream:
            done = client.chat.completions.create(model="m", messages=messages)
            assert done.usage is not None and done.choices[0].finish_reason == "stop"
            return done.choices[0].message.content, done.usage.completion_tokens
        chunks = list(
            client.chat.completions.create(
                model="m", messages=messages, stream=True, stream_options={"include_usage": True}
            )
        )
    assert chunks[-1].usage is not None
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks[-1].usage.completion_tokens


def ask_responses(server: ProviderServer, scenario: Scenario, items: Any, stream: bool) -> Any:
    """(text, output tokens) of a Responses call, streamed or not."""
    with openai_client(server, scenario) as client:
        if stream:
            events = list(client.responses.create(model="m", input=items, stream=True))
            deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
            completed = events[-1]
            assert completed.type == "response.completed"
            done = completed.response
            assert "".join(deltas) == done.output_text
        else:
            done = client.responses.create(model="m", input=items)
    assert done.usage is not None and done.output[0].type == "message"
    return done.output_text, done.usage.output_tokens


def ask_anthropic(server: ProviderServer, scenario: Scenario, messages: Any, stream: bool) -> Any:
    """(text, output tokens) of an Anthropic message, streamed or not."""
    done: anthropic.types.Message
    pieces: list[str] | None = None
    with anthropic_client(server, scenario) as client:
        if stream:
            with client.messages.stream(model="c", max_tokens=64, messages=messages) as s:
                pieces = list(s.text_stream)
                done = s.get_final_message()
        else:
            done = client.messages.create(model="c", max_tokens=64, messages=messages)
    (block,) = done.content
    assert done.stop_reason == "end_turn" and isinstance(block, anthropic.types.TextBlock)
    assert pieces is None or "".join(pieces) == block.text
    return block.text, done.usage.output_tokens


CALL: Any = {"id": "call_loopback_1", "type": "function"}
CALL["function"] = {"name": "get_weather", "arguments": '{"city": "Paris"}'}
TOOL_USE: Any = {"type": "tool_use", "id": "toolu_loopback_1", "name": "get_weather"}
TOOL_USE["input"] = {"city": "Paris"}
FOLLOW_UPS = [
    pytest.param(
        ask_chat,
        [
            *ASK,
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_loopback_1", "content": "sunny"},
        ],
        id="chat",
    ),
    pytest.param(
        ask_responses,
        [
            *ASK,
            {
                "type": "function_call",
                "call_id": "call_loopback_1",
                "name": "get_weather",
                "arguments": '{"city": "Paris"}',
            },
            {"type": "function_call_output", "call_id": "call_loopback_1", "output": "sunny"},
        ],
        id="responses",
    ),
    pytest.param(
        ask_anthropic,
        [
            *ASK,
            {"role": "assistant", "content": [TOOL_USE]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_loopback_1", "content": "sunny"}
                ],
            },
        ],
        id="anthropic",
    ),
]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize(("ask", "conversation"), FOLLOW_UPS)
def test_a_tool_result_gets_the_text_answer(
    server: ProviderServer, ask: Any, conversation: Any, stream: bool
) -> None:
    assert ask(server, Scenario(tool_call=True), conversation, stream) == (TEXT, len(WORDS))
    echoed = f"sunny! [{ASK[0]['content']}]"  # the question, not the tool result, is echoed
    scenario = Scenario(text="sunny!", tool_call=True, echo=True)
    assert ask(server, scenario, conversation, stream) == (echoed, 2)


def text_parts(kind: str, *texts: str) -> list[dict[str, str]]:
    return [{"type": kind, "text": t} for t in texts]


ECHOES = [
    pytest.param(ask_chat, [{"role": "user", "content": "question"}], "question", id="chat-str"),
    pytest.param(
        ask_chat,
        [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": text_parts("text", "naïve", "café?")},
        ],
        "naïve café?",
        id="chat-parts-last-user",
    ),
    pytest.param(ask_responses, "bare input", "bare input", id="responses-bare-str"),
    pytest.param(
        ask_responses,
        [
            {"role": "user", "content": "first"},
            {"type": "message", "role": "user", "content": text_parts("input_text", "a", "b")},
        ],
        "a b",
        id="responses-parts-last-user",
    ),
    pytest.param(
        ask_anthropic, [{"role": "user", "content": "question"}], "question", id="anthropic-str"
    ),
    pytest.param(
        ask_anthropic,
        [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": text_parts("text", "日本語", "too")},
        ],
        "日本語 too",
        id="anthropic-blocks-last-user",
    ),
]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize(("ask", "conversation", "echoed"), ECHOES)
def test_echo_answers_with_the_last_user_prompt(
    server: ProviderServer, ask: Any, conversation: Any, echoed: str, stream: bool
) -> None:
    scenario = Scenario(text="Answer:", echo=True, split="utf8")
    text, tokens = ask(server, scenario, conversation, stream)
    assert text == f"Answer: [{echoed}]"
    assert tokens == len(text.split())
    assert ask(server, Scenario(text="Answer:"), conversation, stream) == ("Answer:", 1)


EDGES = [
    pytest.param("chat", {}, Turn("A []"), id="no-conversation"),
    pytest.param("chat", {"messages": "junk"}, Turn("A []"), id="not-a-list"),
    pytest.param(
        "responses", {"input": [1, {"role": "user", "content": ""}]}, Turn("A []"), id="empty"
    ),
    pytest.param(
        "messages",
        {"messages": [{"role": "user", "content": [{"type": "image"}]}]},
        Turn("A []"),
        id="user-without-text",
    ),
    pytest.param(
        "messages",
        {"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": []}]},
        Turn("A [q]"),
        id="skips-textless-user",
    ),
    pytest.param(
        "responses",
        {"input": [{"type": "function_call_output", "role": "user", "content": "x"}]},
        Turn("A []"),
        id="tool-output-is-not-a-prompt",
    ),
]


@pytest.mark.parametrize(("api", "request_body", "turn"), EDGES)
def test_reply_turn_edges(api: Api, request_body: dict[str, Any], turn: Turn) -> None:
    assert reply_turn(Scenario(text="A", echo=True), api, request_body) == turn
    assert reply_turn(Scenario(text="A"), api, request_body) == Turn("A")


# ------------------------------------------------------------------ realworld cassettes


def _manifest() -> list[str]:
    root = realworld_dir()
    if root is None or not (root / "MANIFEST.tsv").is_file():
        return []
    with (root / "MANIFEST.tsv").open(encoding="utf-8", newline="") as fh:
        return [row["local_path"] for row in csv.DictReader(fh, delimiter="\t")]


LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # safe_load semantics, faster


def _recorded(path: Path) -> list[tuple[int, dict[str, str], bytes]]:
    """Independent reading of a cassette: (status, content-type/encoding headers, body)."""
    out = []
    for interaction in yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)["interactions"]:
        resp = interaction["response"]
        body = resp.get("body") or {}
        if "parsed_body" in resp or "parsed_body" in body:
            parsed = resp.get("parsed_body", body.get("parsed_body"))
            raw = json.dumps(parsed, ensure_ascii=False, separators=(",", ":")).encode()
        else:
            value = body["string"]
            raw = value if isinstance(value, bytes) else value.encode("utf-8")
        headers = {
            k.lower(): ", ".join(v)
            for k, v in resp.get("headers", {}).items()
            if k.lower() in ("content-type", "content-encoding")
        }
        out.append((resp["status"]["code"], headers, raw))
    return out


MANIFEST = _manifest()


def test_realworld_manifest_is_present() -> None:
    if realworld_dir() is None:
        pytest.skip("realworld folder not available")
    assert len(MANIFEST) >= 20
    assert all((realworld_dir() or Path()).joinpath(p).is_file() for p in MANIFEST)


@pytest.mark.parametrize("name", MANIFEST or ["<none>"])
def test_realworld_bodies_are_byte_identical(server: ProviderServer, name: str) -> None:
    root = realworld_dir()
    if root is None or name == "<none>":
        pytest.skip("realworld folder not available")
    recorded = _recorded(root / name)
    url = server.base_url(Scenario(realworld=name)) + "/anything"
    with httpx.Client() as client:
        for k in range(len(recorded) + 1):  # one extra request wraps around to interaction 0
            status, headers, body = recorded[k % len(recorded)]
            with client.stream("POST", url, json={"k": k}) as response:
                chunks = list(response.iter_raw())
            assert response.status_code == status
            assert {h: response.headers.get(h) for h in headers} == headers
            assert b"".join(chunks) == body
            assert all(chunks)
            if "content-encoding" in headers:
                assert len(chunks) == 4
            elif "ndjson" in headers.get("content-type", ""):
                assert len(chunks) == body.count(b"\n") + (not body.endswith(b"\n"))
            elif "event-stream" in headers.get("content-type", ""):
                # every SSE event boundary is a write boundary (h11 may split big writes further)
                event_ends = {m.end() for m in re.finditer(rb"\r\n\r\n|\n\n", body)}
                chunk_ends = set(itertools.accumulate(len(c) for c in chunks))
                assert len(event_ends) >= 1
                assert event_ends <= chunk_ends


def test_realworld_env_dir_and_body_shapes(
    server: ProviderServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def response(status: int, ctype: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
        headers = {"Content-Type": [ctype], "X-Other": ["dropped"]}
        return {"status": {"code": status, "message": "x"}, "headers": headers, **body, **extra}

    sse_crlf = 'data: {"a": "é"}\r\n\r\ndata: [DONE]\r\n\r\n'
    ndjson = '{"n": 1}\n{"n": 2}\n{"n": 3}'
    blob = bytes(range(256)) * 3
    cassette = {
        "version": 1,
        "interactions": [
            {"response": response(200, "text/event-stream", {"body": {"string": sse_crlf}})},
            {"response": response(200, "application/x-ndjson", {"body": {"string": ndjson}})},
            {"response": response(429, "application/json", {}, parsed_body={"error": "slow"})},
            {"response": response(200, "application/octet-stream", {"body": {"string": blob}})},
        ],
    }
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yaml").write_text(yaml.safe_dump(cassette), encoding="utf-8")
    monkeypatch.setenv("STREAMTEST_REALWORLD_DIR", str(tmp_path))
    assert realworld_dir() == tmp_path
    url = server.base_url(Scenario(realworld="sub/c.yaml")) + "/x"
    served = []
    with httpx.Client() as client:
        for _ in range(4):
            with client.stream("GET", url) as r:
                served.append((r.status_code, r.headers, list(r.iter_raw())))
    (s1, h1, c1), (s2, _, c2), (s3, h3, c3), (s4, _, c4) = served
    assert c1 == [b'data: {"a": "\xc3\xa9"}\r\n\r\n', b"data: [DONE]\r\n\r\n"]
    assert h1["content-type"] == "text/event-stream" and "x-other" not in h1
    assert c2 == [b'{"n": 1}\n', b'{"n": 2}\n', b'{"n": 3}']
    assert s3 == 429 and json.loads(b"".join(c3)) == {"error": "slow"}
    assert h3["content-type"] == "application/json"
    assert b"".join(c4) == blob and len(c4) == 4
    assert (s1, s2, s4) == (200, 200, 200)
    monkeypatch.setenv("STREAMTEST_REALWORLD_DIR", str(tmp_path / "missing"))
    assert realworld_dir() is None
