"""What differs between two cassettes, in meaning and events, for ``streamtest diff``.

Interactions pair by request (method, path, query and JSON body with volatile fields dropped),
first to first in recorded order; those left pair by position; the rest are only in A or in B.
Each pair compares, in this order: the request; the status and what the response added up to
(`streamtest.aggregate`: text word by word, tool calls, usage, finish reason, error, model...);
the provider events, normalized (see `_valuediff`). Chunk boundaries, timing, headers, hosts
and whether the client closed a stream after its last event are never differences. Object
streams pair by name and key, then by name, and compare their item values and errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from .._core.matching import canonical_json
from .._core.model import Cassette, Interaction, ObjectStream, Request, parse_json
from ._compare_response import events, meaning, sequence
from ._valuediff import Difference, Normalizer, path_changes, paths_difference, same, short

T = TypeVar("T")


@dataclass(slots=True)
class Comparison:
    """The differences, in report order; notes that are not differences; and a title (the
    request line) for each ``where`` that names an interaction."""

    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # where -> "POST /v1/chat/completions"


def compare(
    a: Cassette,
    b: Cassette,
    *,
    context: int = 3,
    timing: bool = False,
    each: Callable[[list[tuple[int, int]]], Iterable[tuple[int, int]]] = iter,
) -> Comparison:
    """Every difference between ``a`` and ``b``; ``context`` words around text changes;
    ``timing`` adds notes on timing and chunking; ``each`` wraps the loop over interaction
    pairs (a progress bar)."""
    result = Comparison()
    hosts: set[tuple[str, str]] = set()
    pairs, only_a, only_b = pair(a.interactions, b.interactions, (_request_key, _anything))
    for i, j in each(pairs):
        ia, ib = a.interactions[i], b.interactions[j]
        where = f"#{i}" if i == j else f"A#{i} B#{j}"
        result.titles[where] = _title(ia.request)
        result.differences += _request(where, ia.request, ib.request)
        result.differences += meaning(where, ia, ib, context, result.notes)
        result.differences += events(where, ia, ib)
        if (ha := _host(ia.request)) != (hb := _host(ib.request)):
            hosts.add((ha, hb))
        if timing and (line := _timing(ia, ib)):
            result.notes.append(f"{where} {line}")
    for side, indexes, interactions in (
        ("A", only_a, a.interactions),
        ("B", only_b, b.interactions),
    ):
        for index in indexes:
            where = f"{side}#{index}"
            result.titles[where] = _title(interactions[index].request)
            message = f"only in {side}: no request in {'B' if side == 'A' else 'A'} pairs with it"
            result.differences.append(Difference(where, "interaction", message))
    for ha, hb in sorted(hosts):
        result.notes.append(f"requests went to {ha} in A and {hb} in B (hosts are not compared)")
    result.differences += _streams(a.streams, b.streams)
    return result


def pair(
    a: Sequence[T], b: Sequence[T], keys: Sequence[Callable[[T], Any]]
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pairs of indexes into ``a`` and ``b``: with equal first keys (first to first, in order),
    then among those left with equal second keys, and so on; and the indexes left unpaired in
    ``a`` and in ``b``. A constant key pairs the rest by position."""
    pairs: list[tuple[int, int]] = []
    left_a, left_b = list(range(len(a))), list(range(len(b)))
    for key in keys:
        keys_b = {j: key(b[j]) for j in left_b}
        rest_a = []
        for i in left_a:
            wanted = key(a[i])
            j = next((j for j in left_b if keys_b[j] == wanted), None)
            if j is None:
                rest_a.append(i)
            else:
                pairs.append((i, j))
                left_b.remove(j)
        left_a = rest_a
    return sorted(pairs), left_a, left_b


def _anything(item: object) -> None:
    return None


def _body(request: Request) -> Any:
    parsed = parse_json(request.body)
    return request.body if parsed is None else Normalizer()(parsed)


