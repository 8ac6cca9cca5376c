"""Kinds of stream snapshot: how a value becomes the plain data its YAML file holds.

A kind is a name (the default snapshot name, so the file is ``<test name>[<kind>].yaml``) and a
function from the value to plain data. `StreamSnapshot.match` asserts any kind, and each built-in
kind has a one-line method (``stream_snapshot.aggregate``, ``stream_snapshot.events``); a new
kind (LangGraph's normalized parts and final state, say) is one more constant here and one more
method there (``graph`` and ``state`` are LangGraph's, ``app`` is Streamlit's), and a user's own
kind needs neither::

    GRAPH = SnapshotKind("graph", to_data=my_graph_normalizer)
    stream_snapshot.match(GRAPH, parts)

This is the one place where the snapshot front end reaches the adapters (LangChain, LangGraph),
and only inside the functions that need them: ``import streamtest.snapshot`` loads neither, and
the adapters know nothing of snapshots.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .._core.model import Interaction
from .._providers import Aggregate, aggregate

__all__ = ["AGGREGATE", "APP", "EVENTS", "GRAPH", "STATE", "EventRule", "SnapshotKind"]

EventRule = Callable[[dict[str, Any]], dict[str, Any]]
"""A `streamtest.langchain.NormalizeRule`: one normalized event in, the event to keep out."""


@dataclasses.dataclass(frozen=True, slots=True)
class SnapshotKind:
    """``name``: the default snapshot name; ``to_data(value, **options)``: the data to write."""

    name: str
    to_data: Callable[..., Any]


def aggregate_data(value: object) -> Any:
    """A streamtest `Aggregate` (or an `Interaction`, aggregated) as its ``to_dict()``; anything
    else through `streamtest.langchain.summarize`."""
    if isinstance(value, Interaction):
        value = aggregate(value)
    if isinstance(value, Aggregate):
        return value.to_dict()
    from ..langchain import summarize

    return summarize(value)


def events_data(events: Iterable[Mapping[str, Any]], *, rules: Sequence[EventRule] = ()) -> Any:
    """``astream_events(version="v2")`` events through `streamtest.langchain.normalize_events`."""
    from ..langchain import normalize_events

    return normalize_events(events, rules=rules)


def graph_data(parts: Iterable[Any], **options: Any) -> Any:
    """A LangGraph stream's parts through `streamtest.langgraph.normalize_parts` (``options``
    are its keyword arguments: ``stream_mode``, ``subgraphs``, ``order``, ``rules``)."""
    from ..langgraph import normalize_parts

    return normalize_parts(parts, **options)


def state_data(state: object) -> Any:
    """A LangGraph state through `streamtest.langgraph.normalize_state`."""
    from ..langgraph import normalize_state

    return normalize_state(state)


def app_data(run: Any) -> Any:
    """What a Streamlit app showed (a `streamtest.streamlit.AppRun`): its ``to_data()``."""
    to_data = getattr(run, "to_data", None)
    if not callable(to_data) or type(run).__name__ != "AppRun":
        raise TypeError(
            f"An app snapshot takes what streamtest.streamlit.capture_app or run_app returned "
            f"(an AppRun), not {type(run).__name__}."
        )
    return to_data()


AGGREGATE = SnapshotKind("aggregate", aggregate_data)
APP = SnapshotKind("app", app_data)
EVENTS = SnapshotKind("events", events_data)
GRAPH = SnapshotKind("graph", graph_data)
STATE = SnapshotKind("state", state_data)
