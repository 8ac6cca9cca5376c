"""`normalize_parts` and `normalize_state` on the streams of real compiled LangGraph graphs.

The graphs' nodes call LangChain's ``GenericFakeChatModel`` (a real chat model of
langchain-core that streams a fixed message word by word), so these tests need no cassette;
the wire-level replays are in test_graph_streaming.py.
"""

from __future__ import annotations

import json
import operator
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send, interrupt

from streamtest.langgraph import normalize_parts, normalize_state
from streamtest.snapshot import GRAPH, STATE

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEX32 = re.compile(r"\b[0-9a-f]{32}\b")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


class State(TypedDict):
    topic: str
    out: Annotated[list[str], operator.add]


def model(text: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=text)]))


def llm_node(name: str, gate: Callable[[str], None] = lambda _: None) -> Callable[..., Any]:
    def node(state: State) -> dict[str, Any]:
        gate(name)
        write = get_stream_writer()
        write({"branch": name, "status": "start"})
        answer = model(f"{name} says hello to {state['topic']}").invoke("hi").content
        write({"branch": name, "status": "done"})
        return {"out": [f"{name}: {answer}"]}

    return node


class Gate:
    """Makes one branch wait until the other has finished, to force an arrival order."""

    def __init__(self, first: str) -> None:
        self.first = first
        self.done = threading.Event()

    def __call__(self, name: str) -> None:
        if name != self.first:
            assert self.done.wait(10), "the first branch never finished"
            # and let LangGraph emit the first branch's update (after its node returned)
            time.sleep(0.05)

    def finished(self, name: str) -> None:
        if name == self.first:
            self.done.set()


def parallel_graph(gate: Gate | None = None, checkpointer: bool = False) -> Any:
    """START -> joke, poem (in parallel, each streams a model answer) -> sub (a subgraph with
    two parallel nodes of its own) -> combine -> END."""

    def branch(name: str) -> Callable[..., Any]:
        inner = llm_node(name, gate or (lambda _: None))

        def node(state: State) -> dict[str, Any]:
            try:
                return inner(state)  # type: ignore[no-any-return]
            finally:
                if gate is not None:
                    gate.finished(name)

        return node

    sub = StateGraph(State)
    sub.add_node("left", llm_node("left"))
    sub.add_node("right", llm_node("right"))
    sub.add_edge(START, "left")
    sub.add_edge(START, "right")
    graph = StateGraph(State)
    graph.add_node("joke", branch("joke"))
    graph.add_node("poem", branch("poem"))
    graph.add_node("sub", sub.compile())
    graph.add_node("combine", lambda state: {"out": ["combined"]})
    graph.add_edge(START, "joke")
    graph.add_edge(START, "poem")
    graph.add_edge(["joke", "poem"], "sub")
    graph.add_edge("sub", "combine")
    graph.add_edge("combine", END)
    return graph.compile(checkpointer=InMemorySaver() if checkpointer else None)


def run(graph: Any, thread: str = "t", **options: Any) -> list[Any]:
    config = {"configurable": {"thread_id": thread}}
    return list(graph.stream({"topic": "cats", "out": []}, config, **options))


def flat(value: Any) -> str:
    return json.dumps(value, default=repr)


# ----------------------------------------------------------------------------- canonical order

ORDER_CASES = [
    pytest.param(["updates", "messages", "custom"], False, id="updates+messages+custom"),
    pytest.param(["updates", "messages", "custom"], True, id="updates+messages+custom-subgraphs"),
    pytest.param(["values", "updates", "messages", "custom"], True, id="values+...-subgraphs"),
    pytest.param(["updates", "custom", "tasks"], True, id="updates+custom+tasks-subgraphs"),
    pytest.param("debug", True, id="debug-subgraphs"),
    pytest.param(["checkpoints", "custom"], False, id="checkpoints+custom"),
    pytest.param("messages", True, id="messages-subgraphs"),
    # no task ids at all: updates are told apart by node name between the values cuts
    pytest.param(["values", "updates"], False, id="values+updates"),
]


@pytest.mark.parametrize(("modes", "subgraphs"), ORDER_CASES)
def test_parallel_branches_in_either_order_normalize_alike(modes: Any, subgraphs: bool) -> None:
    seen = {}
    for first in ("joke", "poem"):
        gate = Gate(first)
        parts = run(parallel_graph(gate, checkpointer=True), stream_mode=modes, subgraphs=subgraphs)
        seen[first] = (parts, normalize_parts(parts, stream_mode=modes, subgraphs=subgraphs))
    arrival = {
        first: normalize_parts(parts, stream_mode=modes, subgraphs=subgraphs, order="arrival")
        for first, (parts, _) in seen.items()
    }
    assert arrival["joke"] != arrival["poem"]  # the gate did change what arrived first
    assert seen["joke"][1] == seen["poem"][1]
    assert sorted(map(flat, arrival["joke"])) == sorted(map(flat, seen["joke"][1]))


