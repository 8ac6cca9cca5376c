"""JSONArrayDecoder: each top-level element's exact text, whatever the chunk boundaries."""

from __future__ import annotations

import json
import re

import pytest

from streamtest._core.framing import Event, Framing, FramingError, JSONArrayDecoder
from tests.core.framing.realworld_bodies import (
    bodies,
    feed,
    files_with,
    random_splits,
    split_positions,
)


def decode(*pieces: bytes) -> list[Event]:
    return feed(JSONArrayDecoder(), pieces)


TRICKY = (
    '[{"text": "a ] , { [ \\" \\\\", "n": [1, {"k": "}"}], "é": "日本語 🎉"}\n,\r\n'
    '"a string ] with \\"quotes\\" and \\\\", -12.5e3 , true,null, [], {} ,'
    ' [[[[[[[[[[[[[[[[[[["deeper than the fast path"]]]]]]]]]]]]]]]]]]]\n]\n'
).encode()


def test_elements_keep_their_exact_text() -> None:
    events = decode(TRICKY)
    assert [json.loads(e.data or "") for e in events] == json.loads(TRICKY)
    assert (
        events[0].data == '{"text": "a ] , { [ \\" \\\\", "n": [1, {"k": "}"}], "é": "日本語 🎉"}'
    )
    assert events[2].data == "-12.5e3"
    for event in events:  # each end is just past the element's last character
        assert TRICKY[: event.end].decode().endswith(event.data or "")
    assert events[-1].end == len(TRICKY) - len(b"\n]\n")


def test_split_anywhere_gives_the_same_elements() -> None:
    whole = decode(TRICKY)
    assert len(whole) == 8
    for i in range(len(TRICKY) + 1):
        assert decode(TRICKY[:i], TRICKY[i:]) == whole, i
    for pieces in random_splits(TRICKY, seed=7, count=200):
        assert decode(*pieces) == whole
    assert decode(*[TRICKY[i : i + 1] for i in range(len(TRICKY))]) == whole


def test_an_element_is_emitted_as_soon_as_it_closes() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.decode(b'[{"a": "}') == []
    assert decoder.decode(b'"}') == [Event(data='{"a": "}"}', end=11)]
    assert decoder.decode(b", 12") == []  # a number may go on
    assert decoder.decode(b"]") == [Event(data="12", end=15)]
    assert decoder.flush() == []


@pytest.mark.parametrize("body", [b"", b" \r\n", b"[]", b" [ ] \n"])
def test_empty_arrays_and_bodies_have_no_events(body: bytes) -> None:
    assert decode(body) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b' {"a": 1}', 'byte 1: expected "[" to open the array', id="no-bracket"),
        pytest.param(b"[1,,2]", "byte 3: expected an array element", id="double-comma"),
        pytest.param(b"[1 2]", 'byte 3: expected "," or "]" after', id="missing-comma"),
        pytest.param(b"[1] x", 'byte 4: expected nothing after the closing "]"', id="trailing"),
        pytest.param(b"[1,]", "byte 3: expected an array element", id="trailing-comma"),
    ],
)
def test_malformed_arrays_raise_framing_error_with_the_offset(body: bytes, message: str) -> None:
    with pytest.raises(FramingError, match=re.escape(message)):
        decode(body)


def test_a_stream_ending_inside_an_element_raises_on_flush() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.decode(b'[{"a": 1},\n {"b": "unfinished') == [Event(data='{"a": 1}', end=9)]
    with pytest.raises(FramingError, match="ended inside the element that starts at byte 12"):
        decoder.flush()
    with pytest.raises(FramingError, match="starts at byte 1"):
        decode(b"[12")


def test_a_truncated_array_between_elements_keeps_its_events() -> None:
    assert decode(b'[{"a": 1},') == [Event(data='{"a": 1}', end=9)]


def test_framing_error_is_a_streamtest_error_and_a_value_error() -> None:
    from streamtest._core.errors import StreamtestError

    assert issubclass(FramingError, StreamtestError)
    assert issubclass(FramingError, ValueError)


@pytest.mark.parametrize("name", files_with(Framing.JSON_ARRAY))
def test_real_gemini_bodies_decode_the_same_split_at_every_position(name: str) -> None:
    arrays = [body for body in bodies(name) if body.framing is Framing.JSON_ARRAY]
    assert arrays, "the llm-gemini cassette streams JSON arrays"
    for index, body in enumerate(arrays):
        assert body.content_encoding == "gzip"
        whole = decode(body.decoded)
        assert [json.loads(e.data or "") for e in whole] == json.loads(body.decoded)
        assert all(e.data and e.data[0] == "{" and e.data[-1] == "}" for e in whole)
        for i in split_positions(body.decoded, seed=index):
            assert decode(body.decoded[:i], body.decoded[i:]) == whole, i
        for pieces in random_splits(body.decoded, seed=index):
            assert decode(*pieces) == whole
