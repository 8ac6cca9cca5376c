"""The figures of a cassette: per interaction and per object stream, what `show` prints,
`show --json` writes and `show --plot` draws.

    cassette_figures(cassette)           -> CassetteFigures(path, interactions, streams)
    interaction_figures(index, interaction) -> InteractionFigures
    stream_figures(index, stream)        -> StreamFigures
    gaps(offsets)                        -> Gaps(p50, p90, p99, max) | None
    seconds(value)                       -> "3.8 ms" / "1.23 s" / "unknown"

Times are seconds since the request was sent (an object stream: since its consumer first asked
for an item), None when unknown: interactions imported from vcrpy kept no timing, and
zeros would be a lie. Gaps are between consecutive chunks (items); percentiles interpolate
linearly between the two nearest ranks, like ``statistics.quantiles(method="inclusive")``
and numpy's default, so p50 is the median. Every ``to_dict()`` is plain JSON.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._core.errors import StreamtestError
from .._core.model import Cassette, Interaction, ObjectStream, StreamError
from .._providers import Aggregate, aggregate
from ._deltas import pieces_per_chunk


@dataclass(frozen=True, slots=True)
class Gaps:
    """Percentiles of the gaps between consecutive chunks, in seconds."""

    p50: float
    p90: float
    p99: float
    max: float

    def to_dict(self) -> dict[str, float]:
        return {"p50": self.p50, "p90": self.p90, "p99": self.p99, "max": self.max}


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of sorted ``values``, linearly interpolated."""
    position = (len(values) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def gaps(offsets: Sequence[float]) -> Gaps | None:
    """The gaps between consecutive ``offsets``; None with fewer than two."""
    if len(offsets) < 2:
        return None
    between = sorted(b - a for a, b in itertools.pairwise(offsets))
    # Rounded to the microsecond, as the offsets are: no float noise in --json.
    p50, p90, p99 = (round(percentile(between, q), 6) for q in (50, 90, 99))
    return Gaps(p50, p90, p99, max=round(between[-1], 6))


def seconds(value: float | None) -> str:
    """A duration for people: milliseconds below one second, else seconds."""
    if value is None:
        return "unknown"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def _error(error: StreamError | None) -> dict[str, str] | None:
    return None if error is None else {"type": error.type, "message": error.message}


@dataclass(frozen=True, slots=True)
class InteractionFigures:
    """One interaction: what was asked, how the answer arrived, and what it meant.

    ``time_to_first_token`` is when the first chunk carrying model output (text, reasoning or
    a tool call) arrived. ``failed``: the stream broke, the answer is an HTTP error, or an
    error came in the stream. ``aggregate`` is None when it could not be computed, with the
    reason in ``aggregate_problem`` (the API's SDK is not installed), or when it was not asked
    for. ``offsets`` and ``sizes`` are each chunk's time and byte count, for plots; they are
    not in ``to_dict()``.
    """

    index: int
    method: str
    url: str
    status: int
    api: str
    model: str | None
    chunks: int
    bytes: int
    timed: bool
    time_to_headers: float | None
    time_to_first_chunk: float | None
    time_to_first_token: float | None
    duration: float | None
    gaps: Gaps | None
    end: str
    error: StreamError | None
    failed: bool
    aggregate: Aggregate | None
    aggregate_problem: str | None
    offsets: tuple[float, ...]
    sizes: tuple[int, ...]

    def title(self) -> str:
        """``#0 POST https://... -> 200 (openai-chat, model gpt-4o-mini)``."""
        about = self.api + (f", model {self.model}" if self.model else "")
        return f"#{self.index} {self.method} {self.url} -> {self.status} ({about})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "request": {"method": self.method, "url": self.url},
            "status": self.status,
            "api": self.api,
            "model": self.model,
            "chunks": self.chunks,
            "bytes": self.bytes,
            "timing": "recorded" if self.timed else "unknown",
            "time_to_headers": self.time_to_headers,
            "time_to_first_chunk": self.time_to_first_chunk,
            "time_to_first_token": self.time_to_first_token,
            "duration": self.duration,
            "gaps": self.gaps.to_dict() if self.gaps is not None else None,
            "end": self.end,
            "error": _error(self.error),
            "aggregate": self.aggregate.to_dict() if self.aggregate is not None else None,
            "aggregate_problem": self.aggregate_problem,
        }


