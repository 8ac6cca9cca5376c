"""Read the items of any LangGraph stream as `Part` values: mode, namespace, data.

``graph.stream()`` yields a different shape for each combination of its options:

==============================  =========================  ==============================
``stream_mode``                 ``subgraphs=False``        ``subgraphs=True``
==============================  =========================  ==============================
one mode (a string)             ``data``                   ``(ns, data)``
a list of modes                 ``(mode, data)``           ``(ns, mode, data)``
any, with ``version="v2"``      ``{"type", "ns", "data"}`` (values parts add ``interrupts``)
==============================  =========================  ==============================

Given ``stream_mode`` and ``subgraphs``, the shape is known. Without them it is read from each
item: a v2 dict, a tuple led by a namespace (a tuple of strings) or by a mode name; anything
else is bare data, whose mode is only known when it is a ``(message, metadata)`` pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage

MODES = frozenset(
    {"values", "updates", "messages", "custom", "debug", "tasks", "checkpoints", "tools"}
)
"""The stream modes of langgraph 1.2 ("tools" is not in its ``StreamMode`` type yet)."""

_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class Part:
    """One item of a graph stream. ``mode`` is None when the item does not say it;
    ``interrupts`` is set only for a v2 values part (which carries it beside ``data``)."""

    mode: str | None
    ns: tuple[str, ...]
    data: Any
    interrupts: Any = _UNSET

    @property
    def has_interrupts(self) -> bool:
        return self.interrupts is not _UNSET


@dataclass(frozen=True, slots=True)
class Stream:
    parts: list[Part]
    has_ns: bool
    """Whether the items carried namespaces (``subgraphs=True`` or v2): then each normalized
    part shows its ``ns``."""


def read_stream(
    items: Iterable[Any], stream_mode: str | Sequence[str] | None, subgraphs: bool | None
) -> Stream:
    parts: list[Part] = []
    has_ns = bool(subgraphs)
    for index, item in enumerate(items):
        if _is_v2(item):
            has_ns = True
            extra = {"interrupts": item["interrupts"]} if "interrupts" in item else {}
            parts.append(Part(item["type"], tuple(item["ns"]), item["data"], **extra))
        elif stream_mode is not None or subgraphs is not None:
            parts.append(_read_known(index, item, stream_mode, bool(subgraphs)))
        else:
            part, carried_ns = _read_guessed(item)
            has_ns = has_ns or carried_ns
            parts.append(part)
    return Stream(parts, has_ns)


def _is_v2(item: Any) -> bool:
    return (
        isinstance(item, Mapping)
        and {"type", "ns", "data"} <= item.keys()
        and item["type"] in MODES
        and isinstance(item["ns"], tuple | list)
    )


def _read_known(
    index: int, item: Any, stream_mode: str | Sequence[str] | None, subgraphs: bool
) -> Part:
    several = stream_mode is not None and not isinstance(stream_mode, str)
    single = stream_mode if isinstance(stream_mode, str) else None
    size = (1 if subgraphs else 0) + (1 if several else 0) + 1
    if size > 1 and not (isinstance(item, tuple) and len(item) == size):
        shape = ("(ns, " if subgraphs else "(") + ("mode, " if several else "") + "data)"
        raise ValueError(
            f"Part {index} is {_short(item)}, but a stream with stream_mode={stream_mode!r} "
            f"and subgraphs={subgraphs} yields {shape} tuples. Pass the stream_mode and "
            "subgraphs the stream was made with (or neither, to read each part's shape)."
        )
    fields = list(item) if size > 1 else [item]
    ns = tuple(fields.pop(0)) if subgraphs else ()
    mode = fields.pop(0) if several else single
    return Part(mode, ns, fields[0])


def _read_guessed(item: Any) -> tuple[Part, bool]:
    if isinstance(item, tuple):
        if len(item) == 3 and _is_ns(item[0]) and item[1] in MODES:
            return Part(item[1], tuple(item[0]), item[2]), True
        if len(item) == 2 and isinstance(item[0], str) and item[0] in MODES:
            return Part(item[0], (), item[1]), False
        if len(item) == 2 and _is_ns(item[0]):
            return Part(_mode_of(item[1]), tuple(item[0]), item[1]), True
    return Part(_mode_of(item), (), item), False


def _is_ns(value: Any) -> bool:
    return isinstance(value, tuple) and all(isinstance(segment, str) for segment in value)


def _mode_of(data: Any) -> str | None:
    is_message = (
        isinstance(data, tuple)
        and len(data) == 2
        and isinstance(data[0], BaseMessage)
        and isinstance(data[1], Mapping)
    )
    return "messages" if is_message else None


def _short(item: Any) -> str:
    text = repr(item)
    return f"{type(item).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"
