"""The Streamlit harness itself: frames, values, patch points restored, timeouts, objects mode."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit
from streamlit.elements.write import WriteMixin
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
from streamlit.testing.v1 import AppTest

import streamtest
from streamtest.streamlit import STREAM_NAME, capture_app, run_app

TYPED = """
import streamlit as st

def words():
    yield "Hello "
    yield "**bold"
    yield " world**"

st.title("Typing")
with st.chat_message("assistant"):
    st.write_stream(words, cursor="▌")
"""


def _app(source: str) -> AppTest:
    return AppTest.from_string(textwrap.dedent(source))


def test_frames_are_each_typed_state_without_cursor_placeholder_or_repeats() -> None:
    shown = run_app(_app(TYPED))
    assert shown.value == "Hello **bold world**"
    assert shown.texts() == ["Hello", "Hello **bold", "Hello **bold world**"]
    assert [(f.kind, f.stream) for f in shown.frames] == [
        ("heading", None),
        ("block:chat_message", None),
        ("markdown", 0),
        ("markdown", 0),
        ("markdown", 0),
    ]
    # Streamlit drew four markdown states (the last, the final flush, repeats the third once
    # the cursor is gone) and a placeholder before them: five deltas, three frames.
    assert all("▌" not in (f.text or "") for f in shown.frames)
    assert [(f.path, f.kind) for f in shown.elements] == [
        ((0, 0), "heading"),
        ((0, 1), "block:chat_message"),
        ((0, 1, 0), "markdown"),
    ]
    assert shown.elements[-1].value == shown.app.markdown[0].value == shown.value


def test_runs_are_counted_and_elements_are_those_of_the_last_run() -> None:
    app = _app(
        """
        import streamlit as st
        if st.button("Go"):
            st.write_stream(iter(["after ", "click"]))
        else:
            st.write("before")
        """
    )
    with capture_app(app) as shown:
        app.run()
        app.button[0].click().run()
    assert sorted({f.run for f in shown.frames}) == [0, 1]
    assert [f.value for f in shown.elements if f.kind == "markdown"] == ["after click"]
    assert shown.values == ["after click"]
    assert shown.texts() == ["after", "after click"]


def test_a_failing_stream_shows_partial_text_then_the_exception() -> None:
    shown = run_app(
        _app(
            """
            import streamlit as st
            def broken():
                yield "partial "
                yield "answer "
                raise ConnectionResetError("peer went away")
            st.write_stream(broken)
            """
        )
    )
    assert [type(e) for e in shown.errors] == [ConnectionResetError]
    assert shown.values == []
    assert [(f.kind, f.value) for f in shown.frames][-2:] == [
        ("markdown", "partial answer"),
        ("exception", {"type": "ConnectionResetError", "message": "peer went away"}),
    ]
    with pytest.raises(streamtest.StreamtestError, match=r"No st\.write_stream call returned"):
        _ = shown.value


def _patch_points() -> tuple[Any, Any, Any]:
    return (
        ForwardMsgQueue._before_enqueue_msg,
        WriteMixin.__dict__["write_stream"],
        streamlit.write_stream,
    )


def test_patch_points_are_restored_and_a_previous_hook_still_sees_every_message() -> None:
    seen: list[Any] = []
    before = _patch_points()
    ForwardMsgQueue.on_before_enqueue_msg(seen.append)
    try:
        hooked = _patch_points()
        shown = run_app(_app(TYPED))
        assert _patch_points() == hooked
    finally:
        ForwardMsgQueue.on_before_enqueue_msg(before[0])
    assert _patch_points() == before
    assert len(seen) >= len(shown.frames) + 2  # the placeholder and the final flush too


def test_patch_points_are_restored_when_the_app_times_out() -> None:
    before = _patch_points()
    app = _app(
        """
        import time
        import streamlit as st
        def slow():
            yield "one "
            time.sleep(5)
            yield "two"
        st.write_stream(slow)
        """
    )
    with pytest.raises(RuntimeError, match="timed out"):
        run_app(app, timeout=0.5)
    assert _patch_points() == before
    assert app.default_timeout == 3  # restored too


def test_one_capture_at_a_time() -> None:
    app = _app(TYPED)
    with capture_app(app):
        other = capture_app(_app(TYPED))
        with pytest.raises(streamtest.StreamtestError, match="one app at a time"):
            other.__enter__()
        app.run()
    assert _patch_points()[1] is WriteMixin.__dict__["write_stream"]


def test_other_containers_write_stream_is_seen_too() -> None:
    shown = run_app(
        _app(
            """
            import streamlit as st
            left, right = st.columns(2)
            right.write_stream(iter(["in ", "a ", "column"]))
            st.sidebar.write_stream(iter(["side", "bar"]))
            """
        )
    )
    assert shown.values == ["in a column", "sidebar"]
    assert shown.texts(0) == ["in", "in a", "in a column"]
    assert shown.texts(1) == ["side", "sidebar"]
    assert shown.frames[-1].path[0] == 1  # the sidebar's root


GENERATED = """
import time
import streamlit as st
import pandas as pd

def answer():
    st.session_state["ran"] = True
    yield "Rows "
    yield "below:"
    yield pd.DataFrame({"n": [1, 2], "x": [0.5, 1.25], "s": ["a", "b"], "b": [True, False]})
    yield "done"

