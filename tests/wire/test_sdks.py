"""Record through the real openai 3.x and anthropic SDKs over TCP, then replay with no server.

openai 3.x and anthropic 2.x send through httpx2; openai is also given plain httpx clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

import streamtest
from fixtures.provider_server import ProviderServer, Scenario

KEY = "sk-loopback-test-key-0123456789"
MESSAGES = [{"role": "user", "content": "Say hello"}]


def record_then_replay(
    server: ProviderServer, path: Path, run: Callable[[str], Any], scenario: Scenario
) -> tuple[Any, Any]:
    """``run(base_url)`` live while recording, then again from the cassette with no server."""
    base = server.base_url(scenario, suffix="/v1")
    with streamtest.use_cassette(path, record_mode="all"):
        live = run(base)
    served = len(server.requests)
    server.stop()
    with streamtest.use_cassette(path, record_mode="none"):
        replayed = run(base)
    assert len(server.requests) == served
    return live, replayed


def openai_chat(http_client: Callable[[], Any] | None = None) -> Callable[[str], Any]:
    def run(base: str) -> Any:
        kwargs = {} if http_client is None else {"http_client": http_client()}
        with openai.OpenAI(base_url=base, api_key=KEY, max_retries=0, **kwargs) as client:
            stream = client.chat.completions.create(
                model="gpt-test",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
            return [chunk.model_dump() for chunk in stream]

    return run


def openai_chat_async(http_client: Callable[[], Any] | None = None) -> Callable[[str], Any]:
    async def main(base: str) -> Any:
        kwargs = {} if http_client is None else {"http_client": http_client()}
        async with openai.AsyncOpenAI(
            base_url=base, api_key=KEY, max_retries=0, **kwargs
        ) as client:
            stream = await client.chat.completions.create(
                model="gpt-test", messages=MESSAGES, stream=True
            )
            return [chunk.model_dump() async for chunk in stream]

    return lambda base: asyncio.run(main(base))


def openai_responses(base: str) -> Any:
    with (
        openai.OpenAI(base_url=base, api_key=KEY, max_retries=0) as client,
        client.responses.stream(model="gpt-test", input="Say hello") as stream,
    ):
        events = [event.model_dump(warnings=False) for event in stream]
        return events, stream.get_final_response().output_text


def anthropic_messages(base: str) -> Any:
    with (
        anthropic.Anthropic(
            base_url=base.removesuffix("/v1"), api_key=KEY, max_retries=0
        ) as client,
        client.messages.stream(model="claude-test", max_tokens=64, messages=MESSAGES) as stream,
    ):
        texts = list(stream.text_stream)
        return texts, stream.get_final_message().model_dump()


def anthropic_messages_async(base: str) -> Any:
    async def main() -> Any:
        async with (
            anthropic.AsyncAnthropic(
                base_url=base.removesuffix("/v1"), api_key=KEY, max_retries=0
            ) as client,
            client.messages.stream(model="claude-test", max_tokens=64, messages=MESSAGES) as stream,
        ):
            texts = [text async for text in stream.text_stream]
            return texts, (await stream.get_final_message()).model_dump()

    return asyncio.run(main())


TEXT = "Hello, wörld! naïve café — 日本語."
CASES = [
    pytest.param(openai_chat(), Scenario(text=TEXT, split="utf8"), id="openai-chat-sync"),
    pytest.param(openai_chat(), Scenario(tool_call=True), id="openai-chat-tool-call"),
    pytest.param(openai_chat_async(), Scenario(text=TEXT, split="halves"), id="openai-chat-async"),
    pytest.param(
        openai_chat(httpx.Client),
        Scenario(text=TEXT, split="coalesce"),
        id="openai-chat-httpx-client",
    ),
    pytest.param(
        openai_chat_async(httpx.AsyncClient),
        Scenario(text=TEXT),
        id="openai-chat-httpx-async-client",
    ),
    pytest.param(openai_responses, Scenario(text=TEXT), id="openai-responses"),
    pytest.param(anthropic_messages, Scenario(text=TEXT, split="utf8"), id="anthropic-sync"),
    pytest.param(anthropic_messages_async, Scenario(text=TEXT), id="anthropic-async"),
]


@pytest.mark.parametrize(("run", "scenario"), CASES)
def test_sdk_results_replay_identically(
    run: Callable[[str], Any], scenario: Scenario, server: ProviderServer, tmp_path: Path
) -> None:
    live, replayed = record_then_replay(server, tmp_path / "c.jsonl", run, scenario)
    assert replayed == live
    assert live  # the SDK produced something to compare
    cassette_text = (tmp_path / "c.jsonl").read_text()
    assert KEY not in cassette_text


def test_sdk_text_matches_what_the_server_streamed(server: ProviderServer, tmp_path: Path) -> None:
    live, _ = record_then_replay(
        server, tmp_path / "c.jsonl", anthropic_messages, Scenario(text=TEXT)
    )
    texts, final = live
    assert "".join(texts) == TEXT
    assert final["content"][0]["text"] == TEXT


def test_openai_sdk_sees_a_midstream_break_the_same_way(
    server: ProviderServer, tmp_path: Path
) -> None:
    def run(base: str) -> Any:
        seen: list[Any] = []
        with openai.OpenAI(base_url=base, api_key=KEY, max_retries=0) as client:
            try:
                stream = client.chat.completions.create(
                    model="gpt-test", messages=MESSAGES, stream=True
                )
                seen.extend(chunk.model_dump() for chunk in stream)
            except openai.APIConnectionError as exc:
                return seen, type(exc.__cause__).__name__, str(exc.__cause__)
        raise AssertionError("the stream did not break")

    live, replayed = record_then_replay(
        server, tmp_path / "c.jsonl", run, Scenario(text=TEXT, disconnect_after=3)
    )
    assert replayed == live
    assert live[1] == "RemoteProtocolError"
