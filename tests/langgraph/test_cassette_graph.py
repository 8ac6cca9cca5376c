"""CassetteGraph: real LangGraph graphs recorded once, their parts replayed with no graph."""

from __future__ import annotations

import asyncio
import operator
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_stream_writer
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import Command, GraphOutput, Interrupt, interrupt

import streamtest
from fixtures.apps.lc_streaming import Models
from fixtures.fake_clock import FakeClock
from fixtures.provider_server import ProviderServer
from streamtest.langgraph import CassetteGraph

HI = {"messages": [HumanMessage("hi")]}


# --------------------------------------------------------------------------- graphs


def fake_model() -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content="hello there friend")]))


def chat(state: MessagesState) -> dict[str, Any]:
    return {"messages": [fake_model().invoke(state["messages"])]}


def shout(state: MessagesState) -> dict[str, Any]:
    get_stream_writer()({"progress": "shouting"})
    return {"messages": [AIMessage(content="DONE", id="shout-1")]}


def chat_graph() -> Any:
    """chat (a model streaming tokens) -> sub (a compiled subgraph writing a custom part)."""
    inner = StateGraph(MessagesState)
    inner.add_node("shout", shout)
    inner.add_edge(START, "shout")
    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_node("sub", inner.compile())
    builder.add_edge(START, "chat")
    builder.add_edge("chat", "sub")
    return builder.compile(checkpointer=InMemorySaver())


class Review(TypedDict, total=False):
    draft: str
    answers: Annotated[list[str], operator.add]


def ask(topic: str) -> Any:
    def node(state: Review) -> dict[str, Any]:
        return {"answers": [interrupt({"approve": topic, "draft": state["draft"]})]}

    return node


def review_graph() -> Any:
    """Two approvals in a row: each pauses at interrupt() until a Command(resume=...)."""
    builder = StateGraph(Review)
    builder.add_node("title", ask("title"))
    builder.add_node("body", ask("body"))
    builder.add_edge(START, "title")
    builder.add_edge("title", "body")
    return builder.compile(checkpointer=InMemorySaver())


def thread(name: str = "t1") -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


