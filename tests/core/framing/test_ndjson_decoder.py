"""NDJSONDecoder: one event per non-blank line, whatever the chunk boundaries."""

from __future__ import annotations

import json

import pytest

from streamtest._core.framing import Event, Framing, NDJSONDecoder
from tests.core.framing.realworld_bodies import (
    bodies,
    feed,
    files_with,
    random_splits,
    split_positions,
)


def decode(*pieces: bytes) -> list[Event]:
    return feed(NDJSONDecoder(), pieces)


def test_lines_end_in_lf_or_crlf_and_blank_lines_are_skipped() -> None:
    body = b'{"a":1}\r\n\n  \r\n{"b":"\xc3\xa9"}\n\n'
    assert decode(body) == [
        Event(data='{"a":1}', end=len(b'{"a":1}\r\n')),
        Event(data='{"b":"é"}', end=len(body) - 1),
    ]
    assert [e.json() for e in decode(body)] == [{"a": 1}, {"b": "é"}]


def test_the_final_line_needs_no_newline() -> None:
    assert decode(b'{"a":1}\n{"b":2}') == [
        Event(data='{"a":1}', end=8),
        Event(data='{"b":2}', end=15),
    ]
    assert decode(b"x\r") == [Event(data="x", end=2)]


def test_nothing_is_emitted_before_the_newline_arrives() -> None:
    decoder = NDJSONDecoder()
    assert decoder.decode(b'{"a":') == []
    assert decoder.decode(b"1}\r") == []
    assert decoder.decode(b"\n") == [Event(data='{"a":1}', end=9)]
    assert decoder.flush() == []


def test_a_line_that_is_not_json_is_still_an_event() -> None:
    (event,) = decode(b"not json\n")
    assert event.data == "not json"
    assert event.json() is None


def test_empty_and_blank_streams_have_no_events() -> None:
    assert decode(b"") == []
    assert decode(b"\n \n\r\n") == []


def test_split_inside_a_multibyte_character_changes_nothing() -> None:
    body = '{"t":"日本語"}\n{"t":"🎉"}\n'.encode()
    whole = decode(body)
    for i in range(len(body) + 1):
        assert decode(body[:i], body[i:]) == whole, i


@pytest.mark.parametrize("name", files_with(Framing.NDJSON))
def test_real_bodies_decode_the_same_split_at_every_position(name: str) -> None:
    for index, body in enumerate(bodies(name)):
        whole = decode(body.decoded)
        lines = [line for line in body.decoded.splitlines() if line.strip()]
        assert [json.loads(e.data or "") for e in whole] == [json.loads(x) for x in lines]
        assert whole[-1].end == len(body.decoded)
        for i in split_positions(body.decoded, seed=index):
            assert decode(body.decoded[:i], body.decoded[i:]) == whole, i
        for pieces in random_splits(body.decoded, seed=index):
            assert decode(*pieces) == whole
