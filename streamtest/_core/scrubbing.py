"""Scrubbing a whole cassette after the fact: the redaction rules applied to every part of an
existing cassette, and a list of the places that held a secret (never the secret itself).

Recording already redacts everything it stores; this is for cassettes written before a rule
existed, with redaction turned off, or edited by hand. The parts are those `Redaction` covers
when recording (request URL, headers and body; response headers and chunks, searched across
chunk boundaries, with Content-Length fixed), plus the recorded error messages and, through
``scrub_item`` (the object layer's own walk, which keeps its type tags), object stream keys and
items. Scrubbing is idempotent: a placeholder is never found again, so a second pass finds
nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec

from .model import Cassette, Headers, Interaction, ObjectStream, Request, StreamError
from .redaction import MIN_ENV_VALUE_LENGTH, PLACEHOLDER, Scrubber


@dataclass(frozen=True, slots=True)
class Finding:
    """One place that held a secret: ``place`` (``request #0 header authorization``), how many
    secrets it held, and a ``hint`` safe to print (``sk-…``, ``$OPENAI_API_KEY``) or None."""

    place: str
    count: int = 1
    hint: str | None = None

    def __str__(self) -> str:
        hint = f" ({self.hint})" if self.hint else ""
        many = f" x{self.count}" if self.count > 1 else ""
        return f"{self.place}{many}{hint}"


def scrub_cassette(
    cassette: Cassette, scrubber: Scrubber, *, scrub_item: Callable[[Any], Any]
) -> tuple[Cassette, list[Finding]]:
    """``cassette`` with the rules of ``scrubber`` applied, and where secrets were found. With
    no finding the cassette returned is ``cassette`` itself. ``scrub_item`` scrubs one encoded
    JSON value (an object stream key or item)."""
    hints = _Hints(scrubber)
    findings: list[Finding] = []
    interactions = []
    for index, interaction in enumerate(cassette.interactions):
        request = _request(interaction.request, scrubber, hints, f"request #{index}", findings)
        response = interaction.response
        where = f"response #{index}"
        findings += _headers(response.headers, scrubber, hints, where)
        scrubbed = scrubber.response(response)
        body, offset = response.body, 0
        for number, (old, new) in enumerate(zip(response.chunks, scrubbed.chunks, strict=True)):
            found = _placeholders(new.data) - _placeholders(old.data)
            if found > 0:  # (a chunk that only lost the tail of a secret begun before: not counted)
                start = offset + (_first_difference(old.data, new.data) or 0)
                findings.append(Finding(f"{where} chunk {number}", found, hints.at(body, start)))
            offset += len(old.data)
        error = _error(response.error, scrubber, hints, f"{where} error", findings)
        scrubbed = msgspec.structs.replace(scrubbed, error=error)
        interactions.append(Interaction(request, scrubbed))
    streams = [
        _stream(stream, scrubber, scrub_item, hints, findings) for stream in cassette.streams
    ]
    if not findings:
        return cassette, []
    return Cassette(cassette.path, interactions, streams=streams), findings


def _placeholders(data: bytes) -> int:
    return data.count(PLACEHOLDER.encode())


def _request(
    request: Request, scrubber: Scrubber, hints: _Hints, where: str, findings: list[Finding]
) -> Request:
    scrubbed, before = scrubber.request(request), len(findings)
    if scrubbed.url != request.url:
        old = parse_qsl(urlsplit(request.url).query, keep_blank_values=True)
        new = parse_qsl(urlsplit(scrubbed.url).query, keep_blank_values=True)
        changed = [k for (k, v), (_, w) in zip(old, new, strict=False) if v != w]
        findings += [Finding(f"{where} url query {name}") for name in dict.fromkeys(changed)]
        # the rest of the URL (path, and values of other parameters) searched as text
        rest = _placeholders(scrubbed.url.encode()) - _placeholders(request.url.encode())
        if rest > len(changed):
            findings.append(Finding(f"{where} url", rest - len(changed), hints.of(request.url)))
        # (a URL whose query was only re-encoded held no secret: it is not a finding)
    findings += _headers(request.headers, scrubber, hints, where)
    if scrubbed.body != request.body:
        found = max(1, _placeholders(scrubbed.body) - _placeholders(request.body))
        findings.append(Finding(f"{where} body", found, hints.of(request.body)))
    return scrubbed if len(findings) > before else request


def _headers(headers: Headers, scrubber: Scrubber, hints: _Hints, where: str) -> Iterator[Finding]:
    for (name, old), (_, new) in zip(headers, scrubber.headers(headers), strict=True):
        if new != old:
            secret = name.lower() in scrubber.rules.headers
            yield Finding(f"{where} header {name.lower()}", hint=None if secret else hints.of(old))


def _error(
    error: StreamError | None,
    scrubber: Scrubber,
    hints: _Hints,
    where: str,
    findings: list[Finding],
) -> StreamError | None:
    if error is None:
        return None
    message = scrubber.text(error.message)
    if message == error.message:
        return error
    found = max(1, message.count(PLACEHOLDER) - error.message.count(PLACEHOLDER))
    findings.append(Finding(where, found, hints.of(error.message)))
    return StreamError(error.type, message)


def _stream(
    stream: ObjectStream,
    scrubber: Scrubber,
    scrub_item: Callable[[Any], Any],
    hints: _Hints,
    findings: list[Finding],
) -> ObjectStream:
    where = f"stream {stream.name!r}"
    key = scrub_item(stream.key)
    if key != stream.key:
        findings.append(Finding(f"{where} key", hint=hints.of(_text(stream.key))))
    items = []
    for number, item in enumerate(stream.items):
        value = scrub_item(item.value)
        if value != item.value:
            found = max(1, _text(value).count(PLACEHOLDER) - _text(item.value).count(PLACEHOLDER))
            findings.append(Finding(f"{where} item {number}", found, hints.of(_text(item.value))))
            item = msgspec.structs.replace(item, value=value)
        items.append(item)
    error = _error(stream.error, scrubber, hints, f"{where} error", findings)
    return msgspec.structs.replace(stream, key=key, items=tuple(items), error=error)


def _text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


class _Hints:
    """Names a secret without showing it: the environment variable it is the value of, else
    the first three characters of the key shape it has (``sk-…``), else nothing."""

    def __init__(self, scrubber: Scrubber) -> None:
        patterns = scrubber.rules.env_patterns
        self.env = sorted(
            (
                (value.encode(), name)
                for name, value in os.environ.items()
                if len(value) >= MIN_ENV_VALUE_LENGTH
                and any(fnmatchcase(name.upper(), p.upper()) for p in patterns)
            ),
            key=lambda pair: -len(pair[0]),
        )
        self.shapes = [re.compile(shape.encode()) for _, shape in scrubber.rules.key_shapes]
        self.scrubber = scrubber

    def of(self, data: bytes | str) -> str | None:
        """The hint for the first secret in ``data``."""
        data = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        start = _first_difference(data, self.scrubber.bytes(data))
        return None if start is None else self.at(data, start)

    def at(self, data: bytes, start: int) -> str | None:
        """The hint for the secret that begins at ``start`` in ``data``."""
        for value, name in self.env:
            if data.startswith(value, start):
                return f"${name}"
        for shape in self.shapes:
            if found := shape.match(data, start):
                return found.group()[:3].decode("utf-8", "replace") + "…"
        return None


def _first_difference(a: bytes, b: bytes) -> int | None:
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return None if a == b else min(len(a), len(b))