def test_custom_data_naming_its_node_stays_with_that_branch_in_its_own_order() -> None:
    modes = ["updates", "messages", "custom"]
    shown = normalize_parts(run(parallel_graph(Gate("poem")), stream_mode=modes), stream_mode=modes)

    def owner(part: dict[str, Any]) -> str:
        data = part["data"]
        if part["mode"] == "custom":
            return str(data["branch"])
        return str(data[1]["langgraph_node"] if part["mode"] == "messages" else next(iter(data)))

    def of(branch: str) -> list[str]:
        return [
            part["mode"] + (":" + part["data"]["status"] if part["mode"] == "custom" else "")
            for part in shown
            if owner(part) == branch
        ]

    for branch in ("joke", "poem"):
        steps = of(branch)
        assert steps[0] == "custom:start" and steps[-2:] == ["custom:done", "updates"], steps
    # joke's parts (sorted by node name) come before poem's, although poem ran first
    owners = [owner(part) for part in shown]
    assert owners.index("poem") == len(of("joke"))  # joke's parts all come first


def test_custom_data_naming_no_node_comes_first_in_its_superstep_by_content() -> None:
    def node(name: str, gate: Gate) -> Callable[..., Any]:
        def run_node(state: State) -> dict[str, Any]:
            gate(name)
            get_stream_writer()({"progress": f"{name}-zz"})
            get_stream_writer()({"progress": "aa"})
            gate.finished(name)
            return {"out": [name]}

        return run_node

    seen = []
    for first in ("x", "y"):
        gate = Gate(first)
        graph = StateGraph(State)
        graph.add_node("x", node("x", gate))
        graph.add_node("y", node("y", gate))
        graph.add_edge(START, "x")
        graph.add_edge(START, "y")
        parts = run(graph.compile(), stream_mode=["tasks", "custom"])
        seen.append(normalize_parts(parts, stream_mode=["tasks", "custom"]))
    assert seen[0] == seen[1]
    assert [p["data"] for p in seen[0] if p["mode"] == "custom"] == [
        {"progress": "aa"},
        {"progress": "aa"},
        {"progress": "x-zz"},
        {"progress": "y-zz"},
    ]


def test_supersteps_keep_their_order_whatever_the_node_names() -> None:
    graph = StateGraph(State)
    graph.add_node("z_first", lambda state: {"out": ["z"]})
    graph.add_node("a_second", llm_node("a_second"))
    graph.add_node("m_third", lambda state: {"out": ["m"]})
    graph.add_edge(START, "z_first")
    graph.add_edge("z_first", "a_second")
    graph.add_edge("a_second", "m_third")
    compiled = graph.compile()
    for modes in ("updates", ["updates", "messages", "custom"], ["values", "updates"]):
        parts = run(compiled, stream_mode=modes)
        nodes = [
            next(iter(part["data"]))
            for part in normalize_parts(parts, stream_mode=modes)
            if part["mode"] == "updates"
        ]
        assert nodes == ["z_first", "a_second", "m_third"], modes


class Work(TypedDict):
    items: list[int]
    out: Annotated[list[str], operator.add]


def test_the_tasks_of_a_send_fan_out_are_numbered_by_their_order_in_the_step() -> None:
    def fan_out(state: Work) -> list[Send]:
        return [Send("work", {"items": [item], "out": []}) for item in state["items"]]

    graph = StateGraph(Work)
    graph.add_node("work", lambda state: {"out": [f"did {state['items'][0]}"]})
    graph.add_conditional_edges(START, fan_out, ["work"])
    graph.add_edge("work", END)
    parts = list(
        graph.compile().stream({"items": [1, 2, 3], "out": []}, stream_mode=["tasks", "updates"])
    )
    shown = normalize_parts(parts, stream_mode=["tasks", "updates"])
    starts = [(p["data"]["id"], p["data"]["input"]["items"]) for p in shown if "input" in p["data"]]
    assert starts == [("work:1", [1]), ("work:2", [2]), ("work:3", [3])]
    # each task's update comes right after its start, before its result
    assert [p["mode"] for p in shown] == ["tasks", "updates", "tasks"] * 3


