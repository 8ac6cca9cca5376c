"""Helpers for provider tests: the real corpus as `Interaction`s, and hand-built bodies."""

from __future__ import annotations

import json
from typing import Any

import streamtest
from fixtures.corpus import ROOT, manifest_rows
from streamtest._core.model import Chunk, Interaction, Request, Response


def manifest() -> list[dict[str, str]]:
    """The rows of the corpus MANIFEST.tsv (provider, api, features, event counts...)."""
    return manifest_rows()


def load_vcr(relative: str) -> list[Interaction]:
    """Every interaction of a corpus cassette, from its committed conversion (one chunk per
    event, as `import_vcr` wrote it; `tests/test_corpus.py` checks it is up to date)."""
    return streamtest.load_cassette((ROOT / relative).with_suffix(".jsonl")).interactions


def sse(*events: Any, newline: str = "\n") -> bytes:
    """An SSE body. Each event is a JSON object or a raw data string, or ``(name, data)`` for
    a named event; ``newline`` is the line ending (Gemini uses CRLF)."""
    out = []
    for event in events:
        name, data = event if isinstance(event, tuple) else (None, event)
        text = data if isinstance(data, str) else json.dumps(data)
        head = f"event: {name}{newline}" if name else ""
        out.append(f"{head}data: {text}{newline}{newline}")
    return "".join(out).encode()


def anthropic_sse(*events: dict[str, Any]) -> bytes:
    """Anthropic's framing: every event named after its JSON ``type``."""
    return sse(*((event["type"], event) for event in events))


def ndjson(*lines: dict[str, Any]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def interaction(
    url: str,
    body: bytes,
    *,
    content_type: str = "text/event-stream",
    status: int = 200,
    chunk_size: int | None = 7,
    headers: tuple[tuple[str, str], ...] = (),
    **response: Any,
) -> Interaction:
    """A POST to ``url`` answered with ``body``, cut into small chunks (boundaries anywhere,
    as the network cuts them); ``headers`` are added after the content type."""
    size = chunk_size or max(len(body), 1)
    chunks = tuple(Chunk(t=0.0, data=body[i : i + size]) for i in range(0, len(body), size))
    return Interaction(
        request=Request(method="POST", url=url, body=b"{}"),
        response=Response(
            status=status,
            headers=(("content-type", content_type), *headers),
            chunks=chunks,
            **response,
        ),
    )
