"""LangGraph values in object streams: every codec round-trips, nested inside graph parts, and
loads lazily through ``streamtest.langgraph._codec``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage
from langgraph.errors import GraphInterrupt, NodeTimeoutError
from langgraph.types import (
    Command,
    GraphOutput,
    Interrupt,
    Overwrite,
    PregelTask,
    Send,
    StateSnapshot,
    TimeoutPolicy,
)

import streamtest
from streamtest._objects.codecs import decode, encode

PAUSED = Interrupt(
    {"approve": ("title", 1)},
    "4810fcb6c4cc257a95e2cacb0e962bba",
    response_schema={"type": "object", "properties": {"ok": {"type": "boolean"}}},
)
TASK = PregelTask(
    "ee2736fe-dd1c-2842-a6e5-f1fd76a4a706",
    "ask",
    ("__pregel_pull", "ask", ("nested", 1)),
    interrupts=(PAUSED,),
    result={"answers": ["yes"]},
)
SNAPSHOT = StateSnapshot(
    values={"messages": [HumanMessage("hi", id="m1")]},
    next=("ask",),
    config={"configurable": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": "c2"}},
    metadata={"source": "loop", "step": 2, "parents": {}},
    created_at="2026-01-01T00:00:00+00:00",
    parent_config={"configurable": {"thread_id": "t1", "checkpoint_id": "c1"}},
    tasks=(TASK,),
    interrupts=(PAUSED,),
)

VALUES = [
    pytest.param(PAUSED, id="interrupt"),
    pytest.param(Interrupt("plain"), id="interrupt-defaults"),
    pytest.param(Send("draft", {"topic": ("a", "b")}), id="send"),
    pytest.param(Send("draft", 1, timeout=2.5), id="send-with-timeout"),
    pytest.param(TimeoutPolicy(run_timeout=1.0, idle_timeout=0.5), id="timeout-policy"),
    pytest.param(Command(resume="yes"), id="command-resume"),
    pytest.param(Command(resume={PAUSED.id: ("a", 1)}), id="command-resume-map"),
    pytest.param(
        Command(
            graph=Command.PARENT,
            update={"messages": [AIMessageChunk("hi", id="c1")]},
            goto=[Send("a", {"x": 1}), "b"],
        ),
        id="command-goto",
    ),
    pytest.param(Command(goto=("a", "b")), id="command-goto-tuple"),
    pytest.param(Overwrite(["x", ("y",)]), id="overwrite"),
    pytest.param(GraphOutput({"answers": ["yes"]}, (PAUSED,)), id="graph-output"),
    pytest.param(TASK, id="pregel-task"),
    pytest.param(SNAPSHOT, id="state-snapshot"),
]


def through_a_file(value: Any) -> Any:
    return decode(msgspec.json.decode(msgspec.json.encode(encode(value))))


def kinds(value: Any) -> Any:
    """The classes inside a value, through containers and LangGraph's NamedTuples."""
    if isinstance(value, dict):
        return {key: kinds(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return (type(value).__name__, [kinds(item) for item in value])
    if isinstance(value, Interrupt):
        return ("Interrupt", kinds(value.value), kinds(value.response_schema))
    return type(value).__name__


@pytest.mark.parametrize("value", VALUES)
def test_each_value_round_trips_exactly_inside_every_part_shape(value: Any) -> None:
    parts = [
        value,
        {"node": {"key": value}},  # "updates"
        ("updates", {"node": {"key": value}}),  # a list of modes
        (("sub:1",), "values", {"key": [value]}),  # subgraphs=True
        {"type": "values", "ns": ("sub:1",), "data": {"key": value}, "interrupts": ()},  # v2
    ]

    back = through_a_file(parts)

    assert back == parts
    assert kinds(back) == kinds(parts)
    assert type(back[0]) is type(value)


def test_named_tuples_come_back_as_their_classes() -> None:
    back = through_a_file(SNAPSHOT)

    assert type(back) is StateSnapshot and back == SNAPSHOT
    assert type(back.tasks[0]) is PregelTask and back.tasks[0].path == TASK.path
    assert type(back.next) is tuple and type(back.interrupts[0]) is Interrupt
    assert back.values["messages"][0] == HumanMessage("hi", id="m1")
    stored = encode(SNAPSHOT)
    assert stored["$type"] == "langgraph.state_snapshot"
    assert stored["value"]["tasks"]["value"][0]["$type"] == "langgraph.pregel_task"


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ValueError("bad state"), id="builtin"),
        pytest.param(FileNotFoundError(2, "no such file"), id="oserror"),
        pytest.param(NodeTimeoutError("slow", 3.0, kind="run", run_timeout=2.0), id="langgraph"),
        pytest.param(GraphInterrupt([PAUSED]), id="langgraph-with-interrupts"),
    ],
)
def test_the_error_of_a_task_part_comes_back_as_its_class(error: Exception) -> None:
    part = {"id": "t", "name": "boom", "error": error, "result": {}, "interrupts": []}

    back = through_a_file(part)["error"]

    assert type(back) is type(error)
    assert str(back) == str(error) and back.args == error.args
    assert vars(back) == vars(error)  # NodeTimeoutError's node, elapsed, kind, ...


