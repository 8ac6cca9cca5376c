"""Fault values: how each reshapes a recorded response, which replays it reaches, and the text
form the marker and the command lines take."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streamtest import (
    Chunk,
    Cut,
    ErrorStatus,
    Fault,
    Rechunk,
    Request,
    Response,
    Stall,
    parse_fault,
)
from streamtest._core.faults import CUT_ERRORS, Injector, Shaped, stall_plan
from streamtest._core.faulttext import faults_of

OPENAI = Request("POST", "https://api.openai.com/v1/chat/completions")
ANTHROPIC = Request("POST", "https://api.anthropic.com/v1/messages")
CHUNKS = (
    Chunk(0.1, b'data: {"a": "h\xc3\xa9"}\n\n'),
    Chunk(0.25, b""),
    Chunk(0.4, b"data: [DONE]\n\n"),
    Chunk(0.9, b"x"),
)
RESPONSE = Response(
    200, (("content-type", "text/event-stream"), ("content-length", "41")), CHUNKS, t=0.05
)


def shape(fault: Fault, response: Response = RESPONSE, request: Request = OPENAI) -> Shaped:
    return fault.reshape(Shaped(response), request)


def holder_offsets(chunks: tuple[Chunk, ...]) -> list[float]:
    """The offset of the recorded chunk holding each body byte."""
    return [chunk.t for chunk in chunks for _ in chunk.data]


def check_same_body(shaped: Shaped) -> None:
    """The pieces hold the recorded body, and each arrives when its last byte had arrived."""
    pieces = shaped.response.chunks
    assert b"".join(p.data for p in pieces) == RESPONSE.body
    offsets, end = holder_offsets(CHUNKS), 0
    for piece in pieces:
        assert piece.data, "no empty pieces"
        end += len(piece.data)
        assert piece.t == offsets[end - 1]
    assert shaped.response.header("content-length") is None  # stale once the chunks change
    assert shaped.response.header("content-type") == "text/event-stream"
    assert not shaped.fails


def test_rechunk_bytes_gives_one_byte_per_chunk_at_its_recorded_offset() -> None:
    shaped = shape(Rechunk("bytes"))
    assert [len(p.data) for p in shaped.response.chunks] == [1] * len(RESPONSE.body)
    check_same_body(shaped)
    assert shaped.faults == ("rechunk=bytes",)


def test_rechunk_whole_gives_one_chunk_when_the_last_byte_arrived() -> None:
    shaped = shape(Rechunk("whole"))
    assert shaped.response.chunks == (Chunk(0.9, RESPONSE.body),)
    check_same_body(shaped)


def test_rechunk_whole_of_an_empty_body_gives_no_chunk() -> None:
    empty = Response(204, chunks=(Chunk(0.1, b""),))
    assert shape(Rechunk("whole"), empty).response.chunks == ()


@pytest.mark.parametrize("max_size", [1, 3, 64])
def test_rechunk_random_is_seeded_and_bounded(max_size: int) -> None:
    first = shape(Rechunk("random", seed=7, max_size=max_size))
    again = shape(Rechunk("random", seed=7, max_size=max_size))
    check_same_body(first)
    assert first.response.chunks == again.response.chunks
    assert all(1 <= len(p.data) <= max_size for p in first.response.chunks)


def test_rechunk_random_seeds_differ() -> None:
    cuts = {
        tuple(len(p.data) for p in shape(Rechunk("random", seed=s, max_size=8)).response.chunks)
        for s in range(5)
    }
    assert len(cuts) > 1


@pytest.mark.parametrize("error", list(CUT_ERRORS))
def test_cut_keeps_the_first_chunks_and_fails_with_the_transport_error(error: Any) -> None:
    shaped = shape(Cut(2, error))
    assert shaped.response.chunks == CHUNKS[:2]
    assert shaped.response.error == CUT_ERRORS[error]
    assert shaped.fails and shaped.faults == (f"cut=2,error={error}",)
    assert shaped.response.status == 200 and shaped.response.t == RESPONSE.t


def test_cut_past_the_end_fails_after_the_last_chunk() -> None:
    closed = Response(200, chunks=CHUNKS, closed=True)
    shaped = shape(Cut(99), closed)
    assert shaped.response.chunks == CHUNKS
    assert shaped.response.error == CUT_ERRORS["reset"] and not shaped.response.closed


def test_cut_at_zero_sends_no_chunk() -> None:
    assert shape(Cut(0)).response.chunks == ()


def test_stall_is_kept_beside_the_response_and_clamped_to_the_end() -> None:
    assert shape(Stall(1, 2.5)).stalls == ((1, 2.5),)
    assert shape(Stall(1, 2.5)).response is RESPONSE
    assert shape(Stall(40, 1)).stalls == ((len(CHUNKS), 1.0),)
    assert not shape(Stall(1, 2.5)).fails


def test_stalls_at_one_chunk_add_up() -> None:
    assert stall_plan([(1, 0.5), (3, 1.0), (1, 0.25)]) == {1: 0.75, 3: 1.0}


def test_a_cut_drops_stalls_after_it() -> None:
    shaped = Cut(1).reshape(Shaped(RESPONSE, ((0, 1.0), (1, 2.0), (3, 3.0))), OPENAI)
    assert shaped.stalls == ((0, 1.0), (1, 2.0))


def error_document(shaped: Shaped) -> Any:
    response = shaped.response
    assert response.header("content-type") == "application/json"
    assert response.header("content-length") == str(len(response.body))
    return json.loads(response.body)


def test_error_status_answers_an_openai_shaped_error() -> None:
    shaped = shape(ErrorStatus(503))
    assert shaped.response.status == 503 and shaped.fails
    error = error_document(shaped)["error"]
    assert error["type"] == "server_error" and "HTTP 503 (Service Unavailable)" in error["message"]
    assert shaped.response.chunks[0].t == RESPONSE.t  # answered when the headers were


def test_error_status_answers_an_anthropic_shaped_error_for_messages() -> None:
    document = error_document(shape(ErrorStatus(529), request=ANTHROPIC))
    assert document["type"] == "error"
    assert document["error"]["type"] == "overloaded_error"
    assert shape(ErrorStatus(429), request=ANTHROPIC).response.status == 429


def test_error_status_retry_after_and_a_body_of_ones_own() -> None:
    response = shape(ErrorStatus(429, body="slow down", retry_after=0.25)).response
    assert response.body == b"slow down"
    assert response.header("retry-after") == "1"  # whole seconds, rounded up
    assert response.header("retry-after-ms") == "250"
    assert response.header("content-type") is None  # a body of one's own: no guessing its type


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Rechunk("lines"), "'bytes', 'random' or 'whole'"),
        (lambda: Rechunk("random", max_size=0), "max_size"),
        (lambda: Cut(-1), "chunk number"),
        (lambda: Cut(2, "eof"), "'reset', 'timeout', 'incomplete'"),
        (lambda: Stall(1, -1), "0 or more"),
        (lambda: Stall(1, float("nan")), "finite"),
        (lambda: ErrorStatus(200), "400 to 599"),
        (lambda: ErrorStatus(500, retry_after=-1), "retry_after"),
        (lambda: Cut(1, skip=-1), "skip"),
        (lambda: Cut(1, times=0), "times"),
    ],
)
def test_bad_fault_values_are_refused_with_the_rule(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        build()


def test_rechunking_comes_last_so_chunk_numbers_count_recorded_chunks() -> None:
    injector = Injector([Rechunk("bytes"), Cut(3), Stall(1, 2.0), Stall(9, 1.0)])
    shaped = injector.shape(RESPONSE, OPENAI)
    assert shaped is not None
    kept = CHUNKS[0].data + CHUNKS[1].data + CHUNKS[2].data  # three recorded chunks, one empty
    assert [p.data for p in shaped.response.chunks] == [bytes([b]) for b in kept]
    assert shaped.response.error == CUT_ERRORS["reset"]
    # before recorded chunk 1 (empty) is before the first byte of chunk 2; 9 is the end
    assert shaped.stalls == ((len(CHUNKS[0].data), 2.0), (len(kept), 1.0))
    assert shaped.faults == (
        "cut=3,error=reset",
        "stall=1,seconds=2",
        "stall=9,seconds=1",
        "rechunk=bytes",
    )


def test_a_stall_inside_a_joined_piece_comes_before_that_piece() -> None:
    shaped = Rechunk("whole").reshape(Shaped(RESPONSE, ((2, 1.0), (4, 0.5))), OPENAI)
    assert shaped.stalls == ((0, 1.0), (1, 0.5))


def test_skip_and_times_pick_the_replays_each_fault_reaches() -> None:
    injector = Injector([Cut(1, skip=1, times=2), Stall(0, 1.0, times=1)])
    seen = []
    for _ in range(5):
        shaped = injector.shape(RESPONSE, OPENAI)
        seen.append(None if shaped is None else shaped.faults)
    assert seen == [
        ("stall=0,seconds=1",),
        ("cut=1,error=reset",),
        ("cut=1,error=reset",),
        None,
        None,
    ]


@pytest.mark.parametrize(
    "fault",
    [
        Rechunk("bytes"),
        Rechunk("whole"),
        Rechunk("random", seed=12, max_size=5),
        Cut(4),
        Cut(0, "timeout"),
        Cut(7, "incomplete"),
        Stall(2, 0.5),
        ErrorStatus(503),
    ],
)
def test_each_fault_reads_back_from_its_own_description(fault: Any) -> None:
    assert parse_fault(fault.describe()) == fault


def test_the_text_form_takes_targeting_spaces_and_case() -> None:
    assert parse_fault(" CUT = 3 , error=timeout, times=1 ,skip=2") == Cut(
        3, "timeout", skip=2, times=1
    )
    assert parse_fault("status=429,retry_after=0.5") == ErrorStatus(429, retry_after=0.5)
    assert parse_fault("rechunk=random,seed=3,max=9") == Rechunk("random", 3, 9)


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("", "it is empty"),
        ("cut", "'cut' is not key=value"),
        ("cut=3,times=1,times=2", "a key is given twice"),
        ("explode=3", "the kind 'explode' is not rechunk, cut, stall or status"),
        ("stall=3", "stall needs seconds=S"),
        ("cut=3,seed=1", "cut takes no seed"),
        ("cut=three", "invalid literal"),
        ("status=200", "400 to 599"),
    ],
)
def test_a_bad_text_form_says_why_and_lists_the_forms(spec: str, why: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_fault(spec)
    message = str(caught.value)
    assert message.startswith(f"The fault {spec!r} cannot be read: ")
    assert why in message
    assert "cut=N[,error=reset|timeout|incomplete]" in message


def test_faults_of_takes_one_or_many_values_and_strings() -> None:
    assert faults_of(None) == ()
    assert faults_of("cut=2") == (Cut(2),)
    assert faults_of(Cut(2)) == (Cut(2),)
    assert faults_of(["rechunk=bytes", Stall(1, 1)]) == (Rechunk("bytes"), Stall(1, 1))
    with pytest.raises(TypeError, match="is not a fault"):
        faults_of([42])  # type: ignore[list-item]