# ----------------------------------------------------------------------------- stable names


def test_two_runs_on_different_threads_normalize_equal_with_no_volatile_ids_left() -> None:
    graph = parallel_graph(checkpointer=True)
    modes = ["values", "updates", "messages", "custom", "debug", "tasks", "checkpoints"]
    first = normalize_parts(run(graph, "thread-a", stream_mode=modes, subgraphs=True))
    again = normalize_parts(run(graph, "thread-b", stream_mode=modes, subgraphs=True))
    assert first == again
    text = flat(first)
    assert not UUID.search(text)
    assert not ISO_TIME.search(text)
    assert "thread-a" not in text
    assert "lc_run" not in text and "ls_provider" not in text and "lc_versions" not in text
    assert "<thread1>" in text and "<checkpoint1>" in text and "<timestamp>" in text


def test_task_ids_become_node_ordinals_in_namespaces_and_payloads() -> None:
    parts = run(
        parallel_graph(checkpointer=True),
        stream_mode=["messages", "tasks", "checkpoints"],
        subgraphs=True,
    )
    shown = normalize_parts(parts)
    namespaces = {tuple(part["ns"]) for part in shown}
    assert namespaces == {(), ("sub:1",)}
    messages = [part["data"][1] for part in shown if part["mode"] == "messages"]
    assert {m["langgraph_checkpoint_ns"] for m in messages} == {
        "joke:1",
        "poem:1",
        "sub:1|left:1",
        "sub:1|right:1",
    }
    task_ids = {part["data"]["id"] for part in shown if part["mode"] == "tasks"}
    assert task_ids == {"joke:1", "poem:1", "sub:1", "combine:1", "left:1", "right:1"}
    checkpoint_ns = [
        part["data"]["config"]["configurable"]["checkpoint_ns"]
        for part in shown
        if part["mode"] == "checkpoints"
    ]
    assert set(checkpoint_ns) == {"", "sub:1"}


class Loop(TypedDict):
    turns: int


def test_a_tool_loop_numbers_each_visit_of_a_node() -> None:
    graph = StateGraph(Loop)
    graph.add_node("agent", lambda state: {"turns": state["turns"] + 1})
    graph.add_node("tools", lambda state: {})
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", lambda s: END if s["turns"] >= 3 else "tools")
    graph.add_edge("tools", "agent")
    parts = list(graph.compile().stream({"turns": 0}, stream_mode="tasks"))
    names = [part["data"]["id"] for part in normalize_parts(parts, stream_mode="tasks")]
    assert (
        names
        == ["agent:1"] * 2 + ["tools:1"] * 2 + ["agent:2"] * 2 + ["tools:2"] * 2 + ["agent:3"] * 2
    )


def test_messages_are_shown_by_meaning_without_empty_fields() -> None:
    graph = StateGraph(State)
    graph.add_node("say", llm_node("say"))
    graph.add_edge(START, "say")
    parts = run(graph.compile(), stream_mode="messages")
    shown = normalize_parts(parts, stream_mode="messages")
    message, metadata = shown[0]["data"]
    assert message == {"type": "AIMessageChunk", "content": "say"}
    assert metadata["langgraph_node"] == "say"
    assert metadata["langgraph_checkpoint_ns"] == "say:1"
    assert "checkpoint_ns" not in metadata  # the same value again: shown once
    assert shown[-1]["data"][0]["chunk_position"] == "last"
    assert "".join(part["data"][0]["content"] for part in shown) == "say says hello to cats"


# ----------------------------------------------------------------------------- interrupts


def approval_graph() -> Any:
    def review(state: State) -> dict[str, Any]:
        answer = interrupt({"question": f"publish {state['topic']}?"})
        return {"out": [f"review: {answer}"]}

    graph = StateGraph(State)
    graph.add_node("review", review)
    graph.add_edge(START, "review")
    return graph.compile(checkpointer=InMemorySaver())


