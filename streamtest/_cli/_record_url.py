"""``streamtest record --url``: send one request with httpx2, show its stream as it arrives, and
record it in a cassette (through `use_cassette`, so secrets are redacted as always)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._core.errors import StreamtestError
from .._core.filelock import file_state
from .._core.framing import Decoder, decoder_for, detect_framing
from .._core.matching import DEFAULT_MATCH_ON
from .._providers import aggregate
from .._providers.decode import provider_events_of
from .._providers.detect import api_from_url
from .._session import load_cassette, use_cassette
from ._deltas import event_pieces
from ._record_report import describe, shown
from ._term import PROBLEM, fail

_URL_ONLY = ("method", "json", "data_file", "header", "cassette", "show", "timeout")


def add_url_options(record: argparse.ArgumentParser) -> None:
    one = record.add_argument_group("one request (instead of a command)")
    one.add_argument("--url", help="send one request to URL and record its response")
    one.add_argument("--method", help="HTTP method (default POST with a body, else GET)")
    body = one.add_mutually_exclusive_group()
    body.add_argument(
        "--json", metavar="BODY", help="JSON request body, or @FILE to read it from FILE"
    )
    body.add_argument("--data-file", type=Path, metavar="FILE", help="request body, as bytes")
    one.add_argument(
        "--header",
        action="append",
        metavar="'NAME: VALUE'",
        help="a request header (repeatable); secret ones are redacted in the cassette",
    )
    one.add_argument("--cassette", type=Path, metavar="FILE", help="the cassette to record into")
    one.add_argument(
        "--show",
        choices=["raw", "text", "none"],
        help="raw (default): the body as it arrives; text: only the answer's text, for known "
        "APIs (OpenAI, Anthropic, Gemini, Ollama); none: nothing",
    )
    one.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="connect and read timeout (default 120)"
    )


def url_options_given(args: argparse.Namespace) -> str | None:
    """The first option given that only makes sense with --url."""
    for name in _URL_ONLY:
        if getattr(args, name) is not None:
            return f"--{name.replace('_', '-')}"
    return None


def _body(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[bytes | None, str]:
    """The request body and the Content-Type it implies; a bad --json is a usage error."""
    if args.data_file is not None:
        return args.data_file.read_bytes(), ""
    if args.json is None:
        return None, ""
    text: str = args.json
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    try:
        json.loads(text)
    except ValueError as exc:
        parser.error(f"--json is not valid JSON ({exc})")
    return text.encode(), "application/json"


def _headers(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    headers = []
    for header in args.header or []:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            parser.error(f"--header {header!r} is not 'Name: value'")
        headers.append((name.strip(), value.strip()))
    return headers


def record_url(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Send the request, show the stream, record it; report like a recorded command."""
    import httpx2  # here: `streamtest --help` does not pay for the HTTP stack

    if args.cassette is None:
        parser.error("--url needs --cassette FILE, the cassette to record into")
    if args.timeout is not None and not args.timeout > 0:
        parser.error("--timeout must be a positive number of seconds")
    body, content_type = _body(args, parser)
    headers = _headers(args, parser)
    if content_type and not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", content_type))
    method = (args.method or ("POST" if body is not None else "GET")).upper()
    path: Path = args.cassette
    before = file_state(path)
    view = _View(args.show or "raw", args.url)
    problem = None
    try:
        with (
            use_cassette(path, record_mode=args.record_mode, match_on=_match_on(args)),
            httpx2.Client(timeout=args.timeout or 120.0) as client,
            client.stream(method, args.url, content=body, headers=headers) as response,
        ):
            view.start(response.headers.get("content-type"))
            for data in response.iter_bytes():
                view.feed(data)
            if response.status_code >= 400:
                problem = f"the server answered HTTP {response.status_code}."
    except httpx2.TransportError as exc:
        problem = f"{type(exc).__name__}: {exc or 'no detail'} ({method} {args.url})."
    except KeyboardInterrupt:
        problem = "interrupted; the cassette keeps what arrived until then."
    view.end(path if file_state(path) != before else None)
    err = sys.stderr
    if file_state(path) != before:
        print(f"streamtest record: saved {describe(path)}", file=err)
    elif path.exists() and problem is None:
        print(
            f"streamtest record: replayed from {shown(path)} (record mode {args.record_mode}: "
            "the cassette answers this request; --record-mode all records it again)",
            file=err,
        )
    if problem is not None:
        return fail("record", problem, PROBLEM)
    return 0


def _match_on(args: argparse.Namespace) -> Sequence[str]:
    if args.match_on is None:
        return DEFAULT_MATCH_ON
    return [name.strip() for name in args.match_on.split(",") if name.strip()]


class _View:
    """The stream on stdout as it arrives: raw bytes, the answer's text, or nothing."""

    def __init__(self, show: str, url: str) -> None:
        self.show, self.url = show, url
        self.api = api_from_url(url) if show == "text" else None
        self.decoder: Decoder | None = None
        self.open_line = False  # the last byte shown was not a newline
        self.shown_text = False
        self.out = sys.stdout.buffer

    def start(self, content_type: str | None) -> None:
        if self.api is not None:
            self.decoder = decoder_for(detect_framing(content_type, b"", url=self.url))

    def feed(self, data: bytes) -> None:
        if self.show == "raw":
            self._write(data)
        elif self.decoder is not None:
            self._text(self.decoder.decode(data))

    def end(self, recorded: Path | None) -> None:
        if self.decoder is not None:
            self._text(self.decoder.flush())
        if self.show == "text" and not self.shown_text and recorded is not None:
            # not streamed, or an API whose events we do not know: the recorded answer's text
            try:
                interactions = load_cassette(recorded).interactions
                text = aggregate(interactions[-1]).text if interactions else ""
            except StreamtestError:
                text = ""
            self._write(text.encode())
        if self.open_line:
            self._write(b"\n")

    def _text(self, events: list[Any]) -> None:
        for event in provider_events_of(events, self.api or ""):
            for piece in event_pieces(self.api or "", event.data):
                if piece.kind == "text":
                    self.shown_text = True
                    self._write(piece.text.encode())

    def _write(self, data: bytes) -> None:
        if not data or self.show == "none":
            return
        self.open_line = not data.endswith(b"\n")
        try:
            self.out.write(data)
            self.out.flush()
        except BrokenPipeError:  # `| head`: stop showing, keep recording to the end
            self.show = "none"
            self.decoder = None
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
