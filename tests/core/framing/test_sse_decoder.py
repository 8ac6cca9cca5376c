"""SSEDecoder: the WHATWG rules, chunk-boundary independence, and agreement with openai's."""

from __future__ import annotations

import pytest

from streamtest._core.framing import Event, Framing, SSEDecoder
from tests.core.framing.realworld_bodies import (
    bodies,
    feed,
    files_with,
    random_splits,
    split_positions,
)


def decode(*pieces: bytes) -> list[Event]:
    return feed(SSEDecoder(), pieces)


def fields(events: list[Event]) -> list[tuple[str | None, str | None, str | None, int | None]]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_every_line_ending_gives_the_same_events(newline: bytes) -> None:
    lines = [b"event: a", b"data: 1", b"data: 2", b"", b"data: 3", b"", b""]
    body = newline.join(lines)
    events = decode(body)
    assert fields(events) == [("a", "1\n2", None, None), (None, "3", None, None)]
    assert events[0].end == len(newline.join(lines[:4])) + len(newline)
    assert events[1].end == len(body)


def test_a_cr_at_a_chunk_end_followed_by_lf_is_one_line_ending() -> None:
    decoder = SSEDecoder()
    assert decoder.decode(b"data: a\r") == []
    assert decoder.decode(b"\n\r") == []  # "\r" may still start "\r\n"
    assert decoder.decode(b"\n") == [Event(data="a", end=len(b"data: a\r\n\r\n"))]
    assert decoder.decode(b"data: b\r") == []
    assert decoder.decode(b"\r") == []
    assert decoder.decode(b"data") == [Event(data="b", end=len(b"data: a\r\n\r\ndata: b\r\r"))]
    assert decoder.flush() == [Event(data="", end=len(b"data: a\r\n\r\ndata: b\r\rdata"))]


def test_a_cr_ending_the_stream_ends_the_line() -> None:
    assert decode(b"data: x\r") == [Event(data="x", end=8)]
    assert decode(b"data: x\r\r") == [Event(data="x", end=9)]


def test_field_values_lose_exactly_one_leading_space() -> None:
    assert decode(b"data:x\ndata: y\ndata:  z\n\n")[0].data == "x\ny\n z"


def test_a_data_line_without_value_adds_an_empty_line() -> None:
    assert decode(b"data\n\n")[0].data == ""
    assert decode(b"data:\n\n")[0].data == ""
    assert decode(b"data\ndata\n\n")[0].data == "\n"


def test_event_id_and_retry_fields() -> None:
    body = b"event: delta\nid: 7\nretry: 1500\ndata: {}\n\n"
    (event,) = decode(body)
    assert event == Event(data="{}", event="delta", id="7", retry=1500, end=len(body))
    assert event.json() == {}


@pytest.mark.parametrize("value", [b"15x", b"-1", b"1.5", b"", "\u0663".encode()])
def test_retry_that_is_not_ascii_digits_is_ignored(value: bytes) -> None:
    assert decode(b"retry: " + value + b"\ndata: x\n\n")[0].retry is None


def test_an_id_containing_nul_is_ignored() -> None:
    assert decode(b"id: a\0b\ndata: x\n\n")[0].id is None
    assert decode(b"id: 1\nid: a\0b\ndata: x\n\n")[0].id == "1"


def test_ids_belong_to_their_block() -> None:
    events = decode(b"id: 1\ndata: a\n\ndata: b\n\n")
    assert [e.id for e in events] == ["1", None]


def test_comments_are_collected_and_make_a_block() -> None:
    first, second = b": OPENROUTER PROCESSING\n\n", b":a\n: b\ndata: x\n\n"
    assert decode(first + second) == [
        Event(data=None, comment="OPENROUTER PROCESSING", end=len(first)),
        Event(data="x", comment="a\nb", end=len(first + second)),
    ]


def test_a_block_without_data_is_an_event_with_data_none() -> None:
    assert decode(b"event: ping\n\n") == [Event(data=None, event="ping", end=13)]
    assert decode(b"unknown: field\n\n") == [Event(data=None, end=16)]
    assert Event(data=None).json() is None


def test_blank_lines_alone_make_no_event() -> None:
    assert decode(b"\n\n\r\n\rdata: a\n\n\n\n") == [Event(data="a", end=14)]
    assert decode(b"") == []


def test_the_final_block_needs_no_blank_line() -> None:
    assert decode(b"data: a\n\ndata: b") == [Event(data="a", end=9), Event(data="b", end=16)]
    assert decode(b"data: a\n\nevent: end\n") == [
        Event(data="a", end=9),
        Event(data=None, event="end", end=20),
    ]


def test_a_leading_bom_is_skipped_only_at_the_start() -> None:
    bom = b"\xef\xbb\xbf"
    assert decode(bom + b"data: a\n\n") == [Event(data="a", end=12)]
    assert decode(bom[:1], bom[1:] + b"data: a\n\n") == [Event(data="a", end=12)]
    # Later, the BOM is part of the field name, which is then unknown.
    assert decode(b"data: a\n\n" + bom + b"data: b\n\n")[1].data is None


def test_lines_are_decoded_as_utf8_whatever_the_chunk_boundaries() -> None:
    body = "data: naïve café — 日本語 🎉\n\n".encode()
    expected = decode(body)
    assert expected[0].data == "naïve café — 日本語 🎉"
    for i in range(len(body) + 1):
        assert decode(body[:i], body[i:]) == expected, i
    assert decode(*[body[i : i + 1] for i in range(len(body))]) == expected


def test_invalid_utf8_is_replaced() -> None:
    assert decode(b"data: \xff\n\n")[0].data == "\ufffd"


SPEC_BODY = (
    b"\xef\xbb\xbf: hi\r\nevent: a\r\ndata: x\r\n\r\ndata: y\rdata\r\rid: 3\nretry: 9\n"
    b"data: \xc3\xa9\xe2\x80\x94\n\n\n:only\n\ndata: last\r"
)


@pytest.mark.parametrize("body", [SPEC_BODY], ids=["mixed-endings"])
def test_split_anywhere_into_two_gives_the_same_events(body: bytes) -> None:
    whole = decode(body)
    assert len(whole) == 5
    for i in range(len(body) + 1):
        assert decode(body[:i], body[i:]) == whole, i


@pytest.mark.parametrize("name", files_with(Framing.SSE))
def test_real_bodies_decode_the_same_split_at_every_position(name: str) -> None:
    for index, body in enumerate(bodies(name)):
        if body.framing is not Framing.SSE:
            continue
        whole = decode(body.decoded)
        assert whole, "a real SSE body has events"
        assert whole[-1].end <= len(body.decoded)
        for i in split_positions(body.decoded, seed=index):
            assert decode(body.decoded[:i], body.decoded[i:]) == whole, i
        for pieces in random_splits(body.decoded, seed=index):
            assert decode(*pieces) == whole


@pytest.mark.parametrize("name", files_with(Framing.SSE))
def test_real_bodies_agree_with_the_openai_sdk_decoder(name: str) -> None:
    streaming = pytest.importorskip("openai._streaming")
    for body in bodies(name):
        if body.framing is not Framing.SSE:
            continue
        ours = [
            (e.event, e.data or "", e.id, e.retry)
            for e in decode(body.decoded)
            if e.data is not None or e.event or e.id is not None or e.retry is not None
        ]
        theirs = [
            (sse.event, sse.data, sse.id, sse.retry)
            for sse in streaming.SSEDecoder().iter_bytes(iter([body.decoded]))
        ]
        assert ours == theirs
        assert len(ours) >= 1
