"""Helpers for provider tests: the real vcrpy corpus as `Interaction`s, and hand-built bodies.

vcrpy cassettes keep the whole body, so each becomes one chunk; the framing decodes it the
same way whatever the chunk boundaries (its own tests check that).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import yaml

from streamtest._core.model import Chunk, Interaction, Request, Response

VCR_DIR = Path(__file__).resolve().parents[2] / "cassettes" / "realworld" / "vcr"


def manifest() -> list[dict[str, str]]:
    """The rows of the corpus MANIFEST.tsv (provider, api, features, event counts...)."""
    text = (VCR_DIR / "MANIFEST.tsv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines(), delimiter="\t"))


def _body(holder: dict[str, Any]) -> bytes:
    """A vcrpy body: ``body.string`` (text, or bytes kept as recorded, e.g. gzip), ``body``
    as a plain string, or pydantic-ai's ``parsed_body``."""
    if "parsed_body" in holder:
        return json.dumps(holder["parsed_body"]).encode()
    body = holder.get("body")
    if isinstance(body, dict):
        body = body.get("string")
    if body is None:
        return b""
    return body if isinstance(body, bytes) else str(body).encode("utf-8")


def _headers(raw: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for name, values in (raw or {}).items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((str(name), str(value)))
    return tuple(pairs)


def load_vcr(relative: str) -> list[Interaction]:
    """Every interaction of a vcrpy cassette in the corpus, the response body as one chunk."""
    path = VCR_DIR / relative
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    interactions = []
    for item in data["interactions"]:
        req, resp = item["request"], item["response"]
        request = Request(
            method=str(req.get("method", "POST")),
            url=str(req["uri"]),
            headers=_headers(req.get("headers")),
            body=_body(req),
        )
        status = resp.get("status", 200)
        body = _body(resp)
        response = Response(
            status=int(status["code"]) if isinstance(status, dict) else int(status),
            headers=_headers(resp.get("headers")),
            chunks=(Chunk(t=0.0, data=body),) if body else (),
        )
        interactions.append(Interaction(request=request, response=response))
    return interactions


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
