"""Tree order for ``astream_events``: one order for events whose arrival order is up to chance.

Parallel branches (``RunnableParallel``, ``.assign``, ``batch`` inside a run) interleave their
events differently from run to run, live and even between two live runs, so a sequence that
pins their arrival order cannot be compared. Tree order lists each run as a block: its start
event, then the blocks of its child runs, then its own remaining events (stream chunks, end) in
arrival order. Children are sorted by their tags (``seq:step:2``, ``map:key:joke``), then name,
then arrival; so sequential steps keep their order and parallel branches get a fixed one. When
a run's children overlapped in time, its own stream chunks are the merged output of concurrent
branches (``{"joke": ...}`` / ``{"poem": ...}``): those are grouped by their dict keys, stably,
so each branch's pieces keep their order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Run:
    first: int
    events: list[Mapping[str, Any]] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    last: int = 0

    @property
    def sort_key(self) -> tuple[list[str], str, int]:
        start = self.events[0]
        return (
            sorted(str(tag) for tag in start.get("tags") or ()),
            str(start.get("name")),
            self.first,
        )


def tree_order(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``events`` in tree order (see the module docstring); events without a run id stay put
    at the front, in order."""
    runs: dict[str, _Run] = {}
    roots: list[str] = []
    loose: list[Mapping[str, Any]] = []
    for index, event in enumerate(events):
        if "run_id" not in event:
            loose.append(event)
            continue
        key = str(event["run_id"])
        run = runs.get(key)
        if run is None:
            run = runs[key] = _Run(index)
            parents = [str(parent) for parent in event.get("parent_ids") or ()]
            parent = next((p for p in reversed(parents) if p in runs), None)
            (runs[parent].children if parent else roots).append(key)
        run.events.append(event)
        run.last = index
    out = list(loose)
    for root in sorted(roots, key=lambda key: runs[key].sort_key):
        _emit(root, runs, out)
    return out


def _emit(key: str, runs: dict[str, _Run], out: list[Mapping[str, Any]]) -> None:
    run = runs[key]
    out.append(run.events[0])
    children = [runs[child] for child in run.children]
    for child in sorted(run.children, key=lambda child: runs[child].sort_key):
        _emit(child, runs, out)
    rest = run.events[1:]
    if _overlap(children):
        rest = sorted(rest, key=_branch_key)
    out.extend(rest)


def _overlap(children: list[_Run]) -> bool:
    latest_end = -1
    for start, end in sorted((child.first, child.last) for child in children):
        if start < latest_end:
            return True
        latest_end = max(latest_end, end)
    return False


def _branch_key(event: Mapping[str, Any]) -> tuple[int, tuple[str, ...]]:
    """Stream chunks grouped by their keys; the end event (and anything else) last."""
    chunk = (event.get("data") or {}).get("chunk")
    if str(event.get("event", "")).endswith("_stream") and isinstance(chunk, Mapping):
        return (0, tuple(sorted(str(name) for name in chunk)))
    return (1, ())
