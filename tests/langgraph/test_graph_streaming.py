"""LangGraph graphs streamed in every stream mode, replayed at the wire under real chat models.

Every example of fixtures/apps/lg_streaming.py, for both providers: what the app sees live from
the loopback provider equals what it sees replayed (server stopped), after
`streamtest.langgraph.normalize_parts`; the committed cassettes replay offline into the
snapshots kept beside this file; parallel branches replay identically fifty times; the tool
loop and the interrupt/resume round trip are checked on the parts themselves.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langgraph.types import Interrupt

import streamtest
from fixtures.apps.lg_streaming import (
    EXAMPLES,
    MATCH_ON,
    PROVIDERS,
    WEATHER,
    Example,
    Models,
    Provider,
    Seen,
)
from fixtures.provider_server import ProviderServer
from streamtest.langgraph import normalize_parts, normalize_state
from streamtest.snapshot import StreamSnapshot

CASES = [
    pytest.param(example, provider, id=f"{name}-{provider}")
    for name, example in EXAMPLES.items()
    for provider in PROVIDERS
]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SNAPSHOTS = Path(__file__).parent / "__snapshots__" / Path(__file__).stem


def options(example: Example) -> dict[str, Any]:
    """How the example streamed, for `normalize_parts`."""
    return {"stream_mode": example.modes, "subgraphs": example.subgraphs}


def stable(example: Example, seen: Seen) -> dict[str, Any]:
    """What the app saw, as plain values equal across runs."""
    result: dict[str, Any] = {"parts": normalize_parts(seen.parts, **options(example))}
    if seen.state is not None:
        result["state"] = normalize_state(seen.state)
        result["resumed_at"] = seen.resumed_at
    return result


def replay(example: Example, provider: Provider, cassette: Path | None = None) -> Any:
    """The example replayed from ``cassette`` (the committed one by default): what it saw, and
    the cassette."""
    path = cassette or example.cassette(provider)
    with streamtest.use_cassette(path, record_mode="none", match_on=MATCH_ON) as tape:
        seen = example(Models(provider))
    return seen, tape


@pytest.mark.parametrize(("example", "provider"), CASES)
def test_live_equals_replayed(example: Example, provider: Provider, tmp_path: Path) -> None:
    cassette = tmp_path / "c.jsonl"
    with ProviderServer(default=example.scenario) as server:
        with streamtest.use_cassette(cassette, record_mode="all", match_on=MATCH_ON):
            live = stable(example, example(Models(provider, server.url)))
        requests = len(server.requests)
    seen, tape = replay(example, provider, cassette)  # the server is gone
    assert stable(example, seen) == live
    assert len(tape.interactions) == requests > 0


@pytest.mark.parametrize(("example", "provider"), CASES)
def test_committed_cassette_replays_offline_into_its_snapshots(
    example: Example, provider: Provider, stream_snapshot: StreamSnapshot
) -> None:
    if not example.cassette(provider).exists():
        pytest.fail(f"{example.cassette(provider)} is missing: run fixtures.record_examples")
    first, tape = replay(example, provider)
    again, _ = replay(example, provider)
    assert stable(example, first) == stable(example, again)
    assert tape.interactions
    stream_snapshot.graph(first.parts, **options(example))
    if first.state is not None:
        stream_snapshot.state(first.state)


READABLE = {  # each mode of LangChain's streaming page, and a line its snapshot must show
    "values": "topic: ice cream and cats",
    "updates": "generate_joke:",
    "debug": "id: generate_joke:1",
    "messages": "langgraph_node: generate_joke",
    "custom": "status: thinking of a joke...",
}


@pytest.mark.parametrize("mode", list(READABLE))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_mode_of_the_streaming_page_has_its_own_readable_snapshot(
    mode: str, provider: Provider
) -> None:
    example = EXAMPLES[f"joke_{mode}"]
    assert example.graph == "joke" and example.stream_mode == mode
    name = f"test_committed_cassette_replays_offline_into_its_snapshots[{example.name}-{provider}]"
    snapshot = SNAPSHOTS / f"{name}[graph].yaml"
    assert snapshot.is_file(), f"{snapshot.name} is missing: run pytest --snapshot-update"
    text = snapshot.read_text(encoding="utf-8")
    assert text.startswith(f"- mode: {mode}\n")
    assert READABLE[mode] in text
    assert not UUID.search(text) and "lc_run--" not in text  # ids are stable names


# --------------------------------------------------------------------------- parallel branches


@pytest.mark.parametrize("name", ["parallel_mixed", "parallel_mixed_values"])
def test_fifty_replays_of_parallel_branches_give_identical_parts(name: str) -> None:
    example = EXAMPLES[name]
    first, _ = replay(example, "openai")
    expected = stable(example, first)
    for run in range(49):
        again, _ = replay(example, "openai")
        assert stable(example, again) == expected, f"replay {run + 2} differs"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_parallel_branches_each_get_their_own_answer(provider: Provider) -> None:
    seen, tape = replay(EXAMPLES["parallel_mixed"], provider)
    assert len(tape.interactions) == 2
    updates = {
        node: update
        for mode, data in seen.parts
        if mode == "updates"
        for node, update in data.items()
    }
    assert updates["joke"]["joke"].endswith("[tell me a joke about parrots]")
    assert updates["poem"]["poem"].endswith("[write a two-line poem about parrots]")
    assert (
        updates["combine"]["combined"]
        == f"{updates['joke']['joke']}\n---\n{updates['poem']['poem']}"
    )
    custom = [data for mode, data in seen.parts if mode == "custom"]
    assert sorted(c["branch"] for c in custom) == ["joke", "joke", "poem", "poem"]
    branches = {meta["langgraph_node"] for mode, (_, meta) in _messages(seen.parts)}
    assert branches == {"joke", "poem"}


def _messages(parts: list[Any]) -> list[tuple[str, tuple[BaseMessage, dict[str, Any]]]]:
    return [(mode, data) for mode, data in parts if mode == "messages"]


# --------------------------------------------------------------------------- the tool loop


def _agent_messages(example: str, seen: Seen) -> list[BaseMessage]:
    """The messages the agent's nodes produced, from the parts of one agent example."""
    if example == "agent_updates":
        return [m for part in seen.parts for update in part.values() for m in update["messages"]]
    if example == "agent_v2":
        values = [part["data"] for part in seen.parts if part["type"] == "values"]
        return values[-1]["messages"][1:]  # after the user's question
    raise AssertionError(example)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("name", ["agent_updates", "agent_v2"])
