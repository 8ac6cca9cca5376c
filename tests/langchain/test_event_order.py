"""Tree order: parallel branches that finish in a different order normalize to one sequence."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.runnables import RunnableLambda, RunnableParallel

from streamtest.langchain import normalize, normalize_events


def branch(name: str, delays: dict[str, float]) -> RunnableLambda[str, Any]:
    async def pieces(text: str) -> Any:
        for word in (f"{name}-1", f"{name}-2"):
            await asyncio.sleep(delays[name])
            yield word

    return RunnableLambda(pieces, name=name)


def parallel_events(delays: dict[str, float]) -> list[dict[str, Any]]:
    chain = RunnableParallel(fast=branch("fast", delays), slow=branch("slow", delays))

    async def main() -> list[dict[str, Any]]:
        return [dict(e) async for e in chain.astream_events("go", version="v2")]

    return asyncio.run(main())


def test_branches_finishing_in_either_order_give_one_tree_ordered_sequence() -> None:
    one = parallel_events({"fast": 0.0, "slow": 0.02})
    other = parallel_events({"fast": 0.02, "slow": 0.0})
    # the arrival order really differs, so comparing it would fail
    assert normalize_events(one) != normalize_events(other)
    tree = normalize_events(one, order="tree")
    assert tree == normalize_events(other, order="tree")
    names = [(e["event"], e["name"]) for e in tree]
    assert names[0] == ("on_chain_start", "RunnableParallel<fast,slow>")
    assert names[-1] == ("on_chain_end", "RunnableParallel<fast,slow>")
    # each branch is one block, in tag order (map:key:fast before map:key:slow), start first
    fast = [i for i, e in enumerate(tree) if e["name"] == "fast"]
    slow = [i for i, e in enumerate(tree) if e["name"] == "slow"]
    assert fast == list(range(fast[0], fast[-1] + 1)) and max(fast) < min(slow)
    assert tree[fast[0]]["event"] == "on_chain_start" and tree[fast[-1]]["event"] == "on_chain_end"
    # the parallel's own merged chunks are grouped by branch, each branch's pieces in order
    merged = [
        e["data"]["chunk"] for e in tree if e["event"] == "on_chain_stream" and e["run"] == "run1"
    ]
    assert merged == [
        {"fast": "fast-1"},
        {"fast": "fast-2"},
        {"slow": "slow-1"},
        {"slow": "slow-2"},
    ]
    # the parallel's output dict has its keys in answer order; tree order sorts them
    for events in (one, other):
        assert list(normalize_events(events, order="tree")[-1]["data"]["output"]) == [
            "fast",
            "slow",
        ]
    # run names follow the tree order, so they match too
    assert [e["run"] for e in tree][:2] == ["run1", "run2"]


def test_sequential_steps_keep_their_order_in_tree_order() -> None:
    chain = RunnableLambda(lambda x: x + "a", name="first") | RunnableLambda(
        lambda x: x + "b", name="second"
    )

    async def main() -> list[dict[str, Any]]:
        return [dict(e) async for e in chain.astream_events("", version="v2")]

    events = asyncio.run(main())
    starts = [
        e["name"] for e in normalize_events(events, order="tree") if e["event"] == "on_chain_start"
    ]
    assert starts == ["RunnableSequence", "first", "second"]


def test_an_unknown_order_is_refused() -> None:
    with pytest.raises(ValueError, match='order must be "arrival" or "tree"'):
        normalize_events([], order="random")  # type: ignore[arg-type]


def test_normalize_drops_run_ids_and_numbers_uuids_in_order() -> None:
    from langchain_core.messages import AIMessageChunk

    chunk = AIMessageChunk(content="hi", id="lc_run--01a1fdf1-6257-7723-aedc-3948206c215e")
    other = "see 0b7c5f8e-1d2a-4c3b-9e8f-7a6b5c4d3e2f and 0b7c5f8e-1d2a-4c3b-9e8f-7a6b5c4d3e2f"
    shown = normalize({"chunk": chunk, "text": other, "pair": (1, 2)})
    assert "id" not in shown["chunk"] and shown["chunk"]["type"] == "AIMessageChunk"
    assert shown["text"] == "see <uuid1> and <uuid1>"
    assert shown["pair"] == [1, 2]
