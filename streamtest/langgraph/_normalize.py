"""Turn a graph stream's parts (and a graph's state) into plain, stable, readable values.

What changes between two runs of one graph on one cassette (langgraph 1.2): task ids (so
namespaces, ``checkpoint_ns`` and the tasks and debug payloads), checkpoint ids, interrupt ids
(hashes of the namespace), ``lc_run--`` message ids, debug timestamps and checkpoint
``created_at`` times; and, with parallel branches, the order of their parts. Thread ids are
chosen by the app, often at random. Each becomes a stable name:

- a task id: ``<node>:<n>``, the n-th task of that node (see `streamtest.langgraph._tasks`), in
  namespaces and ``checkpoint_ns`` (``"sub:1|inner:2"``) as in payloads;
- checkpoint ids ``<checkpoint1>``..., interrupt ids ``<interrupt1>``..., thread ids
  ``<thread1>``..., numbered in order of appearance; other UUIDs ``<uuid1>``...;
- timestamps: ``<timestamp>``.

Messages are shown by meaning, as `streamtest.langchain.normalize` shows them, without their
empty fields; the ``ls_*`` and ``lc_versions`` keys of message metadata are dropped (they
change with package versions), and so is ``checkpoint_ns`` where it repeats
``langgraph_checkpoint_ns``. Values are built with the LangChain adapter's normalization, so
a message reads the same in a chain's snapshot and in a graph's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol

from ..langchain import normalize
from ..langchain._normalize import _Names, _plain, apply_rules
from ._order import canonical_order, content_key
from ._parts import Part, read_stream
from ._tasks import UUID, Tasks, collect

__all__ = ["PartRule", "normalize_parts", "normalize_state"]

_DROPPED_METADATA = frozenset({"lc_versions"})
_SEGMENT_UUID = re.compile(rf"(?:([^\s|:'\"]+):)?({UUID.pattern})")
_KEPT_EMPTY = frozenset({"type", "content"})
_NS_KEY = "langgraph_checkpoint_ns"


class PartRule(Protocol):
    """A user rule: takes one normalized part and returns it (changed or a new dict).

    Rules run in order after the built-in normalization, each on the previous one's result.
    """

    def __call__(self, part: dict[str, Any], /) -> dict[str, Any]: ...


def normalize_parts(
    parts: Iterable[Any],
    *,
    stream_mode: str | Sequence[str] | None = None,
    subgraphs: bool | None = None,
    order: Literal["canonical", "arrival"] = "canonical",
    rules: Sequence[PartRule] = (),
) -> list[dict[str, Any]]:
    """One plain dict per part of a graph stream, equal for equal behaviour across runs.

    ``parts`` are the items of ``graph.stream()``/``astream()`` in any shape (see
    `streamtest.langgraph._parts`); pass the ``stream_mode`` and ``subgraphs`` the stream was
    made with to read them exactly (needed for a single mode without namespaces, whose items
    do not say their mode). Each dict has ``mode``, ``ns`` (the namespace as a list of task
    names, when the stream carries namespaces), ``data`` and, for a v2 values part,
    ``interrupts``. Ids and timestamps are stabilized as the module docstring says.

    ``order="canonical"`` (the default) keeps supersteps in order and regroups the parts of
    tasks that ran in parallel, task by task (see `streamtest.langgraph._order`);
    ``"arrival"`` keeps the stream's order. Then each rule in ``rules`` is applied in order.
    """
    if order not in ("canonical", "arrival"):
        raise ValueError(f'order must be "canonical" or "arrival", not {order!r}.')
    stream = read_stream(parts, stream_mode, subgraphs)
    tasks = collect(stream.parts)
    names = _GraphNames(tasks)
    indices: Iterable[int] = range(len(stream.parts))
    if order == "canonical":
        indices = canonical_order(stream.parts, tasks, _content)
    normalized: list[dict[str, Any]] = []
    for index in indices:
        part = stream.parts[index]
        shown: dict[str, Any] = {"mode": part.mode}
        if stream.has_ns:
            shown["ns"] = [names.text(segment) for segment in part.ns]
        shown["data"] = _data(part, names)
        if part.has_interrupts:
            shown["interrupts"] = names.plain(part.interrupts)
        normalized.append(apply_rules(rules, shown))
    return normalized


def normalize_state(state: Any) -> Any:
    """A graph's state (``graph.get_state(config).values``, a ``StateSnapshot``, the last
    values part or ``invoke``'s result) as plain data, with ids and timestamps stabilized and
    messages shown by meaning, as in `normalize_parts`."""
    state = _expand(state)
    tasks = collect([Part("values", (), state)])
    return _GraphNames(tasks).plain(state)


def _data(part: Part, names: _GraphNames) -> Any:
    data = part.data
    if part.mode == "messages" and isinstance(data, tuple) and len(data) == 2:
        message, metadata = data
        if isinstance(metadata, Mapping):
            metadata = {
                key: value
                for key, value in metadata.items()
                if key not in _DROPPED_METADATA
                and not str(key).startswith("ls_")
                # langgraph repeats langgraph_checkpoint_ns as checkpoint_ns: show it once
                and not (key == "checkpoint_ns" and value == metadata.get(_NS_KEY))
            }
        return [names.plain(message), names.plain(metadata)]
    return names.plain(data)


def _content(part: Part) -> str:
    """A sort key for parts of no known task: their mode, namespace depth and content."""
    return content_key([part.mode, len(part.ns), normalize(part.data)])


class _GraphNames(_Names):
    """`_Names` (ordinal names for UUIDs) that also knows the graph's tasks, checkpoints,
    interrupts, threads and timestamps."""

    def __init__(self, tasks: Tasks) -> None:
        super().__init__()
        self.tasks = tasks
        self.numbered: dict[str, dict[str, str]] = {"checkpoint": {}, "interrupt": {}}

    def plain(self, value: Any) -> Any:
        return _compact(_plain(_expand(value), self))

    def text(self, value: str) -> str:
        if value in self.tasks.threads:
            return self.tasks.threads[value]
        if value in self.tasks.times:
            return "<timestamp>"
        if value in self.tasks.interrupts:
            return self._numbered("interrupt", value)
        return _SEGMENT_UUID.sub(self._segment, value)

    def _segment(self, match: re.Match[str]) -> str:
        node, found = match.group(1), match.group(2)
        task = self.tasks.by_id.get(found)
        if task is not None:
            # "node:<task id>" and a bare task id both become the task's name
            return task.name if node in (None, task.node) else f"{node}:{task.name}"
        prefix = f"{node}:" if node is not None else ""
        if found in self.tasks.checkpoints:
            return prefix + self._numbered("checkpoint", found)
        return prefix + self.uuid(found)

    def _numbered(self, kind: str, value: str) -> str:
        table = self.numbered[kind]
        return table.setdefault(value, f"<{kind}{len(table) + 1}>")


def _expand(value: Any) -> Any:
    """NamedTuples (``StateSnapshot``, ``PregelTask``) as dicts of their fields, so that they
    read as what they are rather than as lists."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        fields = {key: _expand(item) for key, item in value._asdict().items()}
        return {"type": type(value).__name__, **fields}
    if isinstance(value, Mapping):
        return {key: _expand(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_expand(item) for item in value]
    return value


def _compact(value: Any) -> Any:
    """Messages without their empty fields (``tool_calls: []``, ``name: null``, ...)."""
    if isinstance(value, dict):
        is_message = str(value.get("type", "")).endswith(("Message", "MessageChunk"))
        return {
            key: _compact(item)
            for key, item in value.items()
            if not (is_message and key not in _KEPT_EMPTY and item in (None, {}, [], ""))
        }
    if isinstance(value, list):
        return [_compact(item) for item in value]
    return value