def test_tool_loop_replays_the_call_the_tool_result_and_the_answer(
    name: str, provider: Provider
) -> None:
    seen, tape = replay(EXAMPLES[name], provider)
    assert len(tape.interactions) == 2
    call, result, answer = _agent_messages(name, seen)
    assert isinstance(call, AIMessage) and [c["name"] for c in call.tool_calls] == ["get_weather"]
    assert call.tool_calls[0]["args"] == {"city": "Paris"}
    assert isinstance(result, ToolMessage)
    assert result.tool_call_id == call.tool_calls[0]["id"]
    assert result.content == "It is sunny in Paris."
    assert isinstance(answer, AIMessage) and not answer.tool_calls
    assert answer.text == WEATHER


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tool_loop_streams_the_call_in_fragments_then_the_answer(provider: Provider) -> None:
    seen, _ = replay(EXAMPLES["agent_messages"], provider)
    chunks = [(chunk, meta) for chunk, meta in seen.parts]
    assert {meta["langgraph_node"] for _, meta in chunks} == {"agent", "tools"}
    calls = [c for c, meta in chunks if meta["langgraph_node"] == "agent" if c.tool_call_chunks]
    assert len(calls) > 1  # the arguments arrive in pieces
    call = calls[0]
    for more in calls[1:]:
        call = call + more
    assert isinstance(call, AIMessageChunk)
    assert [(c["name"], c["args"]) for c in call.tool_calls] == [("get_weather", {"city": "Paris"})]
    tool = [m for m, meta in chunks if meta["langgraph_node"] == "tools"]
    assert len(tool) == 1 and isinstance(tool[0], ToolMessage)
    text = "".join(c.text for c, meta in chunks if meta["langgraph_node"] == "agent")
    assert text == WEATHER


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tools_mode_reports_the_tool_start_and_finish(provider: Provider) -> None:
    seen, _ = replay(EXAMPLES["agent_tools"], provider)
    started, finished = seen.parts
    assert started["event"] == "tool-started" and started["tool_name"] == "get_weather"
    assert started["input"] == {"city": "Paris"}
    assert finished["event"] == "tool-finished"
    assert finished["tool_call_id"] == started["tool_call_id"]
    assert finished["output"].content == "It is sunny in Paris."


