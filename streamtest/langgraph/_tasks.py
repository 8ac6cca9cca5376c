"""What a graph stream says about its tasks, and the ids that change on every run.

A task id is a UUID derived from the checkpoint it runs after, so it differs on every run; it
shows up in namespaces (``"<node>:<task id>"``, joined by ``|`` in ``checkpoint_ns``), in the
payloads of the tasks, debug and checkpoints modes, and in each message's metadata. Each task is
given a name, ``<node>:<n>``: the n-th task of that node, counted in an order that does not
depend on timing (enclosing task, then superstep, then ``langgraph_path``, then first mention).
Checkpoint, interrupt and thread ids and timestamps are collected here too, in the same pass,
so that every mention of one is renamed, wherever it appears.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ._parts import Part

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
NS_SEP = "|"
TIME_KEYS = frozenset({"timestamp", "created_at"})


@dataclasses.dataclass(slots=True)
class Task:
    id: str
    node: str
    parents: tuple[str, ...]
    """The ids of the tasks whose subgraphs enclose this one, outermost first."""
    first: tuple[int, int]
    """(part index, position in the part) of its first mention."""
    step: int | None = None
    path: str = ""
    name: str = ""


@dataclasses.dataclass(slots=True)
class Tasks:
    by_id: dict[str, Task] = dataclasses.field(default_factory=dict)
    checkpoints: set[str] = dataclasses.field(default_factory=set)
    interrupts: set[str] = dataclasses.field(default_factory=set)
    threads: dict[str, str] = dataclasses.field(default_factory=dict)
    """Each thread id -> its stable name, ``<threadN>`` in order of appearance."""
    times: set[str] = dataclasses.field(default_factory=set)

    def add(
        self,
        task_id: str,
        node: str,
        parents: tuple[str, ...],
        first: tuple[int, int],
        *,
        step: Any = None,
        path: Any = None,
    ) -> str:
        task = self.by_id.get(task_id)
        if task is None:
            task = self.by_id[task_id] = Task(task_id, node, parents, first)
        if isinstance(step, int) and not isinstance(step, bool) and task.step is None:
            task.step = step
        if path is not None and not task.path:
            task.path = str(path)
        return task_id

    def add_segments(self, segments: list[str], index: int) -> tuple[str, ...]:
        """Register the tasks of a namespace, outermost first; return their ids."""
        ids: list[str] = []
        for position, segment in enumerate(segments):
            node, task_id = split_segment(segment)
            ids.append(self.add(task_id, node, tuple(ids), (index, position)))
        return tuple(ids)

    def name_of(self, task_id: str) -> str:
        task = self.by_id.get(task_id)
        return task.name if task is not None and task.name else task_id


def split_segment(segment: str) -> tuple[str, str]:
    """``"node:<task id>"`` -> (node, task id); a segment without an id is its own id."""
    node, sep, tail = segment.rpartition(":")
    if sep and UUID.fullmatch(tail):
        return node, tail
    return segment, segment


def message_segments(part: Part) -> list[str] | None:
    """The checkpoint namespace a ``messages`` part was emitted in, split into segments."""
    if part.mode != "messages" or not (isinstance(part.data, tuple) and len(part.data) == 2):
        return None
    metadata = part.data[1]
    if not isinstance(metadata, Mapping):
        return None
    namespace = metadata.get("langgraph_checkpoint_ns") or metadata.get("checkpoint_ns")
    return namespace.split(NS_SEP) if isinstance(namespace, str) and namespace else None


def collect(parts: list[Part]) -> Tasks:
    """Every task, checkpoint id and interrupt id the stream mentions; tasks named."""
    tasks = Tasks()
    for index, part in enumerate(parts):
        parents = tasks.add_segments(list(part.ns), index)
        data = part.data
        segments = message_segments(part)
        if segments is not None:
            ids = tasks.add_segments(segments, index)
            metadata = data[1]
            tasks.add(
                ids[-1],
                tasks.by_id[ids[-1]].node,
                ids[:-1],
                (index, len(ids) - 1),
                step=metadata.get("langgraph_step"),
                path=metadata.get("langgraph_path"),
            )
        elif part.mode == "tasks" and isinstance(data, Mapping):
            _task_payload(tasks, data, parents, index, None)
        elif part.mode == "debug" and isinstance(data, Mapping):
            payload = data.get("payload")
            if data.get("type") in ("task", "task_result") and isinstance(payload, Mapping):
                _task_payload(tasks, payload, parents, index, data.get("step"))
            elif data.get("type") == "checkpoint" and isinstance(payload, Mapping):
                _checkpoint_tasks(tasks, payload, parents, index)
        elif part.mode == "checkpoints" and isinstance(data, Mapping):
            _checkpoint_tasks(tasks, data, parents, index)
        for key, value in walk(data):
            _collect_ids(tasks, key, value)
        if part.has_interrupts:
            for _, value in walk(part.interrupts):
                _collect_ids(tasks, "", value)
    _name(tasks)
    return tasks


def _task_payload(
    tasks: Tasks, payload: Mapping[str, Any], parents: tuple[str, ...], index: int, step: Any
) -> None:
    task_id, node = payload.get("id"), payload.get("name")
    if isinstance(task_id, str) and isinstance(node, str):
        tasks.add(task_id, node, parents, (index, len(parents)), step=step)


def _checkpoint_tasks(
    tasks: Tasks, payload: Mapping[str, Any], parents: tuple[str, ...], index: int
) -> None:
    metadata = payload.get("metadata")
    step = metadata.get("step") if isinstance(metadata, Mapping) else None
    listed = payload.get("tasks")
    for position, entry in enumerate(listed if isinstance(listed, list | tuple) else ()):
        if isinstance(entry, Mapping):
            task_id, node = entry.get("id"), entry.get("name")
            if isinstance(task_id, str) and isinstance(node, str):
                next_step = step + 1 if isinstance(step, int) else None
                tasks.add(task_id, node, parents, (index, position), step=next_step)


def _collect_ids(tasks: Tasks, key: str, value: Any) -> None:
    if key == "thread_id" and isinstance(value, str | int):
        tasks.threads.setdefault(str(value), f"<thread{len(tasks.threads) + 1}>")
    elif key in TIME_KEYS and isinstance(value, str):
        tasks.times.add(value)
    elif key == "checkpoint_id" and isinstance(value, str):
        tasks.checkpoints.add(value)
    elif key in ("checkpoint_map", "parents") and isinstance(value, Mapping):
        tasks.checkpoints.update(item for item in value.values() if isinstance(item, str))
    elif type(value).__name__ == "Interrupt" and isinstance(getattr(value, "id", None), str):
        tasks.interrupts.add(value.id)
    elif key == "interrupts" and isinstance(value, list | tuple):
        for entry in value:
            if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
                tasks.interrupts.add(entry["id"])


def walk(value: Any, key: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair nested in ``value`` (key "" for items of sequences)."""
    yield key, value
    if depth > 50:  # a state cannot nest this deep by accident; stop rather than recurse forever
        return
    if isinstance(value, Mapping):
        for name, item in value.items():
            yield from walk(item, str(name), depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from walk(item, "", depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from walk(getattr(value, field.name, None), field.name, depth + 1)


_LAST = 1 << 62


def _name(tasks: Tasks) -> None:
    """``<node>:<n>``, numbered per node in an order that timing cannot change: outer tasks
    first (so an enclosing task's number can order the tasks inside it), then by enclosing
    task, superstep, ``langgraph_path`` and first mention."""
    counts: dict[str, int] = {}
    ordinals: dict[str, tuple[str, int]] = {}
    for depth in sorted({len(task.parents) for task in tasks.by_id.values()}):
        level = [task for task in tasks.by_id.values() if len(task.parents) == depth]
        level.sort(
            key=lambda task: (
                tuple(ordinals.get(parent, (parent, 0)) for parent in task.parents),
                task.step if task.step is not None else _LAST,
                task.path,
                task.first,
            )
        )
        for task in level:
            if task.id == task.node:  # a namespace segment without an id keeps its name
                task.name, ordinals[task.id] = task.node, (task.node, 0)
                continue
            counts[task.node] = counts.get(task.node, 0) + 1
            task.name = f"{task.node}:{counts[task.node]}"
            ordinals[task.id] = (task.node, counts[task.node])
