"""Request matching: which recorded interaction answers a live request, and why none does.

A matcher compares a live request with a recorded one. Built-ins are named (``method``, ``url``,
``scheme``, ``host``, ``port``, ``path``, ``query``, ``body``, ``headers``); a custom matcher is
any callable ``(live, recorded) -> bool``. Both requests have already been through redaction, so
a redacted key in a URL or body compares equal to its recorded placeholder.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .model import Interaction, Request, parse_json

Matcher = Callable[[Request, Request], bool]
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class _Url:
    scheme: str
    host: str
    port: int | None
    path: str
    query: tuple[tuple[str, str], ...]


def _url(request: Request) -> _Url:
    parts = urlsplit(request.url)
    scheme = parts.scheme.lower()
    port = parts.port if parts.port != _DEFAULT_PORTS.get(scheme) else None
    query = tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return _Url(scheme, (parts.hostname or "").lower(), port, parts.path or "/", query)


def _body(request: Request) -> Any:
    return _parsed_body(request.body)


@functools.lru_cache(maxsize=256)
def _parsed_body(body: bytes) -> Any:
    """Parsed once per distinct body: a live request is compared with every recorded one.
    Callers only read the result."""
    parsed = parse_json(body)
    return body if parsed is None else parsed


def canonical_json(value: Any) -> Any:
    """A JSON value that compares as JSON does: Python has ``True == 1``, JSON has not."""
    if isinstance(value, bool):
        return (bool, value)
    if isinstance(value, dict):
        return {key: canonical_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [canonical_json(item) for item in value]
    return value


def _field(name: str) -> Matcher:
    def match(live: Request, recorded: Request) -> bool:
        return bool(getattr(_url(live), name) == getattr(_url(recorded), name))

    match.__name__ = name
    return match


def _headers(request: Request) -> list[tuple[str, str]]:
    return sorted((name.lower(), value) for name, value in request.headers)


BUILTIN_MATCHERS: dict[str, Matcher] = {
    "method": lambda live, rec: live.method.upper() == rec.method.upper(),
    "url": lambda live, rec: _url(live) == _url(rec),
    **{name: _field(name) for name in ("scheme", "host", "port", "path", "query")},
    "body": lambda live, rec: (
        live.body == rec.body or bool(canonical_json(_body(live)) == canonical_json(_body(rec)))
    ),
    "headers": lambda live, rec: _headers(live) == _headers(rec),
}
DEFAULT_MATCH_ON = ("method", "url", "body")


@dataclass(frozen=True, slots=True)
class NamedMatcher:
    name: str
    match: Matcher


def resolve_matchers(match_on: Sequence[str | Matcher]) -> tuple[NamedMatcher, ...]:
    """Turn names and callables into matchers; an unknown name is a ValueError."""
    resolved = []
    for item in match_on:
        if isinstance(item, str):
            if item not in BUILTIN_MATCHERS:
                known = ", ".join(sorted(BUILTIN_MATCHERS))
                raise ValueError(f"Unknown matcher {item!r}; the built-in matchers are: {known}.")
            resolved.append(NamedMatcher(item, BUILTIN_MATCHERS[item]))
        else:
            resolved.append(NamedMatcher(getattr(item, "__name__", repr(item)), item))
    return tuple(resolved)


def failing(live: Request, recorded: Request, matchers: Sequence[NamedMatcher]) -> list[str]:
    """Names of the matchers that tell ``live`` and ``recorded`` apart."""
    return [m.name for m in matchers if not m.match(live, recorded)]


def closest(
    live: Request, interactions: Sequence[Interaction], matchers: Sequence[NamedMatcher]
) -> tuple[int, list[str]] | None:
    """The recorded interaction that fails the fewest matchers (the earliest on a tie)."""
    best: tuple[int, list[str]] | None = None
    for index, interaction in enumerate(interactions):
        names = failing(live, interaction.request, matchers)
        if best is None or len(names) < len(best[1]):
            best = (index, names)
    return best


def explain(live: Request, recorded: Request, names: Sequence[str], *, limit: int = 6) -> list[str]:
    """Field-by-field lines describing how ``live`` differs from ``recorded``."""
    lines: list[str] = []
    for name in names:
        if name == "method":
            lines.append(f"method: live {live.method} != recorded {recorded.method}")
        elif name == "url":
            lines += _url_lines(_url(live), _url(recorded), _URL_FIELDS)
        elif name in _URL_FIELDS:
            lines += _url_lines(_url(live), _url(recorded), (name,))
        elif name == "body":
            lines += [
                f"body{path}: {what}" for path, what in json_diff(_body(live), _body(recorded))
            ]
        elif name == "headers":
            lines.append(f"headers: live {_headers(live)} != recorded {_headers(recorded)}")
        else:
            lines.append(f"the custom matcher {name} returned False")
    unique = list(dict.fromkeys(lines))
    if len(unique) > limit:
        unique = [*unique[:limit], f"... and {len(unique) - limit} more differences"]
    return unique


_URL_FIELDS = ("scheme", "host", "port", "path", "query")


def _url_lines(live: _Url, recorded: _Url, fields: Sequence[str]) -> list[str]:
    return [
        f"{field}: live {getattr(live, field)!r} != recorded {getattr(recorded, field)!r}"
        for field in fields
        if getattr(live, field) != getattr(recorded, field)
    ]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def json_diff(live: Any, recorded: Any, path: str = "") -> list[tuple[str, str]]:
    """Paths (``.messages[0].content``) where two JSON values differ, with both sides."""
    if isinstance(live, dict) and isinstance(recorded, dict):
        out: list[tuple[str, str]] = []
        for key in sorted(set(live) | set(recorded), key=str):
            sub = f"{path}.{key}"
            if key not in recorded:
                out.append((sub, f"only in the live request ({_short(live[key])})"))
            elif key not in live:
                out.append((sub, f"only in the recorded request ({_short(recorded[key])})"))
            else:
                out += json_diff(live[key], recorded[key], sub)
        return out
    if isinstance(live, list) and isinstance(recorded, list) and len(live) == len(recorded):
        return [
            d
            for i, (a, b) in enumerate(zip(live, recorded, strict=True))
            for d in json_diff(a, b, f"{path}[{i}]")
        ]
    if canonical_json(live) == canonical_json(recorded):
        return []
    return [(path, f"live {_short(live)} != recorded {_short(recorded)}")]
