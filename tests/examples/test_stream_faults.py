"""How an app behaves when its stream breaks: fault injection on replay, as examples to copy.

The app is ``fixtures/apps/resilient_chat.py``: a chat answer streamed with the real openai SDK
into a `ChatView` (what the page shows), and a LangChain tool-calling turn on the real
``ChatOpenAI`` / ``ChatAnthropic``. The cassettes are the project's committed recordings; each
test replays one with a fault (`streamtest.Cut`, `Stall`, `Rechunk`, `ErrorStatus`) and checks
what the app showed, against what the cassette itself says (read here independently of the app).

A replay that ends in an injected failure leaves its recording unplayed, so an app that asks
again gets the recording again: ``times=1`` breaks only the first attempt.
"""

from __future__ import annotations

import json
import logging
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

import streamtest
from fixtures.apps import lc_streaming, quickstart
from fixtures.apps.resilient_chat import ChatView, run_tool_turn, stream_answer
from fixtures.fake_clock import FakeClock
from fixtures.st_examples import EXAMPLES as ST_EXAMPLES
from fixtures.st_examples import MATCH_ON as ST_MATCH_ON
from fixtures.st_examples import replay_example, scan_components_once

QUICKSTART = quickstart.CASSETTE  # an OpenAI chat stream: 50 chunks, one SSE event each
MATCH_ON = ("method", "path", "body")  # the recording's host was the loopback provider's


# ------------------------------------------------------------ what the cassette itself says


def recorded_chunks(path: Path) -> tuple[streamtest.Chunk, ...]:
    (interaction,) = streamtest.load_cassette(path).interactions
    return interaction.response.chunks


def sse_events(chunks: Sequence[streamtest.Chunk]) -> list[dict[str, Any]]:
    """The JSON ``data:`` of each SSE event that ``chunks`` hold whole (``[DONE]`` left out,
    and an event still missing its blank line): what a client can have read after them."""
    *whole, _unfinished = b"".join(chunk.data for chunk in chunks).split(b"\n\n")
    return [
        json.loads(line.removeprefix("data: "))
        for event in whole
        for line in event.decode().splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]


def text_of(chunks: Sequence[streamtest.Chunk]) -> str:
    """The chat answer the first chunks of an OpenAI chat stream carry."""
    events = sse_events(chunks)
    return "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])


def arguments_of(chunks: Sequence[streamtest.Chunk]) -> str:
    """The tool-call arguments (JSON text) the first chunks carry: OpenAI chat's
    ``function.arguments`` or Anthropic's ``input_json_delta`` fragments."""
    parts = []
    for event in sse_events(chunks):
        for choice in event.get("choices", []):
            parts += [
                c["function"].get("arguments") or ""
                for c in choice["delta"].get("tool_calls") or []
            ]
        if event.get("type") == "content_block_delta" and "partial_json" in event["delta"]:
            parts.append(event["delta"]["partial_json"])
    return "".join(parts)


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def mid_arguments(chunks: Sequence[streamtest.Chunk]) -> int:
    """The chunk count after which the arguments are the longest that are not yet JSON."""
    partial = [n for n in range(len(chunks)) if (a := arguments_of(chunks[:n])) and not is_json(a)]
    return max(partial)


def says_stopped(event: dict[str, Any]) -> bool:
    """Whether an event says the model stopped: OpenAI's ``finish_reason`` in a choice,
    Anthropic's ``stop_reason`` in ``message_delta``."""
    finish_reasons = [choice["finish_reason"] for choice in event.get("choices", [])]
    return any(finish_reasons) or bool(event.get("delta", {}).get("stop_reason"))


def stop_reason_chunk(chunks: Sequence[streamtest.Chunk]) -> int:
    """The number of the chunk saying the model stopped (each chunk holds whole events)."""
    return next(n for n, chunk in enumerate(chunks) if any(map(says_stopped, sse_events([chunk]))))


