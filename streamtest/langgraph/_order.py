"""The canonical order of a graph stream: supersteps kept in order, parallel tasks sorted.

LangGraph runs the tasks of one superstep concurrently, and their parts (tokens, custom data,
updates, subgraph parts) reach the stream in whatever order the threads or the event loop
happen to produce them; supersteps themselves follow each other. So the stream is cut into
supersteps, and within each, when several tasks ran, their parts are regrouped task by task:

1. A part belongs to a task when it says which: a namespace (``subgraphs=True``), a message's
   ``langgraph_checkpoint_ns``, a tasks or debug payload's id, an ``updates`` part naming the
   node of a running task. ``custom`` parts of a graph's own nodes do not say which task wrote
   them; in a superstep that ran several tasks, a custom dict with a value naming the node of
   exactly one of them (``{"node": "joke", "status": "done"}``) is taken to be that task's.
2. Supersteps are cut at the graph's ``values``, ``checkpoints`` and debug checkpoint parts and
   at ``updates`` carrying ``__interrupt__`` (these stay in place), where a task's superstep
   changes (known from ``langgraph_step`` in messages, the debug step, or a checkpoint's task
   list), and, in a stream with none of those cuts, where a new part arrives after every task
   seen so far has ended (its ``updates`` part or task result).
3. Within a superstep that ran several tasks, first come the parts of no known task (``custom``
   data that names no node) in order of their content, then each task's parts in their own
   order, tasks sorted by node name and number (``joke:1`` before ``poem:1``). Each task's
   parts from a subgraph are ordered the same way, one namespace level down.

What cannot be told apart is kept in arrival order: a task that streams no messages has no
known superstep unless the stream has the values, tasks, debug or checkpoints mode; when such a
task runs beside tasks that do, where its parts land can vary.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any

from ._parts import Part
from ._tasks import Tasks, message_segments, split_segment


@dataclasses.dataclass(frozen=True, slots=True)
class _Info:
    level: int
    """The namespace depth of the graph that emitted the part."""
    path: tuple[str, ...]
    """The ids of the tasks the part belongs to, outermost first, as deep as known."""
    closes: str | None
    """A node name (``updates``) or task id (a task result) whose task this part ends."""


@dataclasses.dataclass(slots=True)
class _Segment:
    items: list[int] = dataclasses.field(default_factory=list)
    branch: dict[int, str | None] = dataclasses.field(default_factory=dict)
    step: int | None = None
    fixed: bool = False
    parallel: bool = False
    """Known to run several tasks (its checkpoint listed them), even if none of its parts
    says which task it came from."""
    open: set[str] = dataclasses.field(default_factory=set)
    closed: set[str] = dataclasses.field(default_factory=set)

    @property
    def branches(self) -> list[str]:
        return list(dict.fromkeys(b for b in self.branch.values() if b is not None))


def canonical_order(parts: list[Part], tasks: Tasks, content: Callable[[Part], str]) -> list[int]:
    """The indices of ``parts`` in canonical order (see the module docstring)."""
    infos = [_info(part, tasks) for part in parts]
    return _Orderer(parts, infos, tasks, content).order(list(range(len(parts))), 0)


def _info(part: Part, tasks: Tasks) -> _Info:
    path = tuple(split_segment(segment)[1] for segment in part.ns)
    level, closes = len(path), None
    data = part.data
    segments = message_segments(part)
    if segments is not None:
        path = tuple(split_segment(segment)[1] for segment in segments)
        level = len(path) - 1
    elif part.mode == "tasks" and isinstance(data, Mapping) and isinstance(data.get("id"), str):
        path += (data["id"],)
        closes = data["id"] if "input" not in data else None
    elif part.mode == "debug" and isinstance(data, Mapping):
        payload, kind = data.get("payload"), data.get("type")
        is_task = kind in ("task", "task_result")
        if is_task and isinstance(payload, Mapping) and isinstance(payload.get("id"), str):
            path += (payload["id"],)
            closes = payload["id"] if kind == "task_result" else None
    elif part.mode == "updates" and isinstance(data, Mapping) and len(data) == 1:
        [node] = data
        closes = str(node) if node != "__interrupt__" else None
    return _Info(level, path, closes)


def _is_interrupt(part: Part) -> bool:
    return (
        part.mode == "updates" and isinstance(part.data, Mapping) and "__interrupt__" in part.data
    )


def _is_cut(part: Part) -> bool:
    data = part.data
    if part.mode in ("values", "checkpoints"):
        return True
    if part.mode == "debug" and isinstance(data, Mapping):
        return data.get("type") == "checkpoint"
    return _is_interrupt(part)


class _Orderer:
    def __init__(
        self, parts: list[Part], infos: list[_Info], tasks: Tasks, content: Callable[[Part], str]
    ) -> None:
        self.parts, self.infos, self.tasks, self.content = parts, infos, tasks, content

    def order(self, indices: list[int], depth: int) -> list[int]:
        if not any(
            len(self.infos[i].path) > depth
            or (
                self.infos[i].level == depth
                and (self.infos[i].closes is not None or _lists_tasks(self.parts[i]) > 1)
            )
            for i in indices
        ):
            return indices  # no part here says which task it is from: nothing to regroup
        ordered: list[int] = []
        for segment in self._segments(indices, depth):
            branches = segment.branches
            if segment.fixed or (not branches and not segment.parallel):
                ordered += segment.items
            elif len(branches) == 1 and not segment.parallel:
                ordered += self.order(segment.items, depth + 1)
            else:
                for i in segment.items:
                    if segment.branch[i] is None:
                        segment.branch[i] = self._named_in(self.parts[i], branches)
                loose = [i for i in segment.items if segment.branch[i] is None]
                ordered += sorted(loose, key=lambda i: self.content(self.parts[i]))
                for branch in sorted(branches, key=self._branch_key):
                    mine = [i for i in segment.items if segment.branch[i] == branch]
                    ordered += self.order(mine, depth + 1)
        return ordered

    def _named_in(self, part: Part, branches: list[str]) -> str | None:
        """The one task among ``branches`` whose node a custom part's dict names in one of
        its values (``{"node": "joke", ...}``), if exactly one is named."""
        if part.mode != "custom" or not isinstance(part.data, Mapping):
            return None
        said = {value for value in part.data.values() if isinstance(value, str)}
        named = [branch for branch in branches if self._node(branch) in said]
        return named[0] if len(named) == 1 else None

    def _branch_key(self, branch: str) -> tuple[str, int, str]:
        task = self.tasks.by_id.get(branch)
        if task is None or not task.name:
            return (branch, 0, branch)
        node, _, number = task.name.rpartition(":")
        return (node, int(number), branch) if number.isdigit() else (task.name, 0, branch)

    def _segments(self, indices: list[int], depth: int) -> list[_Segment]:
        infos, parts = self.infos, self.parts
        # values and checkpoints parts end every superstep (an interrupt only the last one)
        has_cuts = any(
            infos[i].level == depth and _is_cut(parts[i]) and not _is_interrupt(parts[i])
            for i in indices
        )
        segments: list[_Segment] = []
        current = _Segment()

        def cut(next_segment: _Segment) -> _Segment:
            if current.items:
                segments.append(current)
            return next_segment

        for position, i in enumerate(indices):
            info = infos[i]
            if info.level < depth or (info.level == depth and _is_cut(parts[i])):
                current = cut(_Segment(fixed=True))
                current.items.append(i)
                current = cut(_Segment(parallel=_lists_tasks(parts[i]) > 1))
                continue
            branch = self._branch(i, depth, current, indices, position)
            step = self.tasks.by_id[branch].step if branch in self.tasks.by_id else None
            new = branch is None or branch not in current.open | current.closed
            if not has_cuts and new and current.closed and not current.open:
                current = cut(_Segment())  # every task so far has ended: a new superstep
            elif step is not None and current.step is not None and step != current.step:
                current = cut(_Segment())
            if step is not None and current.step is None:
                current.step = step
            current.items.append(i)
            current.branch[i] = branch
            if branch is not None and branch not in current.closed:
                current.open.add(branch)
            if branch is not None and info.level == depth and self._ends(i, branch):
                current.open.discard(branch)
                current.closed.add(branch)
        if current.items:
            segments.append(current)
        return _merge(segments)

    def _branch(
        self, i: int, depth: int, current: _Segment, indices: list[int], position: int
    ) -> str | None:
        info = self.infos[i]
        if len(info.path) > depth:
            return info.path[depth]
        node = info.closes if self.parts[i].mode == "updates" else None
        if node is None or info.level != depth:
            return None
        running = [t for t in current.open if self._node(t) == node]
        if len(running) == 1:
            return running[0]
        # several tasks of this node are running (Send): the task result that follows says which
        for j in itertools.islice(indices, position + 1, None):
            result = self.infos[j]
            if result.level == depth and result.closes and self._node(result.closes) == node:
                return result.closes
        # no task of this node is known: one name for all of them, so that the order of
        # branches never depends on where a part happened to arrive
        return running[0] if running else f"{node}:?"

    def _ends(self, i: int, branch: str) -> bool:
        closes = self.infos[i].closes
        return closes is not None and (closes == branch or self._node(branch) == closes)

    def _node(self, task_id: str) -> str:
        task = self.tasks.by_id.get(task_id)
        return task.node if task is not None else task_id.partition(":?")[0]


def _lists_tasks(part: Part) -> int:
    """How many tasks a checkpoint part says run next (0 for other parts)."""
    data = part.data
    if part.mode == "debug" and isinstance(data, Mapping):
        data = data.get("payload") if data.get("type") == "checkpoint" else None
    elif part.mode != "checkpoints":
        return 0
    listed = data.get("tasks") if isinstance(data, Mapping) else None
    return len(listed) if isinstance(listed, list | tuple) else 0


def _merge(segments: list[_Segment]) -> list[_Segment]:
    """Put parts that arrived between supersteps (no task known) with the superstep that
    follows, and join neighbouring pieces of one superstep."""
    merged: list[_Segment] = []
    for segment in segments:
        previous = merged[-1] if merged else None
        if previous is not None and not previous.fixed and not segment.fixed:
            loose = not previous.branches and previous.step is None
            same = previous.step is not None and previous.step == segment.step
            if loose or same:
                previous.items += segment.items
                previous.branch.update(segment.branch)
                previous.step = previous.step if previous.step is not None else segment.step
                previous.parallel = previous.parallel or segment.parallel
                continue
        merged.append(segment)
    return merged


def content_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr, ensure_ascii=False)
