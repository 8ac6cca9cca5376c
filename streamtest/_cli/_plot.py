"""``streamtest show --plot``: the timeline of chunk arrivals, drawn with matplotlib.

One row per interaction (and per object stream), cassettes grouped under their names. The x
axis is seconds since the request was sent; each chunk is a tick whose height grows with its
size in bytes (an object stream's items are ticks of one height), the first token a green
triangle, the end a mark saying how the stream ended (black bar: completed, orange square:
closed by the client, red cross: failed). A failed interaction (broken stream, HTTP error,
error in the stream) is drawn in red. Interactions imported from vcrpy have no timing: their
row says so instead of inventing one.

matplotlib is imported on first use (``pip install "streamtest[plot]"``), through its
object-oriented API only (`Figure`, no pyplot): nothing global is touched, no window opens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .._core.errors import StreamtestError
from ._figures import CassetteFigures, InteractionFigures, StreamFigures, seconds

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_BLUE, _RED, _GREEN, _ORANGE, _GREY, _INK = (
    "#2b6cb0",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9aa0a6",
    "#202124",
)
_ROW_INCHES = 0.34
_HEADER = 0.8  # room (in rows) for each cassette's name, when there are several
_MAX_INCHES = 120.0


class PlotUnavailable(StreamtestError):
    """matplotlib is not installed."""


@dataclass(frozen=True, slots=True)
class _Row:
    label: str
    offsets: tuple[float, ...]
    sizes: tuple[int, ...]  # empty: ticks of one height
    first_token: float | None
    end: str
    failed: bool
    timed: bool
    note: str


def _failure(figures: InteractionFigures) -> str:
    """Why an interaction is drawn in red, in a word or two."""
    if figures.error is not None:
        return f" · {figures.error.type}"
    if figures.status >= 400:
        return f" · HTTP {figures.status}"
    error = figures.aggregate.error if figures.aggregate is not None else None
    return f" · error {error.type or ''}".rstrip() if error is not None else ""


def _interaction_row(figures: InteractionFigures) -> _Row:
    status = "" if figures.status == 200 else f" → {figures.status}"
    duration = f", {seconds(figures.duration)}" if figures.timed else ""
    return _Row(
        label=f"#{figures.index} {figures.api}{status}",
        offsets=figures.offsets,
        sizes=figures.sizes,
        first_token=figures.time_to_first_token,
        end=figures.end,
        failed=figures.failed,
        timed=figures.timed,
        note=f"{figures.chunks:,} chunk{_s(figures.chunks)}{duration}{_failure(figures)}",
    )


def _stream_row(figures: StreamFigures) -> _Row:
    return _Row(
        label=f"stream #{figures.index} {figures.name}",
        offsets=figures.offsets,
        sizes=(),
        first_token=figures.time_to_first_item,
        end=figures.end,
        failed=figures.failed,
        timed=True,
        note=f"{figures.items:,} item{_s(figures.items)}, {seconds(figures.duration)}"
        + (f" · {figures.error.type}" if figures.error is not None else ""),
    )


def draw(cassettes: Sequence[CassetteFigures], path: Path) -> None:
    """Draw the timeline of ``cassettes`` into ``path`` (the format follows its suffix)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotUnavailable(
            "drawing a plot needs matplotlib, which is not installed; install it with pip "
            'install "streamtest[plot]".'
        ) from exc

    groups = [
        (c.path, [*map(_interaction_row, c.interactions), *map(_stream_row, c.streams)])
        for c in cassettes
    ]
    rows = sum(max(len(group), 1) for _, group in groups)
    several = len(groups) > 1
    height_rows = rows + (_HEADER * len(groups) if several else 0)
    figure = Figure(
        figsize=(11, min(_MAX_INCHES, 1.5 + _ROW_INCHES * max(height_rows, 1.5))),
        layout="constrained",
    )
    ax = figure.add_subplot()
    timed = [row for _, group in groups for row in group if row.timed and row.offsets]
    end = max((row.offsets[-1] for row in timed), default=0.0) or 1.0
    biggest = max((size for row in timed for size in row.sizes), default=1) or 1

    ticks: list[float] = []
    labels: list[str] = []
    colours: list[str] = []
    y = 0.0  # the bottom of what is drawn so far; each row is one unit tall
    for position, (name, group) in enumerate(groups):
        if several:
            if position:
                ax.axhline(y, color="#dadce0", lw=0.8, zorder=0)
            ax.text(
                0,
                y - 0.12,
                _short(name),
                fontsize=9,
                fontweight="bold",
                color=_INK,
                va="top",
                ha="left",
                transform=ax.get_yaxis_transform(),
                clip_on=False,
            )
            y -= _HEADER
        if not group:
            ax.text(
                0, y - 0.5, "nothing recorded", color=_GREY, fontsize=8, style="italic", va="center"
            )
            y -= 1
        for row in group:
            ticks.append(y - 0.5)
            labels.append(row.label)
            colours.append(_RED if row.failed else _INK)
            _draw_row(ax, row, y - 0.5, end, biggest)
            y -= 1

    ax.set_yticks(ticks, labels, fontsize=7 if rows > 40 else 9)
    for label, colour in zip(ax.get_yticklabels(), colours, strict=True):
        label.set_color(colour)
    ax.set_ylim(y - 0.1, 0.05)
    ax.set_xlim(-end * 0.01, end * 1.2)
    streams = any(c.streams for c in cassettes)
    ax.set_xlabel(
        "seconds since the request was sent"
        + (" (object streams: since the first item was asked for)" if streams else "")
    )
    ax.grid(axis="x", color="#eceff1", lw=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    title = _short(groups[0][0]) if not several else f"{len(groups)} cassettes"
    ax.set_title(f"Chunk arrivals: {title}", loc="left", fontsize=11, color=_INK)
    _legend(figure)
    metadata = {"Date": None} if path.suffix.lower() == ".svg" else {}
    figure.savefig(path, dpi=110, metadata=metadata)


def _short(path: str, width: int = 70) -> str:
    """A cassette's path as given, its start cut when it is long (the end names it)."""
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def _draw_row(ax: Axes, row: _Row, y: float, end: float, biggest: int) -> None:
    colour = _RED if row.failed else _BLUE
    if not row.timed:
        ax.text(
            0,
            y,
            f"timing unknown (imported from vcrpy) · {row.note}",
            color=_RED if row.failed else _GREY,
            fontsize=8,
            style="italic",
            va="center",
        )
        return
    last = row.offsets[-1] if row.offsets else 0.0
    ax.hlines(y, 0, last, color="#cfd8dc", lw=1, zorder=1)
    if row.offsets:
        # Heights grow with the square root of the size: a 10x bigger chunk is ~3x taller,
        # so small chunks stay visible next to big ones.
        heights = (
            [0.2 + 0.55 * math.sqrt(size / biggest) for size in row.sizes]
            if row.sizes
            else [0.5] * len(row.offsets)
        )
        lows = [y - h / 2 for h in heights]
        highs = [y + h / 2 for h in heights]
        width = 1.4 if len(row.offsets) < 200 else 0.7
        ax.vlines(row.offsets, lows, highs, color=colour, lw=width, zorder=2)
    if row.first_token is not None:
        ax.plot(
            [row.first_token],
            [y + 0.42],
            marker="v",
            ms=6,
            color=_GREEN,
            zorder=3,
            linestyle="none",
        )
    marks = {"completed": ("|", _INK, 12), "closed": ("s", _ORANGE, 5), "failed": ("X", _RED, 8)}
    marker, mark_colour, size = marks.get(row.end, ("|", _INK, 12))
    ax.plot(
        [last],
        [y],
        marker=marker,
        ms=size,
        mew=2 if marker == "|" else 1,
        color=mark_colour,
        zorder=4,
        linestyle="none",
    )
    note_colour = _RED if row.failed else "#5f6368"
    ax.text(last + end * 0.012, y, row.note, fontsize=7, color=note_colour, va="center")


def _legend(figure: Figure) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [],
            [],
            marker="|",
            ms=9,
            mew=1.5,
            color=_BLUE,
            linestyle="none",
            label="chunk (taller: more bytes)",
        ),
        Line2D([], [], marker="v", ms=6, color=_GREEN, linestyle="none", label="first token"),
        Line2D([], [], marker="|", ms=10, mew=2, color=_INK, linestyle="none", label="completed"),
        Line2D(
            [], [], marker="s", ms=5, color=_ORANGE, linestyle="none", label="closed by the client"
        ),
        Line2D([], [], marker="X", ms=7, color=_RED, linestyle="none", label="failed"),
    ]
    figure.legend(
        handles=handles,
        loc="outside lower center",
        ncols=len(handles),
        frameon=False,
        fontsize=8,
        handletextpad=0.3,
        columnspacing=1.4,
    )


def _s(count: int) -> str:
    return "" if count == 1 else "s"
