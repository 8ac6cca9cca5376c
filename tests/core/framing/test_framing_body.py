"""Whole bodies: framing detection, response_events and split_events, on real recordings."""

from __future__ import annotations

import gzip
import itertools
import json
import random
import time
import zlib

import pytest

from streamtest._core.framing import (
    ContentDecoder,
    Event,
    EventStreamDecoder,
    Framing,
    FramingError,
    JSONArrayDecoder,
    JSONDecoder,
    NDJSONDecoder,
    RawDecoder,
    SSEDecoder,
    decode_response,
    decoder_for,
    detect_framing,
    response_events,
    split_events,
)
from streamtest._core.model import Chunk, Response
from tests.core.framing.realworld_bodies import FILES, Body, bodies, feed

GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent"


@pytest.mark.parametrize(
    ("content_type", "head", "url", "framing"),
    [
        ("text/event-stream; charset=utf-8", b"{", "", Framing.SSE),
        ("Text/Event-Stream", b"", "", Framing.SSE),
        ("application/x-ndjson", b"{", "", Framing.NDJSON),
        ("application/ndjson", b"{", "", Framing.NDJSON),
        ("application/jsonl", b"{", "", Framing.NDJSON),
        ("application/x-jsonlines", b"{", "", Framing.NDJSON),
        ("application/vnd.amazon.eventstream", b"\x00", "", Framing.EVENTSTREAM),
        ("application/json; charset=UTF-8", b" \r\n[{", GEMINI, Framing.JSON_ARRAY),
        ("application/problem+json", b"[", "https://x/STREAM", Framing.JSON_ARRAY),
        ("application/json", b"[{", "https://x/v1/chat", Framing.JSON),
        ("application/json", b"{", GEMINI, Framing.JSON),
        ("application/json", b"[", "https://x/a?stream=true", Framing.JSON),
        ("application/json", b"[", "https://x/a#stream", Framing.JSON),
        (None, b"data: {}", "", Framing.SSE),
        (None, b"event: ping", "", Framing.SSE),
        ("", b": keep-alive", "", Framing.SSE),
        (None, b"\xef\xbb\xbfdata: x", "", Framing.SSE),
        (None, b"{}", "", Framing.RAW),
        ("text/plain", b"data: x", "", Framing.RAW),
        ("text/html", b"<html>", "", Framing.RAW),
    ],
)
def test_detect_framing(content_type: str | None, head: bytes, url: str, framing: Framing) -> None:
    assert detect_framing(content_type, head, url=url) is framing


@pytest.mark.parametrize(
    ("framing", "kind"),
    [
        (Framing.SSE, SSEDecoder),
        (Framing.NDJSON, NDJSONDecoder),
        (Framing.JSON_ARRAY, JSONArrayDecoder),
        (Framing.EVENTSTREAM, EventStreamDecoder),
        (Framing.JSON, JSONDecoder),
        (Framing.RAW, RawDecoder),
    ],
)
def test_decoder_for_returns_a_fresh_decoder(framing: Framing, kind: type) -> None:
    first, second = decoder_for(framing), decoder_for(framing)
    assert type(first) is kind
    assert first is not second


@pytest.mark.parametrize("framing", [Framing.JSON, Framing.RAW])
def test_whole_body_decoders_return_one_event(framing: Framing) -> None:
    assert feed(decoder_for(framing), [b'{"a":', b' "\xc3\xa9"}']) == [
        Event(data='{"a": "é"}', end=len('{"a": "é"}'.encode()))
    ]
    assert feed(decoder_for(framing), [b"", b""]) == []


def response(body: Body, *, seed: int) -> Response:
    """The body as a recorded response, cut into seeded random chunks."""
    rng = random.Random(seed)
    cuts = sorted({rng.randint(1, max(1, len(body.raw) - 1)) for _ in range(8)})
    bounds = [0, *cuts, len(body.raw)]
    chunks = tuple(
        Chunk(t=i * 0.01, data=body.raw[a:b])
        for i, (a, b) in enumerate(itertools.pairwise(bounds))
        if b > a
    )
    headers = tuple(
        (name, value)
        for name, value in (
            ("Content-Type", body.content_type),
            ("Content-Encoding", body.content_encoding),
        )
        if value is not None
    )
    return Response(status=200, headers=headers, chunks=chunks)


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in FILES])
def test_response_events_match_decoding_the_whole_decompressed_body(name: str) -> None:
    for index, body in enumerate(bodies(name)):
        recorded = response(body, seed=index)
        assert recorded.body == body.raw
        expected = feed(decoder_for(body.framing), [body.decoded])
        assert response_events(recorded, url=body.url) == expected
        assert expected, "every real body has events"


