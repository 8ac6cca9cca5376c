"""LangChain's streaming concepts, replayed at the wire under the real ChatOpenAI/ChatAnthropic.

Every example of fixtures/apps/lc_streaming.py, for both providers: what the app sees live from
the loopback provider equals what it sees replayed (server stopped), after normalization; and
the committed cassettes replay offline into the snapshots kept beside this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pytest
from langchain_core.messages import AIMessageChunk

import streamtest
from fixtures.apps.lc_streaming import EXAMPLES, MATCH_ON, PROVIDERS, Example, Models, Provider
from fixtures.provider_server import ProviderServer
from streamtest.langchain import normalize, normalize_events
from streamtest.snapshot import StreamSnapshot

CASES = [
    pytest.param(example, provider, id=f"{name}-{provider}")
    for name, example in EXAMPLES.items()
    for provider in PROVIDERS
]


pytestmark = pytest.mark.filterwarnings("ignore:The method .* is in beta")  # v3 events


def stable(value: Any, order: Literal["arrival", "tree"] = "arrival") -> Any:
    """What the app saw, as plain values equal across runs (events normalized as a sequence)."""
    if isinstance(value, Mapping):
        return {key: stable(item, order) for key, item in value.items()}
    if isinstance(value, list) and value and all(_is_event(item) for item in value):
        return normalize_events(value, order=order)
    return normalize(value)


def _is_event(item: object) -> bool:
    return isinstance(item, Mapping) and "event" in item


def replay(example: Example, provider: Provider, cassette: Path) -> Any:
    seen, tape, _ = replay_raw(example, provider, cassette)
    return seen, tape


def replay_raw(example: Example, provider: Provider, cassette: Path) -> Any:
    with streamtest.use_cassette(cassette, record_mode="none", match_on=MATCH_ON) as tape:
        raw = example(Models(provider))
    return stable(raw, example.order), tape, raw


def streamed_chunks(raw: Any) -> list[AIMessageChunk] | None:
    """The model's chunks an example saw, when it saw them one by one."""
    chunks = raw.get("tokens") if isinstance(raw, dict) else raw
    if isinstance(chunks, list) and chunks and all(isinstance(c, AIMessageChunk) for c in chunks):
        return chunks
    return None


@pytest.mark.parametrize(("example", "provider"), CASES)
def test_live_equals_replayed(example: Example, provider: Provider, tmp_path: Path) -> None:
    cassette = tmp_path / "c.jsonl"
    with ProviderServer(default=example.scenario) as server:
        with streamtest.use_cassette(cassette, record_mode="all", match_on=MATCH_ON):
            live = stable(example(Models(provider, server.url)), example.order)
        requests = len(server.requests)
    replayed, tape = replay(example, provider, cassette)  # the server is gone
    assert replayed == live
    assert len(tape.interactions) == requests > 0


@pytest.mark.parametrize(("example", "provider"), CASES)
def test_committed_cassette_replays_offline_into_its_snapshots(
    example: Example, provider: Provider, stream_snapshot: StreamSnapshot
) -> None:
    cassette = example.cassette(provider)
    if not cassette.exists():
        pytest.fail(f"{cassette} is missing: run python -m fixtures.record_examples")
    first, tape, raw = replay_raw(example, provider, cassette)
    again, _ = replay(example, provider, cassette)
    assert first == again
    assert tape.interactions  # each example reaches its provider at least once
    stream_snapshot.value(first, name="seen")
    chunks = streamed_chunks(raw)
    if chunks is not None:
        stream_snapshot.aggregate(chunks)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_invoke_inside_a_chain_streams_only_when_the_app_streams_events(provider: Provider) -> None:
    def sent(name: str) -> list[bool]:
        tape = streamtest.load_cassette(EXAMPLES[name].cassette(provider))
        return [bool(i.request.json().get("stream")) for i in tape.interactions]

    assert sent("invoke_inside_events") == [True]
    assert sent("invoke_inside_plain") == [False]
    seen, _ = replay(
        EXAMPLES["invoke_inside_events"],
        provider,
        EXAMPLES["invoke_inside_events"].cassette(provider),
    )
    assert len([t for t in seen["tokens"] if t["content"]]) > 3  # token by token, from invoke()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_cassette_with_streaming_and_plain_requests_answers_each(provider: Provider) -> None:
    example = EXAMPLES["invoke_and_batch"]
    tape = streamtest.load_cassette(example.cassette(provider))
    assert {bool(i.request.json().get("stream")) for i in tape.interactions} == {True, False}
    seen, _ = replay(example, provider, example.cassette(provider))
    assert [answer.rsplit("[", 1)[1] for answer in seen["batch"]] == [
        "tell me a joke about cat]",
        "tell me a joke about dog]",
        "tell me a joke about eel]",
    ]
    assert "".join(seen["stream"]) == seen["invoke"]


@pytest.mark.parametrize("name", ["parallel_events", "custom_events"])
def test_fifty_replays_give_identical_normalized_events(name: str) -> None:
    example = EXAMPLES[name]
    cassette = example.cassette("openai")
    first, _ = replay(example, "openai", cassette)
    for _ in range(49):
        again, _ = replay(example, "openai", cassette)
        assert again == first
