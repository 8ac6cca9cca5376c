"""The response side of ``streamtest diff``: what two responses added up to (their meaning, as
`streamtest.aggregate` reads it) and their provider events, normalized and compared in order."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .._core.errors import StreamtestError
from .._core.model import Interaction
from .._providers import Aggregate, aggregate, provider_events
from ._valuediff import (
    KEEPALIVE_EVENTS,
    SHOWN_PATHS,
    Difference,
    Normalizer,
    path_changes,
    paths_difference,
    same,
    short,
    word_changes,
)


def _aggregate(interaction: Interaction) -> Aggregate | str:
    try:
        return aggregate(interaction)
    except StreamtestError as exc:  # the API's SDK is not installed
        return str(exc)


_SCALARS = ("api", "streamed", "model", "refusal", "finish_reason")


def meaning(
    where: str, a: Interaction, b: Interaction, context: int, notes: list[str]
) -> list[Difference]:
    """How what the two responses added up to differs; when one cannot be aggregated (its
    API's SDK is not installed), only the status is compared and ``notes`` says why."""
    out = []
    ra, rb = a.response, b.response
    if ra.status != rb.status:
        out.append(Difference(where, "status", f"A {ra.status} != B {rb.status}"))
    ga, gb = _aggregate(a), _aggregate(b)
    if isinstance(ga, str) or isinstance(gb, str):
        reason = ga if isinstance(ga, str) else gb
        notes.append(f"{where} meaning not compared: {reason}")
        return out
    for name in ("text", "reasoning"):
        ta, tb = getattr(ga, name), getattr(gb, name)
        if ta != tb:
            words = tuple(word_changes(ta, tb, context=context))
            data = {"a": ta, "b": tb}
            out.append(Difference(where, name, f"{len(words)} change(s)", words, data))
    for name in _SCALARS:
        va, vb = getattr(ga, name), getattr(gb, name)
        if va != vb:
            message = f"A {short(va)} != B {short(vb)}"
            out.append(Difference(where, name, message, data={"a": va, "b": vb}))
    calls_a = [_call(call.to_dict()) for call in ga.tool_calls]
    calls_b = [_call(call.to_dict()) for call in gb.tool_calls]
    if len(calls_a) != len(calls_b):
        message = f"A {_names(calls_a)} != B {_names(calls_b)}"
        out.append(Difference(where, "tool_calls", message, data={"a": calls_a, "b": calls_b}))
    elif changes := path_changes(calls_a, calls_b):
        out.append(paths_difference(where, "tool_calls", changes, ""))
    normalize = Normalizer()
    usage_a = normalize(dict(ga.usage)) if ga.usage is not None else None
    usage_b = normalize(dict(gb.usage)) if gb.usage is not None else None
    if changes := path_changes(usage_a, usage_b):
        out.append(paths_difference(where, "usage", changes, ""))
    ea = ga.error.to_dict() if ga.error else None
    eb = gb.error.to_dict() if gb.error else None
    if not same(ea, eb):
        message = f"A {_error(ea)} != B {_error(eb)}"
        out.append(Difference(where, "error", message, data={"a": ea, "b": eb}))
    return out


def _call(call: dict[str, Any]) -> dict[str, Any]:
    call.pop("id", None)
    return call


def _names(calls: list[dict[str, Any]]) -> str:
    if not calls:
        return "none"
    return f"{len(calls)} ({', '.join(str(call['name']) for call in calls)})"


def _error(error: dict[str, Any] | None) -> str:
    return "none" if error is None else short(f"{error['type']}: {error['message']}")


def _normalized_events(interaction: Interaction) -> list[tuple[int, str, Any]]:
    normalize = Normalizer()
    return [
        (index, event.type, normalize(event.data))
        for index, event in enumerate(provider_events(interaction))
        if event.type not in KEEPALIVE_EVENTS
    ]


def events(where: str, a: Interaction, b: Interaction) -> list[Difference]:
    return sequence(where, "events", "event", _normalized_events(a), _normalized_events(b))


def sequence(
    where: str,
    aspect: str,
    noun: str,
    a: list[tuple[int, str, Any]],
    b: list[tuple[int, str, Any]],
    *,
    typed: bool = True,
) -> list[Difference]:
    """The first difference between two normalized sequences of ``(index, type, value)``, and
    the counts (per type, when ``typed``) when they differ."""
    differing = [
        k
        for k, (x, y) in enumerate(zip(a, b, strict=False))
        if x[1] != y[1] or not same(x[2], y[2])
    ]
    if not differing and len(a) == len(b):
        return []
    counts_a, counts_b = Counter(t for _, t, _ in a), Counter(t for _, t, _ in b)
    parts = []
    data: dict[str, Any] = {"a_count": len(a), "b_count": len(b)}
    if typed:
        data["a_types"], data["b_types"] = dict(counts_a), dict(counts_b)
    if counts_a != counts_b:
        by_type = [
            f"{kind} {counts_a[kind]} -> {counts_b[kind]}"
            for kind in sorted(counts_a | counts_b)
            if counts_a[kind] != counts_b[kind]
        ]
        types = f" ({', '.join(by_type)})" if typed else ""
        parts.append(f"{len(a)} in A, {len(b)} in B{types}")
    elif len(differing) > 1:
        parts.append(f"{len(differing)} of {len(a)} {noun}s differ")
    if differing:
        (ia, ta, va), (ib, tb, vb) = a[differing[0]], b[differing[0]]
        at = f"{noun} #{ia}" if ia == ib else f"{noun} #{ia} in A (#{ib} in B)"
        data.update(a_index=ia, b_index=ib)
        if typed:
            data.update(a_type=ta, b_type=tb)
        if ta != tb:
            parts.append(f"first difference at {at}: type A {ta} != B {tb}")
        else:
            changes = path_changes(va, vb)
            data["paths"] = [change.to_dict() for change in changes]
            shown = "; ".join(change.describe() for change in changes[:SHOWN_PATHS])
            parts.append(f"first difference at {at}{f' ({ta})' if typed else ''}: {shown}")
    else:
        longer, side = (a, "A") if len(a) > len(b) else (b, "B")
        index, kind = longer[min(len(a), len(b))][:2]
        data[f"{side.lower()}_index"] = index
        parts.append(f"only {side} goes on, from {noun} #{index}{f' ({kind})' if typed else ''}")
    return [Difference(where, aspect, "; ".join(parts), data=data)]
