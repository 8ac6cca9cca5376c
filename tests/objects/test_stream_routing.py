"""Object streams inside a cassette: routed by name and key, each recording replayed once and in
order, misses explained (and raised again if swallowed), record modes as for requests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import streamtest


def logged(log: list[str]) -> Iterator[str]:
    """A source that notes when it runs: routing must decide before any of it does."""
    log.append("ran")
    yield "live"


def test_streams_with_the_same_name_replay_in_recorded_order(tmp_path: Path) -> None:
    path = tmp_path / "turns.jsonl"
    with streamtest.use_cassette(path, record_mode="all"):
        first = list(streamtest.record_stream(["Hello", "!"], name="turn"))
        second = list(streamtest.record_stream(["Bye"], name="turn"))

    with (
        pytest.raises(streamtest.UnmatchedStreamError) as caught,
        streamtest.use_cassette(path, record_mode="none"),
    ):
        assert list(streamtest.record_stream([], name="turn")) == first
        assert list(streamtest.record_stream([], name="turn")) == second
        list(streamtest.record_stream([], name="turn"))
    message = str(caught.value)
    assert "Object stream(s) [0, 1] match it but were already played" in message
    assert "allow_playback_repeats=True" in message


def test_a_swallowed_stream_miss_is_raised_again_when_the_cassette_closes(tmp_path: Path) -> None:
    path = tmp_path / "swallowed.jsonl"
    with streamtest.use_cassette(path, record_mode="all"):
        list(streamtest.record_stream([1], name="known"))

    with (
        pytest.raises(streamtest.UnmatchedStreamError, match="'unknown'"),
        streamtest.use_cassette(path, record_mode="none"),
        contextlib.suppress(Exception),  # the code under test swallows the miss
    ):
        list(streamtest.record_stream([1], name="unknown"))


def test_allow_playback_repeats_replays_the_last_match_again(tmp_path: Path) -> None:
    path = tmp_path / "repeat.jsonl"
    with streamtest.use_cassette(path, record_mode="all"):
        list(streamtest.record_stream(["a"], name="turn"))

    with streamtest.use_cassette(path, record_mode="none", allow_playback_repeats=True):
        assert [list(streamtest.record_stream([], name="turn")) for _ in range(3)] == [["a"]] * 3


def test_keyed_streams_are_matched_by_key_whatever_the_order(tmp_path: Path) -> None:
    path = tmp_path / "keyed.jsonl"
    questions = [{"q": "capital of France", "n": 1}, {"q": "capital of Peru", "n": 2}]
    with streamtest.use_cassette(path, record_mode="all"):
        for question, answer in zip(questions, (["Paris"], ["Lima"]), strict=True):
            list(streamtest.record_stream(answer, name="answer", key=question))

    with streamtest.use_cassette(path, record_mode="none"):
        # The other order, and the keys' own key order changed: JSON values compare as values.
        peru = streamtest.record_stream([], name="answer", key={"n": 2, "q": "capital of Peru"})
        france = streamtest.record_stream([], name="answer", key=questions[0])
        assert list(peru) == ["Lima"]
        assert list(france) == ["Paris"]


def test_a_key_is_stored_with_tuples_kept(tmp_path: Path) -> None:
    path = tmp_path / "tuple-key.jsonl"
    with streamtest.use_cassette(path, record_mode="all"):
        list(streamtest.record_stream([1], name="n", key=("thread", 7)))

    assert streamtest.load_cassette(path).streams[0].key == {
        "$type": "tuple",
        "value": ["thread", 7],
    }
    with (
        pytest.raises(streamtest.UnmatchedStreamError, match=r"live \['thread', 7\]"),
        streamtest.use_cassette(path, record_mode="none"),
    ):
        assert list(streamtest.record_stream([], name="n", key=("thread", 7))) == [1]
        list(streamtest.record_stream([], name="n", key=["thread", 7]))  # a list is not it


@pytest.mark.parametrize(
    ("exists", "name", "key", "fragments"),
    [
        pytest.param(
            False,
            "answer",
            None,
            ["does not exist", "record mode 'none' never records", 'record_mode="once"'],
            id="no-file",
        ),
        pytest.param(
            True,
            "summary",
            None,
            ["no object stream named 'summary'; it holds: 'answer'", 'record_mode="new_episodes"'],
            id="unknown-name",
        ),
        pytest.param(
            True,
            "answer",
            {"q": "Hi there", "lang": "en"},
            [
                'matches the stream \'answer\' with the key {"q": "Hi there", "lang": "en"}',
                "The closest is object stream 0, whose key differs:",
                "key.q: live 'Hi there' != recorded 'Hi'",
                'record_mode="new_episodes"',
            ],
            id="other-key",
        ),
    ],
)
def test_record_mode_none_explains_a_missing_stream(
    tmp_path: Path, exists: bool, name: str, key: Any, fragments: list[str]
) -> None:
    path = tmp_path / "miss.jsonl"
    if exists:
        with streamtest.use_cassette(path, record_mode="all"):
            list(streamtest.record_stream(["x"], name="answer", key={"q": "Hi", "lang": "en"}))
    log: list[str] = []

    with (
        pytest.raises(streamtest.UnmatchedStreamError) as caught,
        streamtest.use_cassette(path, record_mode="none"),
    ):
        list(streamtest.record_stream(logged(log), name=name, key=key))

    message = str(caught.value)
    assert message.startswith(f"No recorded object stream in cassette {path} matches")
    assert "(record mode 'none')" in message
    for fragment in fragments:
        assert fragment in message
    assert log == []  # a miss never runs the source
    assert isinstance(caught.value, AssertionError)


def test_new_episodes_replays_known_streams_and_appends_new_ones(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    with streamtest.use_cassette(path, record_mode="all"):
        list(streamtest.record_stream(["one"], name="a"))
    log: list[str] = []

    with streamtest.use_cassette(path, record_mode="new_episodes"):
        assert list(streamtest.record_stream(logged(log), name="a")) == ["one"]
        assert list(streamtest.record_stream(["two"], name="b")) == ["two"]

    assert log == []
    assert [s.name for s in streamtest.load_cassette(path).streams] == ["a", "b"]


def test_record_mode_all_replaces_the_recorded_streams(tmp_path: Path) -> None:
    path = tmp_path / "all.jsonl"
    for text in ("old", "new"):
        with streamtest.use_cassette(path, record_mode="all"):
            list(streamtest.record_stream([text], name="a"))

    [stream] = streamtest.load_cassette(path).streams
    assert stream.items[0].value == "new"


def test_a_stream_begun_after_its_cassette_closed_is_an_error(tmp_path: Path) -> None:
    with streamtest.use_cassette(tmp_path / "closed.jsonl", record_mode="all"):
        stream = streamtest.record_stream([1], name="late")

    with pytest.raises(streamtest.StreamtestError, match="began after the cassette"):
        next(stream)


def test_without_a_cassette_or_path_record_stream_says_what_to_do() -> None:
    with pytest.raises(streamtest.StreamtestError, match=r"Pass path=.*use_cassette"):
        streamtest.record_stream([1], name="orphan")


def test_cassette_options_without_path_are_refused(tmp_path: Path) -> None:
    with (
        streamtest.use_cassette(tmp_path / "c.jsonl"),
        pytest.raises(ValueError, match=r"record_stream got timing, speed without path="),
    ):
        streamtest.record_stream([1], timing="realtime", speed=2.0)


def test_a_non_iterable_source_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="needs an iterable or an async iterable, not int"):
        streamtest.record_stream(42, path="unused.jsonl")  # type: ignore[call-overload]