def test_an_error_whose_args_no_codec_stores_keeps_its_message() -> None:
    error = ValueError(object())

    back = through_a_file(error)

    assert type(back) is ValueError and back.args == (str(error),)


def test_an_interrupt_whose_schema_is_a_class_cannot_be_recorded(tmp_path: Path) -> None:
    hand_made = Interrupt("sure?", "i1", response_schema=dict)

    with pytest.raises(streamtest.UnencodableItemError) as caught:
        list(streamtest.record_stream([{"__interrupt__": (hand_made,)}], path=tmp_path / "c.jsonl"))

    message = str(caught.value)
    assert "langgraph.types.Interrupt" in message
    assert "response_schema is <class 'dict'>" in message and "JSON Schema dict" in message


@pytest.mark.parametrize(
    ("stored", "fragment"),
    [
        pytest.param(
            {
                "$type": "langgraph.error",
                "value": {"type": "os.system", "args": [], "attributes": {}},
            },
            "'os.system' is not an exception class this codec builds",
            id="error-class-not-in-the-fixed-table",
        ),
        pytest.param(
            {"$type": "langgraph.send", "value": {"node": "a"}},
            "expected the fields ['node', 'arg', 'timeout']",
            id="missing-field",
        ),
        pytest.param(
            {"$type": "langgraph.state", "value": 1},
            "no codec is registered for the tag 'langgraph.state'",
            id="unknown-langgraph-tag",
        ),
    ],
)
def test_a_malformed_value_is_a_cassette_error_and_imports_nothing(
    tmp_path: Path, stored: Any, fragment: str
) -> None:
    path = tmp_path / "odd.jsonl"
    lines = [
        {"streamtest": 1},
        {"stream": {"name": "graph"}},
        {"t": 0.0, "item": stored},
        {"end": "completed", "items": 1},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    with pytest.raises(streamtest.CassetteError) as caught:
        list(streamtest.replay_stream(path, name="graph"))

    assert fragment in str(caught.value)


def test_codecs_load_lazily_by_class_and_by_tag(tmp_path: Path) -> None:
    """A fresh process that never imports streamtest.langgraph records and replays them."""
    code = f"""
import sys
import streamtest
from langgraph.types import Command, Interrupt
path = {str(tmp_path / "lazy.jsonl")!r}
parts = [{{"__interrupt__": (Interrupt("ok?", "i1"),)}}, Command(resume="yes")]
assert list(streamtest.record_stream(iter(parts), path=path)) == parts
loaded_by_class = "streamtest.langgraph._codec" in sys.modules
del sys.modules["streamtest.langgraph._codec"]
from streamtest._objects import registry
registry.REGISTRY = type(registry.REGISTRY)()  # forget the codecs: the tags must load them
import streamtest._objects.codecs as codecs
codecs.REGISTRY = registry.REGISTRY
replayed = list(streamtest.replay_stream(path))
print(loaded_by_class, replayed == parts, type(replayed[0]["__interrupt__"][0]).__name__,
      "streamtest.langgraph._codec" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["True", "True", "Interrupt", "True"]
