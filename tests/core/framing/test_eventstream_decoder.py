"""EventStreamDecoder: AWS event-stream frames, checked against botocore's own parser."""

from __future__ import annotations

import re
import struct
import uuid
import zlib
from typing import Any

import pytest

from fixtures.eventstream import Header, bedrock_event, frame, string
from streamtest._core.framing import Event, EventStreamDecoder, FramingError
from tests.core.framing.realworld_bodies import feed, random_splits

UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")
ALL_TYPES: list[Header] = [
    ("yes", 0, b""),
    ("no", 1, b""),
    ("byte", 2, struct.pack(">b", -5)),
    ("short", 3, struct.pack(">h", -300)),
    ("int", 4, struct.pack(">i", 70000)),
    ("long", 5, struct.pack(">q", 2**40)),
    ("bytes", 6, struct.pack(">H", 2) + b"\x00\xff"),
    string("string", "héllo"),
    ("timestamp", 8, struct.pack(">q", 1700000000123)),
    ("uuid", 9, UUID.bytes),
]
RENDERED = {
    "yes": "true",
    "no": "false",
    "byte": "-5",
    "short": "-300",
    "int": "70000",
    "long": str(2**40),
    "bytes": "AP8=",
    "string": "héllo",
    "timestamp": "2023-11-14T22:13:20.123Z",
    "uuid": "12345678-1234-5678-1234-567812345678",
}

STREAM = b"".join(
    [
        bedrock_event("messageStart", {"role": "assistant"}),
        bedrock_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Héllo"}}),
        frame(ALL_TYPES, b"\xff not utf-8"),
        frame([], b""),
        frame(
            [
                string(":exception-type", "throttlingException"),
                string(":message-type", "exception"),
            ],
            b'{"message":"slow down"}',
        ),
        bedrock_event("messageStop", {"stopReason": "end_turn"}),
    ]
)


def decode(*pieces: bytes) -> list[Event]:
    return feed(EventStreamDecoder(), pieces)


def test_frames_become_events_with_headers_and_payload() -> None:
    events = decode(STREAM)
    assert [e.event for e in events] == [
        "messageStart",
        "contentBlockDelta",
        None,
        None,
        "throttlingException",
        "messageStop",
    ]
    assert events[1].json() == {"contentBlockIndex": 0, "delta": {"text": "Héllo"}}
    assert events[1].headers == (
        (":event-type", "contentBlockDelta"),
        (":content-type", "application/json"),
        (":message-type", "event"),
    )
    assert dict(events[2].headers) == RENDERED
    assert events[2].data == "\ufffd not utf-8"
    assert events[3] == Event(data="", end=events[2].end + 16)
    assert events[-1].end == len(STREAM)


def botocore_messages(pieces: list[bytes]) -> list[tuple[dict[str, Any], bytes]]:
    eventstream = pytest.importorskip("botocore.eventstream")
    buffer = eventstream.EventStreamBuffer()
    messages = []
    for piece in pieces:
        buffer.add_data(piece)
        messages += [(dict(m.headers), bytes(m.payload)) for m in buffer]
    return messages


def as_botocore(event: Event) -> tuple[dict[str, Any], bytes]:
    """Our event in botocore's terms, typing values back by the test frames' header names."""
    typed: dict[str, Any] = {}
    for name, value in event.headers:
        if name in ("yes", "no"):
            typed[name] = value == "true"
        elif name in ("byte", "short", "int", "long"):
            typed[name] = int(value)
        elif name == "timestamp":
            typed[name] = 1700000000123 if value == RENDERED["timestamp"] else value
        elif name == "bytes":
            typed[name] = b"\x00\xff" if value == RENDERED["bytes"] else value
        elif name == "uuid":
            typed[name] = uuid.UUID(value).bytes
        else:
            typed[name] = value
    payload = b"\xff not utf-8" if event.data == "\ufffd not utf-8" else (event.data or "").encode()
    return typed, payload


def test_decoding_agrees_with_botocore_split_at_every_position() -> None:
    whole = decode(STREAM)
    assert [as_botocore(e) for e in whole] == botocore_messages([STREAM])
    for i in range(len(STREAM) + 1):
        pieces = [STREAM[:i], STREAM[i:]]
        assert decode(*pieces) == whole, i
        assert botocore_messages(pieces) == [as_botocore(e) for e in whole], i
    for pieces in random_splits(STREAM, seed=3, count=100):
        assert decode(*pieces) == whole


def test_a_frame_is_emitted_only_once_complete() -> None:
    first = bedrock_event("messageStart", {"role": "assistant"})
    decoder = EventStreamDecoder()
    assert decoder.decode(first[:-1]) == []
    (event,) = decoder.decode(first[-1:])
    assert event.end == len(first)
    assert decoder.flush() == []


def corrupt(stream: bytes, at: int) -> bytes:
    return stream[:at] + bytes([stream[at] ^ 0x01]) + stream[at + 1 :]


def test_a_bad_message_crc_names_the_frame_offset() -> None:
    first = bedrock_event("messageStart", {"role": "assistant"})
    stream = corrupt(STREAM, len(first) + 40)  # inside the second frame's headers
    with pytest.raises(FramingError, match=f"frame at byte {len(first)} has a bad CRC32"):
        decode(stream)
    errors = pytest.importorskip("botocore.eventstream")
    with pytest.raises(errors.ChecksumMismatch):
        botocore_messages([stream])


def test_a_bad_prelude_crc_names_the_frame_offset() -> None:
    first = bedrock_event("messageStart", {"role": "assistant"})
    stream = corrupt(STREAM, len(first) + 2)  # the second frame's total length
    with pytest.raises(FramingError, match=f"frame at byte {len(first)} has a bad prelude CRC32"):
        decode(stream)


def test_impossible_lengths_are_refused() -> None:
    prelude = struct.pack(">II", 20, 9)
    stream = prelude + struct.pack(">I", zlib.crc32(prelude)) + bytes(8)
    with pytest.raises(FramingError, match=re.escape("impossible lengths: total 20, headers 9")):
        decode(stream)


def test_malformed_headers_are_refused() -> None:
    stream = frame([("bad", 42, b"")], b"")
    with pytest.raises(FramingError, match="malformed headers: unknown header value type 42"):
        decode(stream)


def test_a_stream_ending_inside_a_frame_raises_on_flush() -> None:
    first = bedrock_event("messageStart", {"role": "assistant"})
    decoder = EventStreamDecoder()
    assert len(decoder.decode(STREAM[: len(first) + 5])) == 1
    with pytest.raises(FramingError, match=f"inside the frame that starts at byte {len(first)}"):
        decoder.flush()