def kinds(value: Any) -> Any:
    """The classes inside a value, nested as the value is: a replay must keep every one."""
    if isinstance(value, dict):
        return {key: kinds(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return (type(value).__name__, [kinds(item) for item in value])
    return type(value).__name__


async def acollect(stream: Any) -> list[Any]:
    return [part async for part in stream]


def collect(how: str, graph: CassetteGraph, *args: Any, **kwargs: Any) -> list[Any]:
    if how == "sync":
        return list(graph.stream(*args, **kwargs))
    return asyncio.run(acollect(graph.astream(*args, **kwargs)))


# --------------------------------------------------------------------------- stream modes

MODES = [
    pytest.param({"stream_mode": "updates"}, id="updates"),
    pytest.param({"stream_mode": "messages"}, id="messages"),
    pytest.param({"stream_mode": ["updates", "messages", "custom"]}, id="list-of-modes"),
    pytest.param({"stream_mode": ["updates", "custom"], "subgraphs": True}, id="subgraphs"),
    pytest.param(
        {"stream_mode": ["values", "messages"], "version": "v2", "subgraphs": True}, id="v2"
    ),
    pytest.param({"stream_mode": "debug"}, id="debug"),
    pytest.param({"stream_mode": "checkpoints"}, id="checkpoints"),
    pytest.param({"stream_mode": "tasks", "subgraphs": True}, id="tasks"),
]


@pytest.mark.parametrize("how", ["sync", "async"])
@pytest.mark.parametrize("options", MODES)
def test_replay_without_a_graph_yields_exactly_the_live_parts(
    tmp_path: Path, options: dict[str, Any], how: str
) -> None:
    cassette = tmp_path / "graph.jsonl"
    recorder = CassetteGraph(chat_graph(), cassette=cassette, record_mode="all")
    live = collect(how, recorder, HI, thread(), **options)

    replayed = collect(
        how, CassetteGraph(cassette=cassette, record_mode="none"), HI, thread(), **options
    )

    assert replayed == live
    assert kinds(replayed) == kinds(live)
    assert len(live) >= 2


def test_the_shapes_of_the_parts_survive_replay(tmp_path: Path) -> None:
    """What a consumer unpacks: (mode, data), (ns, mode, data), (chunk, metadata), v2 dicts."""
    cassette = tmp_path / "graph.jsonl"
    recorder = CassetteGraph(chat_graph(), cassette=cassette, record_mode="all")
    v1 = {"stream_mode": ["messages", "custom"], "subgraphs": True}
    v2 = {"stream_mode": ["messages", "custom"], "subgraphs": True, "version": "v2"}
    list(recorder.stream(HI, thread("a"), **v1))
    list(recorder.stream(HI, thread("b"), **v2))
    replayer = CassetteGraph(cassette=cassette, record_mode="none")

    parts = list(replayer.stream(HI, thread("a"), **v1))
    ns, mode, (chunk, metadata) = parts[0]
    assert (ns, mode, type(chunk), metadata["langgraph_node"]) == (
        (),
        "messages",
        AIMessageChunk,
        "chat",
    )
    assert metadata["langgraph_triggers"] == ("branch:to:chat",)  # a tuple, as LangGraph gave it
    tokens = [p[2][0].content for p in parts if p[1] == "messages" and p[0] == ()]
    assert "".join(tokens) == "hello there friend"
    [custom] = [p for p in parts if p[1] == "custom"]
    assert custom[0][0].startswith("sub:") and custom[2] == {"progress": "shouting"}

    v2_parts = list(replayer.stream(HI, thread("b"), **v2))
    assert all(type(part) is dict and type(part["ns"]) is tuple for part in v2_parts)
    assert {part["type"] for part in v2_parts} == {"messages", "custom"}


def test_astream_replays_a_stream_recorded_with_stream(tmp_path: Path) -> None:
    cassette = tmp_path / "graph.jsonl"
    recorder = CassetteGraph(chat_graph(), cassette=cassette, record_mode="all")
    live = list(recorder.stream(HI, thread(), stream_mode="messages"))

    replayer = CassetteGraph(cassette=cassette, record_mode="none")
    assert asyncio.run(acollect(replayer.astream(HI, thread(), stream_mode="messages"))) == live


def test_a_fresh_uuid_thread_id_keys_alike_in_every_run(tmp_path: Path) -> None:
    cassette = tmp_path / "graph.jsonl"
    recorder = CassetteGraph(chat_graph(), cassette=cassette, record_mode="all")
    live = list(recorder.stream(HI, thread(str(uuid.uuid4())), stream_mode="updates"))

    replayer = CassetteGraph(cassette=cassette, record_mode="none")
    assert list(replayer.stream(HI, thread(str(uuid.uuid4())), stream_mode="updates")) == live


def test_an_input_reused_after_langgraph_gave_its_messages_ids_keys_the_same(
    tmp_path: Path,
) -> None:
    cassette = tmp_path / "graph.jsonl"
    inputs = {"messages": [HumanMessage("hi")]}
    recorder = CassetteGraph(chat_graph(), cassette=cassette, record_mode="all")
    live = list(recorder.stream(inputs, thread("a"), stream_mode="updates"))
    assert inputs["messages"][0].id is not None  # add_messages wrote a uuid4 into our message

    replayer = CassetteGraph(cassette=cassette, record_mode="none")
    assert list(replayer.stream(inputs, thread("a"), stream_mode="updates")) == live
    # an id the caller chose is part of what the call asked for
    chosen = {"messages": [HumanMessage("hi", id="msg-1")]}
    with pytest.raises(streamtest.UnmatchedStreamError, match="msg-1"):
        list(replayer.stream(chosen, thread("a"), stream_mode="updates"))


# --------------------------------------------------------------------------- interrupts


def test_an_interrupted_conversation_replays_turn_by_turn_with_no_graph(tmp_path: Path) -> None:
    cassette = tmp_path / "review.jsonl"
    turns = [{"draft": "v1"}, Command(resume="yes"), Command(resume="yes")]
    # inside one cassette session: the two equal resumes replay their recordings in order
    with streamtest.use_cassette(cassette, record_mode="all"):
        recorder = CassetteGraph(review_graph())
        live = [list(recorder.stream(turn, thread(), stream_mode="updates")) for turn in turns]
    [first] = live[0]
    [paused] = first["__interrupt__"]
    assert isinstance(paused, Interrupt) and paused.value == {"approve": "title", "draft": "v1"}
    assert live[1] == [
        {"title": {"answers": ["yes"]}},
        {"__interrupt__": (live[1][1]["__interrupt__"][0],)},
    ]
    assert live[1][1]["__interrupt__"][0].value["approve"] == "body"
    assert live[2] == [{"body": {"answers": ["yes"]}}]

    with streamtest.use_cassette(cassette, record_mode="none"):
        replayer = CassetteGraph()
        replayed = [list(replayer.stream(turn, thread(), stream_mode="updates")) for turn in turns]

    assert replayed == live
    assert type(replayed[0][0]["__interrupt__"]) is tuple
    assert type(replayed[0][0]["__interrupt__"][0]) is Interrupt


def test_v2_values_parts_carry_the_interrupts_as_interrupts(tmp_path: Path) -> None:
    cassette = tmp_path / "review.jsonl"
    recorder = CassetteGraph(review_graph(), cassette=cassette, record_mode="all")
    live = list(recorder.stream({"draft": "v1"}, thread(), stream_mode="values", version="v2"))

    replayer = CassetteGraph(cassette=cassette, record_mode="none")
    replayed = list(replayer.stream({"draft": "v1"}, thread(), stream_mode="values", version="v2"))

    assert replayed == live
    [paused] = replayed[-1]["interrupts"]
    assert type(paused) is Interrupt and paused.id == live[-1]["interrupts"][0].id


def test_invoke_and_ainvoke_replay_the_recorded_result(tmp_path: Path) -> None:
    cassette = tmp_path / "review.jsonl"
    recorder = CassetteGraph(review_graph(), cassette=cassette, record_mode="all")
    live = recorder.invoke({"draft": "v1"}, thread(), version="v2")
    assert type(live) is GraphOutput and live.interrupts[0].value["approve"] == "title"

    replayer = CassetteGraph(cassette=cassette, record_mode="none")
    replayed = asyncio.run(replayer.ainvoke({"draft": "v1"}, thread(), version="v2"))
    assert type(replayed) is GraphOutput and replayed == live
    assert type(replayed.interrupts) is tuple and type(replayed.interrupts[0]) is Interrupt
    again = CassetteGraph(cassette=cassette, record_mode="none")
    assert again.invoke({"draft": "v1"}, thread(), version="v2") == live
    with pytest.raises(streamtest.UnmatchedStreamError):  # invoke and stream keys differ
        list(again.stream({"draft": "v1"}, thread(), version="v2"))


# --------------------------------------------------------------------------- misses and errors


def test_an_unrecorded_call_names_the_closest_recorded_one(tmp_path: Path) -> None:
    cassette = tmp_path / "review.jsonl"
    recorder = CassetteGraph(review_graph(), cassette=cassette, record_mode="all")
    list(recorder.stream({"draft": "v1"}, thread(), stream_mode="updates"))

    replayer = CassetteGraph(cassette=cassette, record_mode="none")
    with pytest.raises(streamtest.UnmatchedStreamError) as caught:
        list(replayer.stream({"draft": "v2"}, thread(), stream_mode="updates"))

    message = str(caught.value)
    assert str(cassette) in message and "'graph'" in message
    assert "The closest is object stream 0" in message
    assert "key.input.draft: live 'v2' != recorded 'v1'" in message


def test_without_a_graph_a_missing_recording_is_an_error_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    cassette = tmp_path / "graph.jsonl"
    with pytest.raises(streamtest.StreamtestError, match="pass graph="):
        list(CassetteGraph(cassette=cassette, record_mode="once").stream(HI, thread()))
    assert not cassette.exists()


def test_without_a_cassette_the_error_names_the_fix() -> None:
    with pytest.raises(streamtest.StreamtestError, match=r"Pass cassette=<a cassette file>"):
        CassetteGraph(chat_graph()).stream(HI, thread())


class QuotaError(Exception):
    pass


def failing_graph(error: Exception) -> Any:
    def fine(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage(content="step one", id="one")]}

    def boom(state: MessagesState) -> dict[str, Any]:
        raise error

    builder = StateGraph(MessagesState)
    builder.add_node("fine", fine)
    builder.add_node("boom", boom)
    builder.add_edge(START, "fine")
    builder.add_edge("fine", "boom")
    return builder.compile()


@pytest.mark.parametrize(
    ("error", "replayed_type"),
    [
        pytest.param(ValueError("bad state"), ValueError, id="builtin"),
        pytest.param(QuotaError("quota exceeded"), streamtest.RecordedStreamError, id="custom"),
    ],
)
def test_a_node_that_raises_is_recorded_and_raised_again_after_the_same_parts(
    tmp_path: Path, error: Exception, replayed_type: type[Exception]
) -> None:
    cassette = tmp_path / "fails.jsonl"
    recorder = CassetteGraph(failing_graph(error), cassette=cassette, record_mode="all")
    live: list[Any] = []
    with pytest.raises(type(error)) as raised:
        live.extend(recorder.stream(HI, stream_mode="updates"))
    assert raised.value is error and list(live[0]) == ["fine"]

    replayed: list[Any] = []
    with pytest.raises(replayed_type, match=str(error)):
        replayed.extend(
            CassetteGraph(cassette=cassette, record_mode="none").stream(HI, stream_mode="updates")
        )
    assert replayed == live


def test_the_exception_a_tasks_part_holds_is_recorded_and_replayed(tmp_path: Path) -> None:
    cassette = tmp_path / "fails.jsonl"
    recorder = CassetteGraph(failing_graph(ValueError("bad")), cassette=cassette, record_mode="all")
    live: list[Any] = []
    with pytest.raises(ValueError, match="bad"):
        live.extend(recorder.stream(HI, stream_mode="tasks"))

    replayed: list[Any] = []
    with pytest.raises(ValueError, match="bad"):
        replayed.extend(
            CassetteGraph(cassette=cassette, record_mode="none").stream(HI, stream_mode="tasks")
        )

    [live_error] = [p["error"] for p in live if p.get("error") is not None]
    [error] = [p["error"] for p in replayed if p.get("error") is not None]
    assert type(error) is ValueError and error.args == live_error.args == ("bad",)
    assert [p["name"] for p in replayed] == [p["name"] for p in live]


# --------------------------------------------------------------------------- timing, real model


def timed_graph(clock: FakeClock) -> Any:
    def slow(seconds: float) -> Any:
        def node(state: MessagesState) -> dict[str, Any]:
            clock.t += seconds  # the node "takes" this long; the recording reads the clock
            return {"messages": []}

        return node

    builder = StateGraph(MessagesState)
    builder.add_node("think", slow(0.5))
    builder.add_node("write", slow(0.25))
    builder.add_edge(START, "think")
    builder.add_edge("think", "write")
    return builder.compile()


def test_realtime_replay_waits_as_the_graph_did(tmp_path: Path) -> None:
    cassette = tmp_path / "timed.jsonl"
    clock = FakeClock()
    with streamtest.use_cassette(cassette, record_mode="all", clock=clock):
        live = list(CassetteGraph(timed_graph(clock)).stream(HI, stream_mode="updates"))

    replay_clock = FakeClock()
    with streamtest.use_cassette(
        cassette, record_mode="none", timing="realtime", clock=replay_clock
    ):
        replayed = list(CassetteGraph().stream(HI, stream_mode="updates"))

    assert replayed == live and [list(part) for part in live] == [["think"], ["write"]]
    assert replay_clock.sleeps == pytest.approx([0.5, 0.25])


@pytest.fixture
def openai_graph(server: ProviderServer) -> Iterator[Any]:
    model = Models("openai", server.base_url(suffix="")).chat()

    def answer(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    yield builder.compile()


def test_a_chat_openai_graph_replays_its_tokens_with_the_server_gone(
    tmp_path: Path, server: ProviderServer, openai_graph: Any
) -> None:
    cassette = tmp_path / "openai.jsonl"
    recorder = CassetteGraph(openai_graph, cassette=cassette, record_mode="all")
    live = list(recorder.stream(HI, stream_mode=["messages", "updates"]))
    # "messages" mode attaches a streaming callback, so model.invoke() streamed
    [request] = server.requests
    assert request.json()["stream"] is True
    server.stop()

    replayer = CassetteGraph(cassette=cassette, record_mode="none")
    replayed = list(replayer.stream(HI, stream_mode=["messages", "updates"]))

    assert replayed == live
    tokens = [data[0] for mode, data in replayed if mode == "messages"]
    assert all(type(token) is AIMessageChunk for token in tokens)
    assert len(tokens) > 5
    text = "".join(str(token.content) for token in tokens)
    assert text == "Hello, wörld! Streaming naïve café text — 日本語 too."
    [update] = [data for mode, data in replayed if mode == "updates"]
    assert (
        update["answer"]["messages"][0].usage_metadata
        == live[-1][1]["answer"]["messages"][0].usage_metadata
    )
