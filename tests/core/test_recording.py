"""`Recording`: chunks stamped with their offset from the request, and how the stream ended."""

from __future__ import annotations

from fixtures.fake_clock import FakeClock
from streamtest import Chunk, End, Interaction, Request, Response, StreamError
from streamtest._core.recording import Recording

REQUEST = Request(
    "POST", "https://api.test/v1/chat", (("content-type", "application/json"),), b"{}"
)
HEADERS = (("content-type", "text/event-stream"),)


def streamed(clock: FakeClock, *reads: tuple[float, bytes]) -> Recording:
    """A recording that got its head 0.25 s after the request, then ``reads`` (delay, bytes)."""
    recording = Recording(REQUEST, clock)
    clock.t += 0.25
    recording.head(200, HEADERS)
    for delay, data in reads:
        clock.t += delay
        recording.chunk(data)
    return recording


def test_offsets_come_from_the_clock_and_count_from_the_request() -> None:
    clock = FakeClock()
    recording = streamed(clock, (0.5, b"data: a\n\n"), (0.125, b"data: b\n\n"))
    recording.complete()

    response = recording.interaction().response

    assert response.t == 0.25
    assert response.chunks == (Chunk(0.75, b"data: a\n\n"), Chunk(0.875, b"data: b\n\n"))
    assert clock.sleeps == []


def test_complete_then_close_stays_completed() -> None:
    recording = streamed(FakeClock(), (0.5, b"x"))
    recording.complete()
    recording.close()

    interaction = recording.interaction()

    assert interaction == Interaction(
        REQUEST, Response(200, HEADERS, (Chunk(0.75, b"x"),), None, False, 0.25)
    )
    assert interaction.response.end is End.COMPLETED
    assert recording.ended.is_set()


def test_fail_records_the_error_type_name_and_message() -> None:
    recording = streamed(FakeClock(), (0.5, b"x"))
    recording.fail(ConnectionResetError("peer reset the connection"))
    recording.close()

    response = recording.interaction().response

    assert response.end is End.FAILED
    assert response.error == StreamError("ConnectionResetError", "peer reset the connection")
    assert response.closed is False


def test_close_before_the_end_is_closed() -> None:
    recording = streamed(FakeClock(), (0.5, b"x"))
    recording.close()

    response = recording.interaction().response

    assert (response.end, response.closed, response.error) == (End.CLOSED, True, None)
    assert recording.ended.is_set()


def test_a_stream_still_open_counts_as_closed() -> None:
    recording = streamed(FakeClock(), (0.5, b"x"))

    assert recording.interaction().response.end is End.CLOSED
    assert not recording.ended.is_set()


def test_calls_after_the_end_are_ignored() -> None:
    clock = FakeClock()
    recording = streamed(clock, (0.5, b"kept"))
    recording.close()
    clock.t += 1.0
    recording.chunk(b"after close")
    recording.fail(RuntimeError("too late"))
    recording.complete()

    response = recording.interaction().response

    assert response.chunks == (Chunk(0.75, b"kept"),)
    assert (response.end, response.error) == (End.CLOSED, None)


def test_a_failure_then_more_failures_keeps_the_first() -> None:
    recording = streamed(FakeClock())
    recording.fail(TimeoutError("read timed out"))
    recording.fail(ValueError("second"))
    recording.complete()

    response = recording.interaction().response

    assert response.error == StreamError("TimeoutError", "read timed out")
    assert response.end is End.FAILED


def test_started_only_after_the_head() -> None:
    clock = FakeClock()
    recording = Recording(REQUEST, clock)

    assert recording.started is False
    assert recording.interaction().response.status == 0

    clock.t += 0.1
    recording.head(404, ())

    assert recording.started is True
    assert recording.interaction().response.status == 404
    assert recording.request is REQUEST


def test_an_ended_stream_is_built_once_and_its_raw_reads_let_go() -> None:
    """The cassette is written after `interaction()`: the clock readings and the list of reads
    must not stay alive beside the chunks while a large stream is saved."""
    recording = streamed(FakeClock(), (0.5, b"a"), (0.5, b"b"))
    recording.complete()

    first = recording.interaction()

    assert recording.interaction() is first
    assert first.response.chunks == (Chunk(0.75, b"a"), Chunk(1.25, b"b"))
    assert (recording._times, recording._data) == ([], [])


def test_a_stream_still_open_is_built_anew_each_time() -> None:
    clock = FakeClock()
    recording = streamed(clock, (0.5, b"a"))
    early = recording.interaction()
    clock.t += 0.5
    recording.chunk(b"b")

    assert early.response.chunks == (Chunk(0.75, b"a"),)
    assert recording.interaction().response.chunks == (Chunk(0.75, b"a"), Chunk(1.25, b"b"))