def test_response_events_need_the_url_to_see_a_json_array_stream() -> None:
    (body, *_) = bodies("llm-gemini/test_tools.yaml")
    recorded = response(body, seed=0)
    assert [e.json() for e in response_events(recorded, url=body.url)] == json.loads(body.decoded)
    (whole,) = response_events(recorded)  # no URL: one JSON document
    assert whole.json() == json.loads(body.decoded)


def test_response_events_of_an_empty_body() -> None:
    assert response_events(Response(status=204)) == []
    headers = (("content-type", "text/event-stream"), ("content-encoding", "gzip"))
    assert response_events(Response(status=200, headers=headers)) == []


def test_response_events_decompress_across_chunks() -> None:
    text = b"data: 1\n\nevent: end\ndata: 2\n\n"
    raw = gzip.compress(text)
    chunks = tuple(Chunk(t=0.0, data=raw[i : i + 3]) for i in range(0, len(raw), 3))
    headers = (("Content-Type", "text/event-stream"), ("Content-Encoding", "gzip"))
    assert response_events(Response(status=200, headers=headers, chunks=chunks)) == [
        Event(data="1", end=9),
        Event(data="2", event="end", end=len(text)),
    ]


def split(body: Body) -> list[bytes]:
    return split_events(
        body.raw,
        content_type=body.content_type,
        content_encoding=body.content_encoding,
        url=body.url,
    )


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in FILES])
def test_split_events_cuts_real_bodies_one_piece_per_event(name: str) -> None:
    for body in bodies(name):
        pieces = split(body)
        events = feed(decoder_for(body.framing), [body.decoded])
        assert b"".join(pieces) == body.raw
        assert all(pieces)
        assert len(pieces) == len(events)
        if body.content_encoding is None:
            # Each piece is exactly one complete event (an SSE block, an NDJSON line).
            # A whole-body framing (one JSON document) emits its one event at the end.
            whole = body.framing in (Framing.JSON, Framing.RAW)
            for piece, event in zip(pieces, events, strict=True):
                decoder = decoder_for(body.framing)
                decoded = decoder.decode(piece)
                flushed = decoder.flush()
                assert [(e.data, e.event) for e in decoded + flushed] == [(event.data, event.event)]
                assert not (flushed if not whole else decoded)


@pytest.mark.parametrize(
    "name", [pytest.param(n, id=n) for n in FILES if any(b.content_encoding for b in bodies(n))]
)
def test_split_events_cuts_gzip_bodies_at_the_first_byte_that_completes_each_event(
    name: str,
) -> None:
    for body in bodies(name):
        pieces = split(body)
        events = feed(decoder_for(body.framing), [body.decoded])
        # Fed piece by piece, each piece completes exactly one more event...
        content, decoder = ContentDecoder(body.content_encoding), decoder_for(body.framing)
        completed = [len(decoder.decode(content.decode(piece))) for piece in pieces]
        completed[-1] += len(decoder.decode(content.flush())) + len(decoder.flush())
        assert completed == [1] * len(events)
        # ...and no cut could be earlier: one byte less does not hold the event yet.
        cut = 0
        for piece, event in zip(pieces[:-1], events, strict=False):
            cut += len(piece)
            assert len(ContentDecoder(body.content_encoding).decode(body.raw[:cut])) >= event.end
            assert (
                len(ContentDecoder(body.content_encoding).decode(body.raw[: cut - 1])) < event.end
            )


def test_anthropic_flushes_gzip_per_event_so_its_cuts_are_exact() -> None:
    for body in bodies("llm-anthropic/test_tools.yaml"):
        cut = 0
        for piece, event in zip(split(body)[:-1], feed(SSEDecoder(), [body.decoded]), strict=False):
            cut += len(piece)
            assert len(ContentDecoder("gzip").decode(body.raw[:cut])) == event.end