def interaction_figures(
    index: int, interaction: Interaction, *, meaning: bool = True
) -> InteractionFigures:
    """The figures of ``interaction``, number ``index`` in its cassette; without ``meaning``,
    no aggregate (which may import a provider SDK: seconds, for anthropic)."""
    request, response = interaction.request, interaction.response
    chunks = response.chunks
    offsets = tuple(chunk.t for chunk in chunks)
    result: Aggregate | None = None
    problem = None
    if meaning:
        try:
            result = aggregate(interaction)
        except StreamtestError as exc:  # the SDK needed to read this API is not installed
            problem = str(exc)
    output = pieces_per_chunk(interaction)
    if result is not None:
        in_stream_error = result.error is not None
    else:
        pieces = itertools.chain(output.end, *output.chunks)
        in_stream_error = any(piece.kind == "error" for piece in pieces)
    first_token = None
    if response.timed and chunks:
        token_chunks = [i for i, p in enumerate(output.chunks) if any(x.is_output for x in p)]
        if token_chunks:
            first_token = offsets[token_chunks[0]]
        elif any(piece.is_output for piece in output.end):  # one JSON document
            first_token = offsets[-1]
    timed = response.timed
    return InteractionFigures(
        index=index,
        method=request.method,
        url=request.url,
        status=response.status,
        api=output.api,
        model=result.model if result is not None else output.model,
        chunks=len(chunks),
        bytes=sum(len(chunk.data) for chunk in chunks),
        timed=timed,
        time_to_headers=response.t if timed else None,
        time_to_first_chunk=offsets[0] if timed and chunks else None,
        time_to_first_token=first_token,
        duration=(offsets[-1] if chunks else response.t) if timed else None,
        gaps=gaps(offsets) if timed else None,
        end=response.end.value,
        error=response.error,
        failed=response.error is not None or response.status >= 400 or in_stream_error,
        aggregate=result,
        aggregate_problem=problem,
        offsets=offsets if timed else (),
        sizes=tuple(len(chunk.data) for chunk in chunks),
    )


@dataclass(frozen=True, slots=True)
class StreamFigures:
    """One object stream: its items' timing, their kinds (``{"text": 34, "DataFrame": 1}``)
    and the text its text items add up to (None when it has none)."""

    index: int
    name: str
    key: Any
    items: int
    time_to_first_item: float | None
    duration: float | None
    gaps: Gaps | None
    end: str
    error: StreamError | None
    kinds: dict[str, int]
    text: str | None
    offsets: tuple[float, ...]

    @property
    def failed(self) -> bool:
        return self.error is not None

    def title(self) -> str:
        key = "" if self.key is None else f", key {_compact(self.key)}"
        return f"stream #{self.index} {self.name}{key}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "key": self.key,
            "items": self.items,
            "time_to_first_item": self.time_to_first_item,
            "duration": self.duration,
            "gaps": self.gaps.to_dict() if self.gaps is not None else None,
            "end": self.end,
            "error": _error(self.error),
            "kinds": self.kinds,
            "text": self.text,
        }


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def item_kind(value: Any) -> str:
    """An item's kind, by its encoded JSON: ``text``, ``number``, a registered type's short
    name (``DataFrame``, ``AIMessageChunk``), ``object``, ``list``..."""
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict) and isinstance(value.get("$type"), str):
        inner = value.get("value")
        if isinstance(inner, dict) and isinstance(inner.get("type"), str):  # langchain.message
            return str(inner["type"])
        return str(value["$type"]).rsplit(".", 1)[-1]
    return "object"


def stream_figures(index: int, stream: ObjectStream) -> StreamFigures:
    """The figures of object stream number ``index`` of its cassette."""
    offsets = tuple(item.t for item in stream.items)
    values = [item.value for item in stream.items]
    texts = [value for value in values if isinstance(value, str)]
    return StreamFigures(
        index=index,
        name=stream.name,
        key=stream.key,
        items=len(values),
        time_to_first_item=offsets[0] if offsets else None,
        duration=offsets[-1] if offsets else None,
        gaps=gaps(offsets),
        end=stream.end.value,
        error=stream.error,
        kinds=dict(Counter(item_kind(value) for value in values).most_common()),
        text="".join(texts) if texts else None,
        offsets=offsets,
    )


@dataclass(frozen=True, slots=True)
class CassetteFigures:
    path: str
    interactions: tuple[InteractionFigures, ...]
    streams: tuple[StreamFigures, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "interactions": [figures.to_dict() for figures in self.interactions],
            "streams": [figures.to_dict() for figures in self.streams],
        }


def cassette_figures(cassette: Cassette, path: str | None = None) -> CassetteFigures:
    """The figures of every interaction and object stream of ``cassette``; ``path`` is how
    to name it (default: its path)."""
    return CassetteFigures(
        path=str(cassette.path) if path is None else path,
        interactions=tuple(interaction_figures(i, x) for i, x in enumerate(cassette.interactions)),
        streams=tuple(stream_figures(i, s) for i, s in enumerate(cassette.streams)),
    )