CHUNKS = recorded_chunks(QUICKSTART)
ANSWER = text_of(CHUNKS)


def test_the_cassette_is_what_these_examples_assume() -> None:
    """The recorded answer: one SSE event per chunk, ending ``data: [DONE]``, with multi-byte
    characters (``—``, ``ï``) for re-chunking to split."""
    assert len(CHUNKS) == 50 and CHUNKS[-1].data == b"data: [DONE]\n\n"
    assert all(chunk.data.endswith(b"\n\n") for chunk in CHUNKS)
    assert streamtest.aggregate(streamtest.load_cassette(QUICKSTART).interactions[0]).text == ANSWER
    assert "—" in ANSWER and "ï" in ANSWER


# -------------------------------------------------------------------- 1. mid-answer breaks


def ask(faults: Any = None, *, retries: int = 0, clock: Any = None, **client: Any) -> ChatView:
    """The chat feature answering the recorded question, replayed with ``faults``."""
    with streamtest.use_cassette(
        QUICKSTART, record_mode="none", match_on=MATCH_ON, faults=faults, clock=clock
    ):
        sdk = openai.OpenAI(api_key="sk-not-needed-for-replay", **client)
        return stream_answer(sdk, quickstart.QUESTION, ChatView(), retries=retries)


def test_unbroken_the_app_shows_the_whole_answer() -> None:
    """The baseline every fault is compared with."""
    view = ask()
    assert (view.text, view.status, view.notices, view.attempts) == (ANSWER, "done", [], 1)


@pytest.mark.parametrize("after", [1, 12, 30])
def test_a_cut_mid_answer_keeps_the_words_shown_and_says_connection_lost(after: int) -> None:
    """``Cut(after=N)`` resets the connection after N chunks. The page keeps exactly the words
    those N chunks carried (no more, no fewer: nothing is lost or invented) and says why it
    stopped."""
    view = ask(streamtest.Cut(after=after, error="reset"))
    partial = text_of(CHUNKS[:after])
    assert view.text == partial and ANSWER.startswith(partial) and partial != ANSWER
    assert view.status == "connection lost"
    assert view.notices == [f"connection lost after {len(partial)} characters"]


@pytest.mark.parametrize(
    ("error", "status"),
    [("reset", "connection lost"), ("incomplete", "connection lost"), ("timeout", "timed out")],
)
def test_each_kind_of_broken_connection_has_its_own_message(error: str, status: str) -> None:
    """A reset, a server closing mid-body and a read timeout reach the app as the openai SDK's
    ``APIConnectionError`` or ``APITimeoutError`` (its subclass: check it first)."""
    view = ask(f"cut=12,error={error}")
    assert (view.text, view.status) == (text_of(CHUNKS[:12]), status)


def test_only_data_done_says_the_answer_is_complete() -> None:
    """Cut just before ``data: [DONE]``: every word has arrived, yet the stream never said it
    ended, so the app reports the lost connection. Cut after it: the SDK stopped reading at
    ``[DONE]`` and closed the response, so the break is never seen."""
    before_done = ask(streamtest.Cut(after=len(CHUNKS) - 1))
    assert (before_done.text, before_done.status) == (ANSWER, "connection lost")
    after_done = ask(streamtest.Cut(after=len(CHUNKS)))
    assert (after_done.text, after_done.status) == (ANSWER, "done")


def test_one_retry_after_a_cut_shows_the_whole_recorded_answer() -> None:
    """``times=1`` breaks the first attempt only; the broken replay left its recording unplayed,
    so the app's retry gets the whole answer, which replaces the partial one."""
    view = ask(streamtest.Cut(after=12, times=1), retries=1)
    partial = text_of(CHUNKS[:12])
    assert (view.text, view.status, view.attempts) == (ANSWER, "done", 2)
    assert view.notices == [f"connection lost after {len(partial)} characters; asking again"]