def _request_key(interaction: Interaction) -> Any:
    request = interaction.request
    parts = urlsplit(request.url)
    query = sorted(parse_qsl(parts.query, keep_blank_values=True))
    body = _body(request)
    return (request.method.upper(), parts.path or "/", query, repr(_canonical(body)))


def _canonical(value: Any) -> Any:
    return value if isinstance(value, bytes) else canonical_json(value)


def _title(request: Request) -> str:
    parts = urlsplit(request.url)
    return f"{request.method} {parts.path or '/'}{'?' + parts.query if parts.query else ''}"


def _host(request: Request) -> str:
    return urlsplit(request.url).netloc


def _request(where: str, a: Request, b: Request) -> list[Difference]:
    out = []
    if a.method.upper() != b.method.upper():
        out.append(Difference(where, "request", f"method: A {a.method} != B {b.method}"))
    pa, pb = urlsplit(a.url), urlsplit(b.url)
    if (pa.path or "/") != (pb.path or "/"):
        out.append(Difference(where, "request", f"path: A {pa.path!r} != B {pb.path!r}"))
    qa, qb = dict(parse_qsl(pa.query, True)), dict(parse_qsl(pb.query, True))
    if changes := path_changes(qa, qb):
        out.append(paths_difference(where, "request", changes, "query"))
    ba, bb = _body(a), _body(b)
    if isinstance(ba, bytes) or isinstance(bb, bytes):
        if ba != bb:
            out.append(Difference(where, "request", f"body: A {short(ba)} != B {short(bb)}"))
    elif changes := path_changes(ba, bb):
        out.append(paths_difference(where, "request", changes, "body"))
    return out


def _timing(a: Interaction, b: Interaction) -> str | None:
    """Chunking, timing and how the stream ended (the client closing it after the last event,
    or reading on to the end, is not a difference in meaning)."""

    def span(i: Interaction) -> str:
        chunks, end = i.response.chunks, i.response.end.value
        if not i.response.timed:
            return f"{len(chunks)} chunks, {end}, timing unknown"
        last = f", last {chunks[-1].t:.3f} s" if chunks else ""
        return f"{len(chunks)} chunks, {end}, headers {i.response.t:.3f} s{last}"

    sa, sb = span(a), span(b)
    return None if sa == sb else f"timing: {sa} -> {sb}"


def _stream_key(stream: ObjectStream) -> Any:
    return (stream.name, repr(_canonical(Normalizer()(stream.key))))


def _stream_name(stream: ObjectStream) -> str:
    return stream.name


def _streams(a: list[ObjectStream], b: list[ObjectStream]) -> list[Difference]:
    out: list[Difference] = []
    pairs, only_a, only_b = pair(a, b, (_stream_key, _stream_name))
    for i, j in pairs:
        sa, sb = a[i], b[j]
        where = f"stream {f'#{i}' if i == j else f'A#{i} B#{j}'} {sa.name!r}"
        ka, kb = Normalizer()(sa.key), Normalizer()(sb.key)
        if changes := path_changes(ka, kb):
            out.append(paths_difference(where, "key", changes, ""))
        norm_a, norm_b = Normalizer(), Normalizer()
        items_a = [(n, "item", norm_a(item.value)) for n, item in enumerate(sa.items)]
        items_b = [(n, "item", norm_b(item.value)) for n, item in enumerate(sb.items)]
        out += sequence(where, "items", "item", items_a, items_b, typed=False)
        if not same(_err(sa), _err(sb)):
            message = f"A {_err(sa) or 'none'} != B {_err(sb) or 'none'}"
            out.append(Difference(where, "error", message))
    for side, streams, indexes in (("A", a, only_a), ("B", b, only_b)):
        for index in indexes:
            where = f"stream {side}#{index} {streams[index].name!r}"
            out.append(Difference(where, "stream", f"only in {side}"))
    return out


def _err(stream: ObjectStream) -> str | None:
    error = stream.error
    return None if error is None else short(f"{error.type}: {error.message}")
