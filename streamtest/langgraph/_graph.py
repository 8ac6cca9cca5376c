"""`CassetteGraph`: replay what a LangGraph graph streamed, with no graph, no model, no network.

Code that consumes a graph stream it did not produce (a UI rendering ``stream_mode="messages"``
tokens, a server relaying ``updates`` over SSE, an approval screen driven by interrupts) can be
tested against the parts a real run yielded: record them once through the real graph, then
replay them with ``CassetteGraph()`` alone. Replay yields exactly the recorded objects (tuples
stay tuples, v2 parts stay dicts, messages and `Interrupt` keep their classes), paced as they
were recorded when the cassette's timing is ``"realtime"``.

Each call is one object stream in the cassette (see docs/cassette-format.md, "Object streams"),
named ``stream_name`` and keyed by what the call asked for: the input (a ``Command(resume=...)``
by its fields), the ``configurable`` part of the config (``thread_id``, ...) and the keyword
arguments given (``stream_mode``, ``subgraphs``, ``version``, ...), normalized with
`streamtest.langchain.normalize` (UUIDs become ordinals, so a fresh ``uuid4()`` thread id keys
alike in every run; values with no fields of their own, such as ``Send``, key by their repr).
Input messages key without an id that is None or a UUID: LangGraph's ``add_messages`` writes a
random id into the caller's own input messages while the graph runs. ``stream`` and ``astream``
share keys (one recording serves both), as do ``invoke`` and ``ainvoke``.

Calls with the same key (``Command(resume="yes")`` twice on one thread) replay their recordings
in order inside one cassette session: ``cassette=None`` within ``use_cassette`` or the pytest
``cassette`` fixture. With ``cassette=<path>`` each call reads and writes the file on its own
(``record_stream(path=...)``), so equal calls all replay the first recording, and recording
them with ``record_mode="all"`` keeps only the last one.

A node that raises while recording: the parts before the failure are recorded with the failure,
and the exception reaches the caller unchanged. Replay yields the same parts and then raises the
exception again: the same class for a builtin exception (``ValueError("bad")``), else a
`streamtest.RecordedStreamError` whose ``.type`` and ``.message`` name the recorded one (a
``GraphRecursionError``, a provider's ``APIError``).

The same recording without this class: ``streamtest.record_stream(graph.stream(...),
name="graph")`` records (and replays) any graph stream inside an active cassette, and
``streamtest.replay_stream(path, name="graph")`` plays it back to a consumer; `CassetteGraph`
adds the key, so one cassette holds many calls, and the graph's own call signature.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any, overload

from .._core.errors import StreamtestError, UnencodableItemError
from .._objects import file_options, record_stream
from ..langchain import normalize

# Registers the codecs now: a part may hold no LangGraph class that would load them lazily
# (a "tasks" part carries a node's ValueError).
from . import _codec  # noqa: F401

__all__ = ["CassetteGraph"]

_ORDINAL_UUID = re.compile(r"<uuid\d+>")  # what normalize makes of a UUID


class CassetteGraph:
    """Replays the parts a LangGraph graph streamed, from a cassette; records them through
    ``graph``.

    ``cassette=None`` uses the active ``streamtest.use_cassette`` (or the pytest ``cassette``
    fixture), so its record mode, timing, speed and clock apply; a path makes this graph use
    that file on its own, with ``record_mode``, ``timing`` and ``speed`` as for
    ``use_cassette``. ``stream_name`` names this graph's streams in the cassette: give two
    graphs recorded in one cassette different names. Keyword arguments of each call go to the
    graph unchanged; replay needs no ``graph``.
    """

    def __init__(
        self,
        graph: Any | None = None,
        *,
        cassette: str | Path | None = None,
        stream_name: str = "graph",
        record_mode: str | None = None,
        timing: str = "instant",
        speed: float = 1.0,
    ) -> None:
        self.graph = graph
        self.cassette = cassette
        self.stream_name = stream_name
        self.record_mode = record_mode
        self.timing = timing
        self.speed = speed

    def __repr__(self) -> str:
        return (
            f"CassetteGraph(graph={self.graph!r}, cassette={self.cassette!r}, "
            f"stream_name={self.stream_name!r})"
        )

    # ------------------------------------------------------------------ the graph's API

    def stream(
        self, input: Any, config: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        """The parts of ``graph.stream(input, config, **kwargs)``, recorded or replayed."""
        live = self._live("stream", input, config, kwargs)
        return self._record(live, self._options("stream", input, config, kwargs))

    def astream(
        self, input: Any, config: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """The parts of ``graph.astream(input, config, **kwargs)``, recorded or replayed."""
        live = self._alive("astream", input, config, kwargs)
        return self._record(live, self._options("stream", input, config, kwargs))

    def invoke(self, input: Any, config: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """The result of ``graph.invoke(input, config, **kwargs)``, recorded as a one-item
        stream, or replayed."""
        live = self._live("invoke", input, config, kwargs)
        return _only(list(self._record(live, self._options("invoke", input, config, kwargs))))

    async def ainvoke(
        self, input: Any, config: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        """The result of ``await graph.ainvoke(input, config, **kwargs)``, recorded as a
        one-item stream (the key ``invoke`` records), or replayed."""
        live = self._alive("ainvoke", input, config, kwargs)
        stream = self._record(live, self._options("invoke", input, config, kwargs))
        return _only([result async for result in stream])

    # ------------------------------------------------------------------ helpers

    def _options(
        self, call: str, input: Any, config: Mapping[str, Any] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        options: dict[str, Any] = {
            "name": self.stream_name,
            "key": _key(call, input, config, kwargs),
        }
        options.update(file_options(self.cassette, self.record_mode, self.timing, self.speed))
        return options

    @overload
    def _record(self, live: AsyncIterator[Any], options: dict[str, Any]) -> AsyncIterator[Any]: ...

    @overload
    def _record(self, live: Iterator[Any], options: dict[str, Any]) -> Iterator[Any]: ...

    def _record(
        self, live: Iterator[Any] | AsyncIterator[Any], options: dict[str, Any]
    ) -> Iterator[Any] | AsyncIterator[Any]:
        try:
            return record_stream(live, **options)
        except UnencodableItemError:
            raise
        except StreamtestError as exc:  # no active cassette: say what the fix is for this class
            if self.cassette is not None:
                raise
            raise StreamtestError(
                f"CassetteGraph(cassette=None) found no active cassette for its stream "
                f"{self.stream_name!r}. Pass cassette=<a cassette file>, or call it inside "
                "`with streamtest.use_cassette(...)` or a pytest test that uses the cassette "
                "fixture or the streamtest marker."
            ) from exc

    def _live(
        self, method: str, input: Any, config: Mapping[str, Any] | None, kwargs: dict[str, Any]
    ) -> Iterator[Any]:
        # A generator: nothing runs (and no graph is needed) unless the call is recorded.
        call = getattr(self._wrapped(), method)
        if method == "invoke":
            yield call(input, config, **kwargs)
        else:
            yield from call(input, config, **kwargs)

    async def _alive(
        self, method: str, input: Any, config: Mapping[str, Any] | None, kwargs: dict[str, Any]
    ) -> AsyncIterator[Any]:
        call = getattr(self._wrapped(), method)
        if method == "ainvoke":
            yield await call(input, config, **kwargs)
        else:
            async for part in call(input, config, **kwargs):
                yield part

    def _wrapped(self) -> Any:
        if self.graph is None:
            # a StreamtestError: record_stream then keeps no (failed) recording of this call
            raise StreamtestError(
                "CassetteGraph has no recording for this call and no graph to record it from: "
                "pass graph=<the compiled graph> to record, or record the cassette again."
            )
        return self.graph


def _key(call: str, input: Any, config: Mapping[str, Any] | None, kwargs: dict[str, Any]) -> Any:
    """What a call asked for, as plain JSON; equal for equal calls across runs."""
    configurable = dict((config or {}).get("configurable") or {})
    kept = {
        name: value
        for name, value in configurable.items()
        # "__pregel_*" are LangGraph's own (set when a graph runs inside another graph)
        if not str(name).startswith("__") and name != "callbacks"
    }
    key = normalize({"call": call, "input": input, "configurable": kept, **kwargs})
    return _without_message_uuids(key)


def _without_message_uuids(value: Any) -> Any:
    """The key without the random ids LangGraph gives messages that have none.

    ``add_messages`` sets ``id = str(uuid4())`` on the caller's own input messages while the
    graph runs, so an input used twice would key differently the second time while recording
    (and not while replaying, where no graph runs): a message's id is left out of the key when
    it is None or a UUID. Ids a caller chose otherwise (``"msg-1"``) are kept.
    """
    if isinstance(value, list):
        return [_without_message_uuids(item) for item in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("type")
    drop = (
        isinstance(kind, str)
        and kind.endswith(("Message", "MessageChunk"))
        and (value.get("id") is None or _ORDINAL_UUID.fullmatch(str(value["id"])) is not None)
    )
    return {
        name: _without_message_uuids(item)
        for name, item in value.items()
        if not (drop and name == "id")
    }


def _only(results: list[Any]) -> Any:
    if len(results) != 1:
        raise StreamtestError(
            f"CassetteGraph.invoke replays a recording of one result, but the recording of this "
            f"call holds {len(results)} items: it was not recorded by CassetteGraph.invoke. "
            'Record it again with CassetteGraph.invoke (record_mode="all").'
        )
    return results[0]