def test_a_stream_that_breaks_every_time_ends_after_the_last_retry() -> None:
    """Without ``times`` every attempt breaks at the same place: the app gives up after its
    retries and keeps the last partial answer."""
    view = ask(streamtest.Cut(after=12), retries=2)
    partial = text_of(CHUNKS[:12])
    assert (view.text, view.status, view.attempts) == (partial, "connection lost", 3)
    assert len(view.notices) == 3 and view.notices[-1].endswith(f"{len(partial)} characters")


def replayed_pieces(fault: streamtest.Fault) -> list[bytes]:
    """The body as the HTTP stack hands it out under ``fault`` (bare httpx2, no SDK)."""
    (interaction,) = streamtest.load_cassette(QUICKSTART).interactions
    with (
        streamtest.use_cassette(QUICKSTART, record_mode="none", match_on=MATCH_ON, faults=fault),
        httpx2.Client() as client,
        client.stream(
            "POST", "https://api.openai.com/v1/chat/completions", content=interaction.request.body
        ) as response,
    ):
        # The recording ends where the SDK closed it, after data: [DONE]: read no further.
        pieces, left = [], len(interaction.response.body)
        for piece in response.iter_raw():
            pieces.append(piece)
            left -= len(piece)
            if not left:
                return pieces
    raise AssertionError("the replay ended before the recorded body")


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(streamtest.Rechunk("bytes"), id="bytes"),
        *[pytest.param(streamtest.Rechunk("random", seed=s), id=f"random-{s}") for s in (1, 2, 3)],
        pytest.param(streamtest.Rechunk("random", seed=4, max_size=3), id="random-small"),
        pytest.param(streamtest.Rechunk("whole"), id="whole"),
    ],
)
def test_rechunked_the_answer_is_unchanged(fault: streamtest.Rechunk) -> None:
    """TCP may split a stream anywhere: inside an SSE line, inside a UTF-8 character, or not at
    all. The same bytes re-chunked must give the same answer, whatever the pieces."""
    pieces = replayed_pieces(fault)
    assert b"".join(pieces) == b"".join(chunk.data for chunk in CHUNKS)
    if fault.how != "whole":  # the pieces really do split events (and, here, characters)
        assert sum(not piece.endswith(b"\n\n") for piece in pieces) > len(pieces) // 2
    if fault.how == "bytes":
        assert any(piece[0] >= 0x80 for piece in pieces)  # a piece of a multi-byte character
    view = ask(fault)
    assert (view.text, view.status) == (ANSWER, "done")


def test_a_stall_longer_than_the_read_timeout_times_out_without_waiting() -> None:
    """``Stall(before=K, seconds=5)`` stops the server for 5 s before chunk K. The client's read
    timeout (0.2 s) fires first: replay waits those 0.2 s on the given clock (a fake one here,
    so the test does not sleep) and raises the stack's ``ReadTimeout``, which the SDK turns
    into ``APITimeoutError``. The page keeps the first K chunks' words."""
    clock = FakeClock()
    view = ask(streamtest.Stall(before=20, seconds=5), clock=clock, timeout=0.2, max_retries=0)
    assert (view.text, view.status) == (text_of(CHUNKS[:20]), "timed out")
    assert clock.sleeps == [0.2]  # the client's timeout, not the stall's 5 s


def test_a_stall_shorter_than_the_read_timeout_only_delays_the_answer() -> None:
    """A pause the client is willing to wait out delays the answer, nothing else."""
    clock = FakeClock()
    view = ask(streamtest.Stall(before=20, seconds=0.1), clock=clock, timeout=0.2)
    assert (view.text, view.status) == (ANSWER, "done")
    assert clock.sleeps == [0.1]