def test_interrupts_keep_their_value_and_get_a_stable_id() -> None:
    graph = approval_graph()
    config = {"configurable": {"thread_id": "approval"}}
    modes = ["updates", "values", "tasks"]
    parts = list(
        graph.stream({"topic": "cats", "out": []}, config, stream_mode=modes, version="v2")
    )
    shown = normalize_parts(parts)
    [update] = [p for p in shown if p["mode"] == "updates"]
    assert update["data"] == {
        "__interrupt__": [
            {
                "type": "Interrupt",
                "value": {"question": "publish cats?"},
                "id": "<interrupt1>",
                "response_schema": None,
            }
        ]
    }
    values = [p for p in shown if p["mode"] == "values"]
    assert values[-1]["interrupts"][0]["id"] == "<interrupt1>"
    [result] = [p for p in shown if p["mode"] == "tasks" and "result" in p["data"]]
    assert result["data"]["interrupts"][0]["id"] == "<interrupt1>"
    assert not HEX32.search(flat(shown))

    resumed = list(graph.stream(Command(resume="yes"), config, stream_mode="updates"))
    assert normalize_parts(resumed, stream_mode="updates") == [
        {"mode": "updates", "data": {"review": {"out": ["review: yes"]}}}
    ]
    state = normalize_state(graph.get_state(config))
    assert state["type"] == "StateSnapshot"
    assert state["values"] == {"topic": "cats", "out": ["review: yes"]}
    assert state["created_at"] == "<timestamp>"
    assert state["config"]["configurable"]["thread_id"] == "<thread1>"
    assert not UUID.search(flat(state))


# ----------------------------------------------------------------------------- shapes and options


@pytest.fixture(scope="module")
def shapes() -> Iterator[dict[str, Any]]:
    graph = parallel_graph()
    yield {
        "single": (run(graph, stream_mode="updates"), {"stream_mode": "updates"}),
        "list": (run(graph, stream_mode=["updates"]), {}),
        "subgraphs": (
            run(graph, stream_mode="updates", subgraphs=True),
            {"stream_mode": "updates", "subgraphs": True},
        ),
        "list-subgraphs": (run(graph, stream_mode=["updates"], subgraphs=True), {}),
        "v2": (run(graph, stream_mode="updates", subgraphs=True, version="v2"), {}),
    }


def test_every_shape_of_a_stream_reads_as_the_same_parts(shapes: dict[str, Any]) -> None:
    def updates(name: str) -> list[Any]:
        parts, options = shapes[name]
        return sorted(
            flat(part["data"])
            for part in normalize_parts(parts, **options)
            if part["mode"] == "updates" and not part.get("ns")
        )

    assert updates("single") == updates("list") == updates("subgraphs")
    assert updates("subgraphs") == updates("list-subgraphs") == updates("v2")
    shown = normalize_parts(shapes["v2"][0])
    assert {"mode", "ns", "data"} == set(shown[0])
    assert ["sub:1"] in [part["ns"] for part in shown]
    assert set(normalize_parts(*shapes["single"][:1], stream_mode="updates")[0]) == {
        "mode",
        "data",
    }


def test_a_stream_mode_that_does_not_match_the_parts_is_a_clear_error(
    shapes: dict[str, Any],
) -> None:
    parts, _ = shapes["single"]
    with pytest.raises(ValueError, match=r"Part 0 is dict .* yields \(mode, data\) tuples"):
        normalize_parts(parts, stream_mode=["updates", "custom"])


def test_bare_parts_without_a_stream_mode_have_no_mode(shapes: dict[str, Any]) -> None:
    parts, _ = shapes["single"]
    shown = normalize_parts(parts)
    assert {part["mode"] for part in shown} == {None}
    assert [part["data"] for part in shown] == [
        part["data"] for part in normalize_parts(parts, stream_mode="updates", order="arrival")
    ]


def test_rules_run_in_order_and_must_return_a_dict(shapes: dict[str, Any]) -> None:
    parts, options = shapes["single"]

    def tag(part: dict[str, Any]) -> dict[str, Any]:
        return {**part, "seen": True}

    shown = normalize_parts(parts, **options, rules=[tag])
    assert all(part["seen"] for part in shown)
    with pytest.raises(TypeError, match="must return the dict it was given"):
        normalize_parts(parts, **options, rules=[lambda part: None])  # type: ignore[list-item, return-value]
    with pytest.raises(ValueError, match='order must be "canonical" or "arrival"'):
        normalize_parts(parts, order="sorted")  # type: ignore[arg-type]


def test_the_snapshot_kinds_use_these_functions(shapes: dict[str, Any]) -> None:
    parts, options = shapes["single"]
    assert GRAPH.to_data(parts, **options) == normalize_parts(parts, **options)
    assert GRAPH.name == "graph" and STATE.name == "state"
    state = {"topic": "cats", "out": [AIMessage(content="hi", id="lc_run--" + "0" * 36)]}
    assert STATE.to_data(state) == normalize_state(state)
    assert normalize_state(state) == {
        "topic": "cats",
        "out": [{"type": "AIMessage", "content": "hi"}],
    }
