"""CassetteChatModel: a real BaseChatModel replaying recorded chunks, with no HTTP at all."""

from __future__ import annotations

import asyncio
import functools
import operator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

import streamtest
from fixtures.apps.lc_streaming import Models, Provider, get_weather
from fixtures.provider_server import ProviderServer, Scenario
from streamtest.langchain import CassetteChatModel, normalize_events

QUESTION = "What is the weather in Paris?"
pytestmark = pytest.mark.parametrize("provider", ["openai", "anthropic"])


def total(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    return functools.reduce(operator.add, chunks)


def test_tool_calling_stream_replays_the_live_tool_calls_and_usage(
    provider: Provider, tmp_path: Path
) -> None:
    cassette = tmp_path / "model.jsonl"
    with ProviderServer(default=Scenario(tool_call=True)) as server:
        real = Models(provider, server.url).chat()
        live = total(list(real.bind_tools([get_weather]).stream(QUESTION)))
        recorder = CassetteChatModel(model=real, cassette=cassette, record_mode="all")
        recorded = total(list(recorder.bind_tools([get_weather]).stream(QUESTION)))
    # server gone, no model: the chunks come from the cassette
    replayer = CassetteChatModel(cassette=cassette, record_mode="none")
    replayed = total(list(replayer.bind_tools([get_weather]).stream(QUESTION)))
    for message in (recorded, replayed):
        assert message.tool_calls == live.tool_calls
        assert message.usage_metadata == live.usage_metadata
    assert live.tool_calls[0]["args"] == {"city": "Paris"}
    assert live.usage_metadata and live.usage_metadata["output_tokens"] == 3
    assert replayed.response_metadata == live.response_metadata
    # invoke() merges the same recorded stream into one AIMessage
    invoked = replayer.bind_tools([get_weather]).invoke(QUESTION)
    assert isinstance(invoked, AIMessage)
    assert invoked.tool_calls == live.tool_calls
    assert invoked.usage_metadata == live.usage_metadata


def chain(model: Any) -> Any:
    prompt = ChatPromptTemplate.from_template("tell me a joke about {topic}")
    return prompt | model | StrOutputParser()


async def events(runnable: Any, inputs: Any) -> list[dict[str, Any]]:
    return [dict(e) async for e in runnable.astream_events(inputs, version="v2")]


def test_events_recorded_through_the_wrapped_model_equal_the_replayed_ones(
    provider: Provider, tmp_path: Path
) -> None:
    cassette = tmp_path / "model.jsonl"
    with (
        ProviderServer(default=Scenario(echo=True)) as server,
        streamtest.use_cassette(cassette, record_mode="all"),
    ):
        model = CassetteChatModel(model=Models(provider, server.url).chat())
        live = asyncio.run(events(chain(model), {"topic": "parrot"}))
    with streamtest.use_cassette(cassette, record_mode="none") as tape:
        replayed = asyncio.run(events(chain(CassetteChatModel()), {"topic": "parrot"}))
    assert normalize_events(replayed) == normalize_events(live)
    # the wrapped model's HTTP was recorded too (the cassette was recording), but the replay
    # needs none of it: no server, no model
    assert len(tape.streams) == 1
    tokens = [e["data"]["chunk"].content for e in replayed if e["event"] == "on_chat_model_stream"]
    assert len([t for t in tokens if t]) > 5
    # exactly one model run: the wrapped model's own run never shows up in the events
    assert [e["name"] for e in live if e["event"] == "on_chat_model_start"] == ["CassetteChatModel"]


def test_batch_calls_get_the_answer_recorded_for_their_input(
    provider: Provider, tmp_path: Path
) -> None:
    cassette = tmp_path / "model.jsonl"
    topics = [{"topic": t} for t in ("cat", "dog", "eel", "owl")]
    with ProviderServer(default=Scenario(text="A joke", echo=True)) as server:
        recorder = CassetteChatModel(
            model=Models(provider, server.url).chat(), cassette=cassette, record_mode="all"
        )
        live = chain(recorder).batch(topics)
    replayer = CassetteChatModel(cassette=cassette, record_mode="none")
    assert chain(replayer).batch(list(reversed(topics))) == list(reversed(live))
    assert asyncio.run(chain(replayer).abatch(topics)) == live
    assert live[0] == "A joke [tell me a joke about cat]"


def test_an_unrecorded_prompt_names_the_closest_recorded_call(
    provider: Provider, tmp_path: Path
) -> None:
    cassette = tmp_path / "model.jsonl"
    with ProviderServer(default=Scenario(echo=True)) as server:
        recorder = CassetteChatModel(
            model=Models(provider, server.url).chat(), cassette=cassette, record_mode="all"
        )
        chain(recorder).invoke({"topic": "parrot"})
    replayer = CassetteChatModel(cassette=cassette, record_mode="none")
    with pytest.raises(streamtest.UnmatchedStreamError) as caught:
        chain(replayer).invoke({"topic": "penguin"})
    message = str(caught.value)
    assert str(cassette) in message and "chat_model" in message
    assert "penguin" in message and "parrot" in message


def test_without_a_model_a_missing_recording_is_an_error_and_nothing_is_written(
    provider: Provider, tmp_path: Path
) -> None:
    cassette = tmp_path / "model.jsonl"
    with pytest.raises(streamtest.StreamtestError, match="pass model="):
        CassetteChatModel(cassette=cassette, record_mode="once").invoke("hi")
    assert not cassette.exists()


def test_chunks_recorded_with_record_stream_replay_as_a_model(
    provider: Provider, tmp_path: Path
) -> None:
    cassette = tmp_path / "stream.jsonl"
    with ProviderServer(default=Scenario(tool_call=True)) as server:
        real = Models(provider, server.url).chat().bind_tools([get_weather])
        live = list(streamtest.record_stream(real.stream(QUESTION), path=cassette, name="m"))
    replayer = CassetteChatModel(cassette=cassette, stream_name="m", record_mode="none")
    # no key was recorded: any call replays the stream named "m"
    replayed = list(replayer.stream(QUESTION))
    assert total(replayed).tool_calls == total(live).tool_calls
    assert [c.content for c in replayed] == [c.content for c in live]


@pytest.mark.filterwarnings("ignore:The method .* is in beta")
def test_one_recording_serves_astream_ainvoke_and_v3_events(
    provider: Provider, tmp_path: Path
) -> None:
    cassette = tmp_path / "model.jsonl"
    with ProviderServer(default=Scenario(text="Blue, mostly.")) as server:
        recorder = CassetteChatModel(
            model=Models(provider, server.url).chat(), cassette=cassette, record_mode="all"
        )
        live = list(recorder.stream("what color is the sky?"))
    replayer = CassetteChatModel(cassette=cassette, record_mode="none")

    async def main() -> tuple[list[AIMessageChunk], AIMessage]:
        chunks = [c async for c in replayer.astream("what color is the sky?")]
        return chunks, await replayer.ainvoke("what color is the sky?")

    chunks, message = asyncio.run(main())
    assert [c.content for c in chunks] == [c.content for c in live]
    assert message.content == total(live).content == "Blue, mostly."
    stream = replayer.stream_events("what color is the sky?", version="v3")
    kinds = [event["event"] for event in stream]
    assert kinds[0] == "message-start" and kinds[-1] == "message-finish"
    assert stream.output.text == "Blue, mostly."