def test_a_retry_after_a_timed_out_stall_gets_the_recording_again() -> None:
    """A stall the client timed out on also leaves its recording for a retry."""
    clock = FakeClock()
    view = ask(streamtest.Stall(before=20, seconds=5, times=1), retries=1, clock=clock, timeout=0.2)
    assert (view.text, view.status, view.attempts) == (ANSWER, "done", 2)
    assert view.notices == [f"timed out after {len(text_of(CHUNKS[:20]))} characters; asking again"]


def sdk_retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Retrying")]


def test_the_sdk_retries_a_rate_limit_by_itself_as_retry_after_says(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``ErrorStatus(429, retry_after=0.01, times=1)`` answers the first request with HTTP 429
    and ``retry-after-ms: 10``. The openai SDK retries on its own after those 10 ms and gets the
    recorded answer: the app never sees the rate limit."""
    caplog.set_level(logging.INFO, logger="openai")
    view = ask(streamtest.ErrorStatus(429, retry_after=0.01, times=1), max_retries=2)
    assert (view.text, view.status, view.attempts) == (ANSWER, "done", 1)
    assert sdk_retries(caplog) == ["Retrying request in 0.010000 seconds (retry 1 of 2)"]


def test_a_rate_limit_that_outlasts_the_sdk_retries_reaches_the_app(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every request answered 429: the SDK tries 1 + ``max_retries`` times, then raises
    ``RateLimitError``. The app shows "rate limited" and does not retry again itself."""
    caplog.set_level(logging.INFO, logger="openai")
    view = ask(streamtest.ErrorStatus(429, retry_after=0.01), retries=1, max_retries=2)
    assert (view.text, view.status, view.attempts) == ("", "rate limited", 1)
    assert len(sdk_retries(caplog)) == 2


def test_an_injected_status_reads_like_a_real_one() -> None:
    """Code that calls ``raise_for_status()`` itself shows the error's reason phrase."""
    (interaction,) = streamtest.load_cassette(QUICKSTART).interactions
    with (
        streamtest.use_cassette(
            QUICKSTART, record_mode="none", match_on=MATCH_ON, faults="status=429"
        ),
        httpx2.Client() as client,
    ):
        response = client.post(
            "https://api.openai.com/v1/chat/completions", content=interaction.request.body
        )
    assert response.status_code == 429
    assert response.reason_phrase == "Too Many Requests"


# -------------------------------------------------------------- 2. mid-tool-call breaks

PROVIDERS = [pytest.param(p, id=p) for p in lc_streaming.PROVIDERS]
WEATHER_QUESTION = "What is the weather in Paris?"  # the recorded question


def tool_turn(provider: lc_streaming.Provider, faults: Any = None, *, retries: int = 0) -> Any:
    """The tool-calling turn, replayed from ``cassettes/langchain/tool_calls_stream-*``."""
    path = lc_streaming.CASSETTES / f"tool_calls_stream-{provider}.jsonl"
    with streamtest.use_cassette(path, record_mode="none", match_on=MATCH_ON, faults=faults):
        model = lc_streaming.Models(provider).chat()
        return run_tool_turn(model, [lc_streaming.get_weather], WEATHER_QUESTION, retries=retries)


def tool_chunks(provider: str) -> tuple[streamtest.Chunk, ...]:
    return recorded_chunks(lc_streaming.CASSETTES / f"tool_calls_stream-{provider}.jsonl")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_whole_tool_call_runs_the_tool(provider: lc_streaming.Provider) -> None:
    """Unbroken, the streamed arguments add up to ``{"city": "Paris"}`` and the tool runs."""
    turn = tool_turn(provider)
    assert turn.error is None and turn.raw_arguments == [arguments_of(tool_chunks(provider))]
    assert [r.content for r in turn.results] == ["It is sunny in Paris."]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_cut_mid_arguments_runs_no_tool(provider: lc_streaming.Provider) -> None:
    """Cut while the arguments are half-streamed (the chunk is found in the cassette: the last
    point where the arguments so far are not JSON). The app saw exactly those arguments, which
    are not JSON, and ran nothing. LangChain's ``tool_calls`` parses partial JSON leniently:
    an app that ran them after the error would ask for the weather in "Pa".

    The openai SDK raises its ``APIConnectionError`` mid-stream; the anthropic SDK lets the
    transport's ``httpx2.ReadError`` through as it is: an app catching only the SDK's errors
    would crash on Anthropic."""
    chunks = tool_chunks(provider)
    after = mid_arguments(chunks)
    partial = arguments_of(chunks[:after])
    assert partial == '{"city": "Pa' and after < len(chunks)

    turn = tool_turn(provider, streamtest.Cut(after=after))
    expected = openai.APIConnectionError if provider == "openai" else httpx2.ReadError
    assert isinstance(turn.error, expected)
    assert turn.raw_arguments == [partial] and not is_json(partial)
    assert turn.results == []
    assert [call["args"] for call in turn.message.tool_calls] == [{"city": "Pa"}]  # the trap


@pytest.mark.parametrize("provider", PROVIDERS)
def test_whole_arguments_without_the_stop_reason_run_no_tool(
    provider: lc_streaming.Provider,
) -> None:
    """Cut just before the chunk saying the model stopped: the arguments are whole JSON by now,
    but the model might still have been adding a second call. A call is finished when the
    stream says so, not when its arguments happen to parse."""
    chunks = tool_chunks(provider)
    after = stop_reason_chunk(chunks)
    assert is_json(arguments_of(chunks[:after]))
    turn = tool_turn(provider, streamtest.Cut(after=after))
    assert turn.error is not None and turn.results == []
    assert turn.raw_arguments == [arguments_of(chunks[:after])]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_retried_tool_turn_runs_the_tool_once_with_whole_arguments(
    provider: lc_streaming.Provider,
) -> None:
    """The first attempt is cut mid-arguments; the retry replays the recording whole and the
    tool runs once, with the whole arguments."""
    cut = streamtest.Cut(after=mid_arguments(tool_chunks(provider)), times=1)
    turn = tool_turn(provider, cut, retries=1)
    assert (turn.error, turn.attempts) == (None, 2)
    assert [r.content for r in turn.results] == ["It is sunny in Paris."]


# ---------------------------------------------------------------------- 3. the pytest marker


@pytest.mark.streamtest(str(QUICKSTART), record_mode="none", match_on=MATCH_ON, faults=["cut=5"])
def test_the_marker_takes_faults_in_their_text_form() -> None:
    """``faults=["cut=5"]`` on the marker: every replay of the test is cut after 5 chunks.
    (An absolute cassette path is used as it is; a relative one names a file in the module's
    cassette folder.)"""
    view = stream_answer(openai.OpenAI(api_key="sk-replay"), quickstart.QUESTION, ChatView())
    assert (view.text, view.status) == (text_of(CHUNKS[:5]), "connection lost")


INNER_SUITE = """
    import openai
    import pytest

    import streamtest
    from fixtures.apps import quickstart
    from fixtures.apps.resilient_chat import ChatView, stream_answer

    pytestmark = pytest.mark.streamtest(
        {path!r}, record_mode="none", match_on=("method", "path", "body")
    )
    ANSWER = {answer!r}


    def test_naive_app():
        answer = quickstart.chat_app(openai.OpenAI(api_key="sk-replay"), lambda text: None)
        assert answer == ANSWER


    def test_resilient_app():
        view = stream_answer(openai.OpenAI(api_key="sk-replay"), quickstart.QUESTION, ChatView())
        assert ANSWER.startswith(view.text)
        assert (view.status == "done") == (view.text == ANSWER)
"""


def test_command_line_faults_apply_to_a_whole_suite(pytester: pytest.Pytester) -> None:
    """``--streamtest-fault`` adds a fault to every cassette of the run. Re-chunked to single
    bytes, a suite whose parsers are sound gives the same results; cut after 3 chunks, the
    naive app (the quickstart, which catches nothing) fails while the resilient one passes."""
    source = INNER_SUITE.format(path=str(QUICKSTART), answer=ANSWER)
    pytester.makepyfile(test_inner_suite=textwrap.dedent(source))
    # Plugins the inner runs do not need (an in-process run imports anew what they load).
    plain = [f"-pno:{name}" for name in ("cacheprovider", "hypothesispytest", "langsmith_plugin")]
    pytester.runpytest(*plain).assert_outcomes(passed=2)
    pytester.runpytest(*plain, "--streamtest-fault=rechunk=bytes").assert_outcomes(passed=2)
    cut = pytester.runpytest(*plain, "-rf", "--streamtest-fault=cut=3")
    cut.assert_outcomes(passed=1, failed=1)
    cut.stdout.fnmatch_lines(["FAILED test_inner_suite.py::test_naive_app - *APIConnectionError*"])


# ------------------------------------------------------------------------ 4. Streamlit


@pytest.fixture
def _streamlit(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):  # apps use the SDK's real URL
        monkeypatch.delenv(name, raising=False)
    scan_components_once(monkeypatch)


def partial_then_exception(shown: Any, partial: str) -> dict[str, str]:
    """Check the page's last text is ``partial`` with an exception element after it (returned
    as Streamlit shows it: type and message)."""
    assert shown.values == [] and len(shown.errors) == 1  # write_stream raised, returned nothing
    assert shown.texts()[-1] == partial.strip()
    last_text, exception = [f for f in shown.frames if f.kind in ("markdown", "exception")][-2:]
    assert (last_text.value, exception.kind) == (partial.strip(), "exception")
    value: dict[str, str] = exception.value
    return value


@pytest.mark.usefixtures("_streamlit")
@pytest.mark.parametrize("form", ["capture_app", "outer use_cassette"])
def test_a_streamlit_chat_shows_the_partial_answer_then_the_exception(form: str) -> None:
    """A Streamlit app that hands the SDK's stream to ``st.write_stream`` and catches nothing:
    cut mid-answer, the page keeps the words typed so far and shows the SDK's error under
    them. Give the faults to ``capture_app`` (here through ``fixtures.st_examples``), or to an
    outer ``use_cassette`` that ``capture_app`` without ``cassette=`` replays through."""
    from streamtest.streamlit import capture_app

    example = ST_EXAMPLES["openai_chat"]
    cut = streamtest.Cut(after=10)
    if form == "capture_app":
        shown, _ = replay_example(example, faults=cut)
    else:
        app = example.app_test()
        replaying = streamtest.use_cassette(
            example.cassette, record_mode="none", match_on=ST_MATCH_ON, faults=cut
        )
        with replaying, capture_app(app) as shown:
            app.run()
    (error,) = shown.errors
    assert isinstance(error, openai.APIConnectionError)
    partial = text_of(recorded_chunks(example.cassette)[:10])
    assert partial_then_exception(shown, partial) == {
        "type": "openai.APIConnectionError",
        "message": "Connection error.",
    }


@pytest.mark.usefixtures("_streamlit")
def test_a_local_generator_cut_mid_reply_breaks_the_same_way() -> None:
    """No HTTP at all: ``st.write_stream`` given a local generator, recorded as an object
    stream (``streams="objects"``). ``Cut`` counts items there, and raises the builtin error
    closest to a reset connection, ``ConnectionResetError``; the generator never runs."""
    example = ST_EXAMPLES["generator_function"]
    (stream,) = streamtest.load_cassette(example.cassette).streams
    partial = "".join(item.value for item in stream.items[:5])
    shown, app = replay_example(example, faults=streamtest.Cut(after=5))
    assert [type(error) for error in shown.errors] == [ConnectionResetError]
    assert partial_then_exception(shown, partial)["type"] == "ConnectionResetError"
    assert "generator_ran" not in app.session_state