st.write_stream(answer)
"""


def test_objects_mode_records_the_generator_and_replays_without_running_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "objects.jsonl"
    live_app = _app(GENERATED)
    live = run_app(live_app, cassette=path, streams="objects", record_mode="all")
    assert live_app.session_state["ran"] is True
    [stream] = streamtest.load_cassette(path).streams
    assert stream.name == STREAM_NAME and len(stream.items) == 4

    replay_app = _app(GENERATED)
    replay = run_app(replay_app, cassette=path, streams="objects", record_mode="none")
    assert "ran" not in replay_app.session_state
    assert replay.to_data() == live.to_data()
    frame = replay.value[1]
    pd.testing.assert_frame_equal(frame, live.value[1])  # dtypes included
    assert [str(frame.dtypes[c]) for c in ("n", "x", "b")] == ["int64", "float64", "bool"]


def test_objects_mode_replays_an_async_generator(tmp_path: Path) -> None:
    source = """
        import asyncio
        import streamlit as st
        async def tokens():
            for word in ["async ", "words ", "arrive"]:
                await asyncio.sleep(0)
                yield word
        st.write_stream(tokens)
        """
    path = tmp_path / "async.jsonl"
    live = run_app(_app(source), cassette=path, streams="objects", record_mode="all")
    replay = run_app(_app(source), cassette=path, streams="objects", record_mode="none")
    assert replay.value == live.value == "async words arrive"
    assert replay.texts() == ["async", "async words", "async words arrive"]


def test_objects_mode_replays_a_generator_that_failed(tmp_path: Path) -> None:
    source = """
        import streamlit as st
        def stalls():
            yield "thinking "
            raise TimeoutError("model stalled")
        st.write_stream(stalls)
        """
    path = tmp_path / "failed.jsonl"
    run_app(_app(source), cassette=path, streams="objects", record_mode="all")
    replay = run_app(_app(source), cassette=path, streams="objects", record_mode="none")
    assert [repr(e) for e in replay.errors] == ["TimeoutError('model stalled')"]
    assert replay.frames[-1].value == {"type": "TimeoutError", "message": "model stalled"}


def test_objects_mode_with_no_recording_fails_naming_the_stream_and_the_fix(
    tmp_path: Path,
) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text('{"streamtest":1}\n')
    app = _app(GENERATED)
    # The app catches nothing, Streamlit shows the miss as an exception element, and the
    # cassette raises it again on exit, as it does for any miss the code under test swallowed.
    with (
        pytest.raises(streamtest.UnmatchedStreamError, match="no object streams") as raised,
        capture_app(app, cassette=path, streams="objects", record_mode="none") as shown,
    ):
        app.run()
    assert STREAM_NAME in str(raised.value) and str(path) in str(raised.value)
    assert shown.errors == [raised.value]
    assert shown.frames[-1].kind == "exception"


def test_objects_mode_leaves_non_generators_to_the_wire(tmp_path: Path) -> None:
    path = tmp_path / "lists.jsonl"
    source = "import streamlit as st\nst.write_stream(['a ', 'list'])"
    shown = run_app(_app(source), cassette=path, streams="objects", record_mode="all")
    assert shown.value == "a list"
    assert not path.exists()  # nothing was recorded: a list is not a generator


def test_realtime_raises_the_timeout_to_the_recording_and_then_restores_it(
    tmp_path: Path,
) -> None:
    source = """
        import time
        import streamlit as st
        def slow():
            for word in ["slow ", "and ", "steady"]:
                time.sleep(0.6)
                yield word
        st.write_stream(slow)
        """
    path = tmp_path / "slow.jsonl"
    run_app(_app(source), cassette=path, streams="objects", record_mode="all", timeout=10)
    app = _app(source)
    seen: list[float] = []
    with capture_app(app, cassette=path, streams="objects", timing="realtime") as shown:
        seen.append(app.default_timeout)
        app.run()
    assert shown.value == "slow and steady"
    assert 1.8 + 5 <= seen[0] < 3 + 5  # the recorded ~1.8 s plus the 5 s margin
    assert app.default_timeout == 3
    with capture_app(app, cassette=path, streams="objects", timing="realtime", speed=4):
        assert 5 < app.default_timeout < seen[0]  # a quarter of the recording, plus 5 s
    assert app.default_timeout == 3


def test_a_bad_streams_option_is_refused() -> None:
    with pytest.raises(ValueError, match='"wire" or "objects"'):
        run_app(_app(TYPED), streams="pickles")  # type: ignore[arg-type]


def test_the_app_snapshot_kind_takes_only_an_app_run() -> None:
    from streamtest.snapshot import APP

    shown = run_app(_app(TYPED))
    data = APP.to_data(shown)
    assert data["values"] == ["Hello **bold world**"]
    assert data["frames"][2] == {
        "run": 0,
        "stream": 0,
        "path": "0.1.0",
        "kind": "markdown",
        "value": "Hello",
    }
    with pytest.raises(TypeError, match="AppRun"):
        APP.to_data({"values": []})


def test_texts_are_those_of_one_element_and_errors_are_named_as_streamlit_names_them() -> None:
    shown = run_app(
        _app(
            """
            import streamlit as st
            def mixed():
                yield "first "
                yield "part"
                yield {"a": 1}
                yield "second "
                yield "part"
            st.write_stream(mixed)
            def fails():
                yield "x"
                raise __import__("json").JSONDecodeError("bad", "doc", 0)
            st.write_stream(fails)
            """
        )
    )
    assert shown.texts(0) == ["second", "second part"]
    assert shown.texts(0, element=0) == ["first", "first part"]
    assert shown.texts() == ["x"]
    assert shown.to_data()["errors"] == [
        "json.decoder.JSONDecodeError: bad: line 1 column 1 (char 0)"
    ]
    assert shown.frames[-1].value["type"] == "json.decoder.JSONDecodeError"