# --------------------------------------------------------------------------- interrupt, resume


@pytest.mark.parametrize("provider", PROVIDERS)
def test_interrupt_then_resume_on_one_thread(provider: Provider) -> None:
    seen, tape = replay(EXAMPLES["approval_updates"], provider)
    assert len(tape.interactions) == 1  # the draft is not written again on resume
    first, resumed = seen.parts[: seen.resumed_at], seen.parts[seen.resumed_at :]
    assert [list(part) for part in first] == [["draft"], ["__interrupt__"]]
    (pending,) = first[-1]["__interrupt__"]
    assert isinstance(pending, Interrupt)
    draft = first[0]["draft"]["draft"]
    assert pending.value == {"question": "Publish this draft?", "draft": draft}
    assert resumed == [{"review": {"decision": "approved"}}, {"publish": {"published": True}}]
    assert seen.state == {
        "topic": "the new release",
        "draft": draft,
        "decision": "approved",
        "published": True,
    }  # its snapshot: test_committed_cassette_replays_offline_into_its_snapshots[approval_*]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_interrupt_then_resume_async_v2(provider: Provider) -> None:
    seen, _ = replay(EXAMPLES["approval_v2_async"], provider)
    first, resumed = seen.parts[: seen.resumed_at], seen.parts[seen.resumed_at :]
    interrupted = [p for p in first if p["type"] == "values" and p["interrupts"]]
    assert len(interrupted) == 1 and interrupted[0] is first[-1]
    assert interrupted[0]["interrupts"][0].value["question"] == "Publish this draft?"
    assert not [p for p in resumed if p["type"] == "messages"]  # no model call after resuming
    assert resumed[-1]["data"]["published"] is True
    assert seen.state is not None and seen.state["decision"] == "approved"


# --------------------------------------------------------------------------- subgraphs


@pytest.mark.parametrize("provider", PROVIDERS)
def test_subgraph_parts_are_seen_only_with_subgraphs(provider: Provider) -> None:
    outside, _ = replay(EXAMPLES["subgraph_mixed"], provider)
    assert [mode for mode, _ in outside.parts] == ["updates"] * 3
    inside, _ = replay(EXAMPLES["subgraph_mixed_subgraphs"], provider)
    namespaces = {ns for ns, _, _ in inside.parts}
    (research,) = namespaces - {()}
    assert len(research) == 1 and research[0].startswith("research:")
    by_mode = {mode for ns, mode, _ in inside.parts if ns == research}
    assert by_mode == {"messages", "custom", "updates"}
    custom = [data for _, mode, data in inside.parts if mode == "custom"]
    assert custom[0] == {"step": "researching", "topic": "tide pools"}
    assert custom[-1]["step"] == "notes written" and custom[-1]["chunks"] > 3


# --------------------------------------------------------------------------- what goes on the wire


@pytest.mark.parametrize("provider", PROVIDERS)
def test_invoke_in_a_node_streams_only_under_a_streaming_mode(provider: Provider) -> None:
    def streamed(name: str) -> list[bool]:
        tape = streamtest.load_cassette(EXAMPLES[name].cassette(provider))
        return [bool(i.request.json().get("stream")) for i in tape.interactions]

    for name in ("joke_values", "joke_updates", "joke_custom", "joke_debug", "joke_tasks"):
        assert streamed(name) == [False], name
    assert streamed("joke_messages") == streamed("joke_messages_async") == [True]
    assert streamed("agent_updates") == [False, False]
    # the tools mode's callback handler is a streaming one too: the model streams
    assert streamed("agent_tools") == [True, True]
    # model.stream() in the subgraph streams whatever the app asked for
    assert streamed("subgraph_mixed") == [True]
