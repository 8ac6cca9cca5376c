"""replay_stream: a recorded object stream for code that consumes what it did not produce (a UI),
with ``for`` and ``async for``, paced, ending as the recording ended."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import streamtest
from fixtures.fake_clock import FakeClock


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A cassette with three object streams: two turns of "chat" (keyed) and one "log"."""
    path = tmp_path / "ui.jsonl"
    clock = FakeClock()

    def tokens(*words: str) -> Any:
        for word in words:
            clock.t += 0.2
            yield {"token": word, "span": (0, len(word))}

    with streamtest.use_cassette(path, record_mode="all", clock=clock):
        list(streamtest.record_stream(tokens("Hel", "lo"), name="chat", key={"turn": 1}))
        list(streamtest.record_stream(tokens("Bye"), name="chat", key={"turn": 2}))
        list(streamtest.record_stream(iter(["started"]), name="log"))
    return path


def test_for_and_async_for_yield_the_decoded_items(path: Path) -> None:
    playback = streamtest.replay_stream(path, name="chat")

    async def consume() -> list[Any]:
        return [item async for item in playback]

    expected = [{"token": "Hel", "span": (0, 3)}, {"token": "lo", "span": (0, 2)}]
    assert list(playback) == expected
    assert asyncio.run(consume()) == expected
    assert list(playback) == expected  # each iteration replays from the start


@pytest.mark.parametrize(
    ("options", "first_token"),
    [
        pytest.param({}, "Hel", id="first-by-default"),
        pytest.param({"index": 1}, "Bye", id="index"),
        pytest.param({"index": -1}, "Bye", id="negative-index"),
        pytest.param({"key": {"turn": 2}}, "Bye", id="key"),
        pytest.param({"key": {"turn": 1}, "index": 0}, "Hel", id="key-and-index"),
    ],
)
def test_key_and_index_pick_the_recording(
    path: Path, options: dict[str, Any], first_token: str
) -> None:
    playback = streamtest.replay_stream(path, name="chat", **options)

    assert next(iter(playback))["token"] == first_token


def test_realtime_replay_is_paced_by_the_recorded_offsets(path: Path) -> None:
    sync_clock, async_clock = FakeClock(), FakeClock()
    paced = streamtest.replay_stream(
        path, name="chat", timing="realtime", speed=4.0, clock=sync_clock
    )
    assert len(list(paced)) == 2
    assert sync_clock.sleeps == pytest.approx([0.05, 0.05])

    async def consume() -> int:
        stream = streamtest.replay_stream(path, name="chat", timing="realtime", clock=async_clock)
        return len([item async for item in stream])

    assert asyncio.run(consume()) == 2
    assert async_clock.sleeps == pytest.approx([0.2, 0.2])


def test_instant_replay_never_sleeps(path: Path) -> None:
    clock = FakeClock()

    assert len(list(streamtest.replay_stream(path, name="chat", clock=clock))) == 2
    assert clock.sleeps == []


def test_a_failed_recording_fails_again_after_its_items(tmp_path: Path) -> None:
    path = tmp_path / "failed.jsonl"

    def broken() -> Any:
        yield "partial"
        raise TimeoutError("model timed out")

    with pytest.raises(TimeoutError):
        list(streamtest.record_stream(broken(), name="answer", path=path))

    async def consume() -> list[str]:
        seen: list[str] = []
        with pytest.raises(TimeoutError, match="model timed out"):
            async for item in streamtest.replay_stream(path, name="answer"):
                seen.append(item)
        return seen

    assert asyncio.run(consume()) == ["partial"]


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        pytest.param(
            {"name": "answer"},
            ["holds no recording of the object stream 'answer'", "'chat', 'log'"],
            id="unknown-name",
        ),
        pytest.param(
            {"name": "chat", "key": {"turn": 3}},
            ["with key {'turn': 3}", "the keys recorded for 'chat' are"],
            id="unknown-key",
        ),
        pytest.param(
            {"name": "log", "index": 1},
            ["holds 1 recording(s) of the object stream 'log'", "no index 1", "from -1 to 0"],
            id="index-out-of-range",
        ),
    ],
)
def test_a_missing_stream_lists_what_the_cassette_holds(
    path: Path, options: dict[str, Any], fragments: list[str]
) -> None:
    with pytest.raises(streamtest.UnmatchedStreamError) as caught:
        streamtest.replay_stream(path, **options)

    message = str(caught.value)
    assert message.startswith(f"Cassette {path} holds")
    for fragment in fragments:
        assert fragment in message


def test_a_missing_file_is_a_cassette_error(tmp_path: Path) -> None:
    with pytest.raises(streamtest.CassetteError, match="cannot be read"):
        streamtest.replay_stream(tmp_path / "missing.jsonl")


def test_bad_timing_options_are_refused(path: Path) -> None:
    with pytest.raises(ValueError, match="speed must be a positive number"):
        streamtest.replay_stream(path, name="chat", speed=0)
    with pytest.raises(ValueError, match="timing"):
        streamtest.replay_stream(path, name="chat", timing="slow")