def test_split_events_puts_leading_and_trailing_bytes_in_the_first_and_last_piece() -> None:
    body = b'\n [ {"a": 1} ,\n {"b": 2}\n]\n'
    pieces = split_events(body, content_type="application/json", content_encoding=None, url=GEMINI)
    assert pieces == [b'\n [ {"a": 1}', b' ,\n {"b": 2}\n]\n']
    sse = b"data: 1\n\n: comment\n\n\n\ndata: 2\n\n\n"
    assert split_events(sse, content_type="text/event-stream", content_encoding=None) == [
        b"data: 1\n\n",
        b": comment\n\n",
        b"\n\ndata: 2\n\n\n",
    ]


def test_split_events_shares_a_piece_when_one_compressed_byte_ends_several_events() -> None:
    raw = gzip.compress(b"data: x\n\n" * 200)  # back-references yield many events per byte
    pieces = split_events(raw, content_type="text/event-stream", content_encoding="gzip")
    assert b"".join(pieces) == raw
    assert all(pieces)
    assert len(pieces) < 20
    content, decoder, counts = ContentDecoder("gzip"), SSEDecoder(), []
    for piece in pieces:
        counts.append(len(decoder.decode(content.decode(piece))))
    counts[-1] += len(decoder.decode(content.flush())) + len(decoder.flush())
    assert all(counts), "every piece completes at least one event"
    assert sum(counts) == 200


@pytest.mark.parametrize(
    ("content_type", "url"),
    [("application/json", ""), ("application/json", "https://x/chat"), ("text/plain", "")],
)
def test_split_events_keeps_unstreamed_bodies_whole(content_type: str, url: str) -> None:
    body = b'[{"a": 1}, {"b": 2}]'
    assert split_events(body, content_type=content_type, content_encoding=None, url=url) == [body]
    packed = zlib.compress(body)
    assert split_events(packed, content_type=content_type, content_encoding="deflate") == [packed]


def test_split_events_of_an_empty_body() -> None:
    assert split_events(b"", content_type="text/event-stream", content_encoding="gzip") == []


@pytest.mark.parametrize(
    ("framing", "encode"),
    [
        (Framing.SSE, lambda e: b"data: " + e + b"\n\n"),
        (Framing.NDJSON, lambda e: e + b"\n"),
        (Framing.JSON_ARRAY, lambda e: b"," + e),
    ],
)
def test_ten_thousand_events_decode_in_linear_time(framing: Framing, encode: object) -> None:
    element = json.dumps({"choices": [{"delta": {"content": 'wörd "]'}, "index": 0}]}).encode()
    body = b"".join(encode(element) for _ in range(10_000))  # type: ignore[operator]
    if framing is Framing.JSON_ARRAY:
        body = b"[" + body[1:] + b"]"
    pieces = [body[i : i + 64] for i in range(0, len(body), 64)]
    started = time.perf_counter()
    events = feed(decoder_for(framing), pieces)
    elapsed = time.perf_counter() - started
    assert len(events) == 10_000
    # Generous, to stay reliable on a loaded CI machine; a quadratic buffer takes minutes.
    assert elapsed < 3.0


def test_decode_response_keeps_the_events_before_a_cut_and_names_the_damage() -> None:
    body = b'[{"n": 1},\n{"n": 2},\n{"n": 3'  # cut inside the third element
    response = Response(
        200,
        (("content-type", "application/json"),),
        (Chunk(0.0, body[:12]), Chunk(0.0, body[12:])),
    )
    url = "https://x.test/v1beta/models/m:streamGenerateContent"

    decoded = decode_response(response, url=url)

    assert [e.json() for e in decoded.events] == [{"n": 1}, {"n": 2}]
    assert isinstance(decoded.error, FramingError) and decoded.streamed
    with pytest.raises(FramingError):
        response_events(response, url=url)


def test_decode_response_keeps_the_chunks_that_decompressed_before_corrupt_gzip() -> None:
    compressor = zlib.compressobj(wbits=31)  # gzip, flushed after each event like Anthropic
    chunks = [compressor.compress(b"data: 1\n\n") + compressor.flush(zlib.Z_SYNC_FLUSH)]
    chunks.append(compressor.compress(b"data: 2\n\n") + compressor.flush(zlib.Z_SYNC_FLUSH))
    chunks.append(bytes(len(compressor.flush())))  # the end of the stream, zeroed
    response = Response(
        200,
        (("content-type", "text/event-stream"), ("content-encoding", "gzip")),
        tuple(Chunk(0.0, data) for data in chunks),
    )

    decoded = decode_response(response)

    assert [e.data for e in decoded.events] == ["1", "2"]
    assert isinstance(decoded.error, FramingError) and decoded.data_events == 2
