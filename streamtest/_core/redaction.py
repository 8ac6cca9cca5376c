"""Redaction: secrets are removed before anything reaches a cassette.

Defaults (each can be turned off explicitly with `Redaction.without`, or extended with
`Redaction.adding`):

- the values of secret-bearing headers, in requests and responses;
- the values of key-like query parameters;
- anywhere in the URL, a header, the request body or the response chunks: the value of every
  environment variable whose name matches ``*_API_KEY``, ``*_TOKEN`` or ``*_SECRET`` (values
  shorter than 8 characters are left alone: they would collide with ordinary text), and strings
  shaped like provider keys (``sk-...``, ``sk-ant-...``, ``AIza...``, ``gsk_...``, ``hf_...``).

Every secret becomes the placeholder ``REDACTED``. The live request is redacted the same way
before matching, so a redacted request still matches its recording. A secret split across two
chunks is found too: chunks are searched as one stream and the placeholder goes in the chunk
where the secret began. Compressed bodies are not searched (their bytes are kept exactly).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from operator import attrgetter
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

from .model import Chunk, Headers, Request, Response
from .streamsearch import Span, StreamSearch, reach

PLACEHOLDER = "REDACTED"
_DATA = attrgetter("data")
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "openai-organization",
        "openai-project",
        "cookie",
        "set-cookie",
    }
)
SECRET_QUERY_PARAMS = frozenset(
    {
        "key",
        "api_key",
        "apikey",
        "api-key",
        "access_token",
        "token",
        "auth",
        "password",
        "secret",
        "client_secret",
        "signature",
        "sig",
    }
)
SECRET_ENV_PATTERNS = ("*_API_KEY", "*_TOKEN", "*_SECRET")
# Each shape is a key not preceded by a letter or digit: ``s(?<![A-Za-z0-9]s)k-...`` is
# ``(?<![A-Za-z0-9])sk-...`` with the check moved after the first letter. When every alternative
# of the search begins with a literal byte, `re` skips straight to the bytes that can begin one:
# a body is searched ~10-18x faster (tests/core/test_redaction.py checks the two forms agree).
KEY_SHAPES: tuple[tuple[str, str], ...] = (
    ("openai-anthropic", r"s(?<![A-Za-z0-9]s)k-[A-Za-z0-9_\-]{16,}"),
    ("google", r"A(?<![A-Za-z0-9]A)Iza[0-9A-Za-z_\-]{35}"),
    ("groq", r"g(?<![A-Za-z0-9]g)sk_[A-Za-z0-9]{20,}"),
    ("huggingface", r"h(?<![A-Za-z0-9]h)f_[A-Za-z0-9]{20,}"),
)
MIN_ENV_VALUE_LENGTH = 8


@dataclass(frozen=True)
class Redaction:
    """What to remove from requests and responses before they are stored."""

    headers: frozenset[str] = SECRET_HEADERS
    query_params: frozenset[str] = SECRET_QUERY_PARAMS
    env_patterns: tuple[str, ...] = SECRET_ENV_PATTERNS
    key_shapes: tuple[tuple[str, str], ...] = KEY_SHAPES
    values: tuple[str, ...] = field(default=())
    """Extra literal secrets to remove wherever they appear."""

    @classmethod
    def off(cls) -> Redaction:
        """No redaction at all; only for cassettes you know hold nothing secret."""
        return cls(frozenset(), frozenset(), (), (), ())

    def adding(
        self,
        *,
        headers: Iterable[str] = (),
        query_params: Iterable[str] = (),
        env_patterns: Iterable[str] = (),
        key_shapes: Iterable[tuple[str, str]] = (),
        values: Iterable[str] = (),
    ) -> Redaction:
        return replace(
            self,
            headers=self.headers | {h.lower() for h in headers},
            query_params=self.query_params | {q.lower() for q in query_params},
            env_patterns=(*self.env_patterns, *env_patterns),
            key_shapes=(*self.key_shapes, *key_shapes),
            values=(*self.values, *values),
        )

    def without(
        self,
        *,
        headers: Iterable[str] = (),
        query_params: Iterable[str] = (),
        env_patterns: Iterable[str] = (),
        key_shapes: Iterable[str] = (),
    ) -> Redaction:
        """Turn defaults off by name; naming one that is not there is a ValueError."""
        drop_h, drop_q = {h.lower() for h in headers}, {q.lower() for q in query_params}
        drop_e, drop_k = set(env_patterns), set(key_shapes)
        for wanted, have, what in (
            (drop_h, self.headers, "header"),
            (drop_q, self.query_params, "query parameter"),
            (drop_e, set(self.env_patterns), "environment pattern"),
            (drop_k, {n for n, _ in self.key_shapes}, "key shape"),
        ):
            if missing := wanted - set(have):
                raise ValueError(
                    f"Cannot turn off {what} redaction for {sorted(missing)}: "
                    f"it is not redacted. Redacted now: {sorted(have)}."
                )
        return replace(
            self,
            headers=self.headers - drop_h,
            query_params=self.query_params - drop_q,
            env_patterns=tuple(p for p in self.env_patterns if p not in drop_e),
            key_shapes=tuple(k for k in self.key_shapes if k[0] not in drop_k),
        )

    def scrubber(self) -> Scrubber:
        """A scrubber for the secrets known now (environment values are read at this moment)."""
        secrets = [*self.values, *_env_secrets(self.env_patterns)]
        return Scrubber(self, secrets)


def _env_secrets(patterns: tuple[str, ...]) -> list[str]:
    return [
        value
        for name, value in os.environ.items()
        if len(value) >= MIN_ENV_VALUE_LENGTH
        and any(fnmatchcase(name.upper(), p.upper()) for p in patterns)
    ]


class Scrubber:
    """Applies a `Redaction` to requests and responses."""

    def __init__(self, rules: Redaction, secrets: list[str]) -> None:
        self.rules = rules
        # An empty secret (a value from an unset variable) would match between every two bytes.
        literal = sorted({s for s in secrets if s}, key=len, reverse=True)
        alternatives = [re.escape(s.encode()) for s in literal]
        alternatives += [shape.encode() for _, shape in rules.key_shapes]
        self._pattern = re.compile(b"|".join(alternatives)) if alternatives else None
        self._placeholder = PLACEHOLDER.encode()
        self._reach: tuple[int, int] | None = None
        self._reach_read = False

    def bytes(self, data: bytes) -> bytes:
        return data if self._pattern is None else self._pattern.sub(self._placeholder, data)

    def text(self, text: str) -> str:
        return self.bytes(text.encode()).decode("utf-8", "surrogateescape")

    def headers(self, headers: Headers) -> Headers:
        return tuple(
            (name, PLACEHOLDER if name.lower() in self.rules.headers else self.text(value))
            for name, value in headers
        )

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.query and self.rules.query_params:
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            if any(k.lower() in self.rules.query_params for k, _ in pairs):
                query = urlencode(
                    [
                        (k, PLACEHOLDER if k.lower() in self.rules.query_params else v)
                        for k, v in pairs
                    ]
                )
                parts = parts._replace(query=query)
        return self.text(urlunsplit(parts))

    def request(self, request: Request) -> Request:
        return Request(
            request.method,
            self.url(request.url),
            self.headers(request.headers),
            self.bytes(request.body),
        )

    def response(self, response: Response) -> Response:
        encoding = (response.header("content-encoding") or "identity").lower()
        chunks = self.chunks(response.chunks) if encoding == "identity" else response.chunks
        headers = self.headers(response.headers)
        if chunks is not response.chunks:
            headers = _fix_content_length(headers, sum(len(c.data) for c in chunks))
        return msgspec.structs.replace(response, headers=headers, chunks=chunks)

    def chunks(self, chunks: tuple[Chunk, ...]) -> tuple[Chunk, ...]:
        """Chunks with secrets replaced, searched across chunk boundaries as one stream (without
        joining the body: a recorded stream may be large). A chunk without a secret is kept as
        it is; a secret goes, as the placeholder, in the chunk where it began."""
        if self._pattern is None or not chunks:
            return chunks
        if not self._reach_read:  # read from the pattern once, on the first response
            self._reach, self._reach_read = reach(self._pattern), True
        spans = StreamSearch(self._pattern, self._reach).spans(map(_DATA, chunks))
        return _replaced(chunks, spans, self._placeholder) if spans else chunks


def _replaced(
    chunks: tuple[Chunk, ...], spans: list[Span], placeholder: bytes
) -> tuple[Chunk, ...]:
    """``chunks`` with the ``spans`` (offsets in their concatenation, in order) replaced."""
    out, index, start = [], 0, 0
    for chunk in chunks:
        data = chunk.data
        end = start + len(data)
        while index < len(spans) and spans[index][1] <= start:
            index += 1
        if index == len(spans) or spans[index][0] >= end:  # no secret touches this chunk
            out.append(chunk)
            start = end
            continue
        piece, cursor = bytearray(), start
        while cursor < end:
            while index < len(spans) and spans[index][1] <= cursor:
                index += 1
            if index < len(spans) and spans[index][0] < end:
                span_start, span_end = spans[index]
                if span_start >= cursor:
                    piece += data[cursor - start : span_start - start] + placeholder
                cursor = min(span_end, end)
            else:
                piece += data[cursor - start :]
                cursor = end
        out.append(Chunk(chunk.t, bytes(piece)))
        start = end
    return tuple(out)


def _fix_content_length(headers: Headers, length: int) -> Headers:
    return tuple((n, str(length) if n.lower() == "content-length" else v) for n, v in headers)
