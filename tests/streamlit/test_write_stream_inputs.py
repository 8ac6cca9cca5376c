"""Every input kind ``st.write_stream`` accepts, run through the Streamlit harness.

One app per kind (``fixtures/apps/st_apps/``, catalogued in ``fixtures/st_examples.py``): a
generator of strings, a generator function, an async generator, the real OpenAI SDK's chat and
Responses streams, a LangChain ``chain.stream()``, a stream mixing text with a DataFrame, and
streams that fail part-way (at the wire, and from a local generator). Each replays from its
committed cassette with no server into what was recorded, typed out piece by piece and
snapshot-asserted; and what the app shows live equals what it shows replayed.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

import httpx2
import openai
import pandas as pd
import pytest

import streamtest
from fixtures.st_examples import (
    EXAMPLES,
    StreamlitExample,
    record_example,
    replay_example,
    scan_components_once,
)
from streamtest.snapshot import StreamSnapshot
from streamtest.streamlit import AppRun, Frame

KINDS = [pytest.param(example, id=name) for name, example in EXAMPLES.items() if name != "lorem"]
SDK_STREAMS = {"openai_chat", "openai_responses", "langchain_chain"}
"""Kinds whose chunks Streamlit must recognise by class (else it would show them as JSON)."""


@pytest.fixture(autouse=True)
def _apps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps use the SDKs' default URLs, as in production (only recording points them at the
    loopback provider); new AppTests share one scan for Streamlit components (speed only)."""
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    scan_components_once(monkeypatch)


def recorded_text(example: StreamlitExample, path: Path) -> str:
    """The text the recording holds: the provider's answer (what the SDK's stream adds up to),
    or the strings the object stream yielded."""
    cassette = streamtest.load_cassette(path)
    if example.streams == "wire":
        (interaction,) = cassette.interactions
        return streamtest.aggregate(interaction).text
    (stream,) = cassette.streams
    return "".join(item.value for item in stream.items if isinstance(item.value, str))


def typed_out(shown: AppRun) -> dict[tuple[int, ...], list[str]]:
    """The successive texts of each text element ``write_stream`` drew, by element."""
    states: dict[tuple[int, ...], list[str]] = {}
    for frame in shown.frames:
        if frame.stream is not None and frame.kind == "markdown":
            states.setdefault(frame.path, []).append(frame.value)
    return states


def assert_typed_out(texts: list[str], final: str) -> None:
    """``texts`` grow strictly, each a prefix of the next, through at least two intermediate
    states, to ``final`` (as Streamlit shows it: markdown bodies are stripped)."""
    assert len(texts) >= 3, texts
    assert texts[-1] == final.strip()
    for before, after in itertools.pairwise(texts):
        assert after.startswith(before) and after != before, (before, after)


def shows(shown: AppRun, kind: str, value: Any) -> bool:
    return any(e.kind == kind and e.value == value for e in shown.elements)


def index_of_last(frames: list[Frame], kind: str) -> int:
    return max(i for i, frame in enumerate(frames) if frame.kind == kind)


def check_text_stream(shown: AppRun, text: str) -> None:
    """Only text was streamed: ``write_stream`` returned it as one str, typed out in one
    element (SDK chunks included: recognised by class, never shown as JSON)."""
    assert shown.errors == []
    assert shown.value == text
    assert text.count(" ") >= 10
    (texts,) = typed_out(shown).values()
    assert texts == shown.texts()
    assert_typed_out(texts, text)
    assert shows(shown, "markdown", text.strip())


def check_mixed_stream(shown: AppRun, text: str) -> None:
    """Text, a DataFrame built from it, then more text: ``write_stream`` returned a list."""
    assert shown.errors == []
    answer, table, closing = shown.value
    assert answer == text
    assert isinstance(table, pd.DataFrame)
    words = [word.strip(".,;:!?") for word in text.split()]
    assert table["word"].tolist() == words
    assert table["letters"].tolist() == [len(word) for word in words]
    longest = max(words, key=len)
    assert closing == f"The longest word is {longest}, with {len(longest)} letters. "
    first, second = typed_out(shown).values()
    assert_typed_out(first, answer)
    assert_typed_out(second, closing)
    assert [f.kind for f in shown.frames if f.stream is not None] == (
        ["markdown"] * len(first) + ["dataframe"] + ["markdown"] * len(second)
    )
    assert shows(shown, "caption", "write_stream returned 3 items")


def check_failed_stream(shown: AppRun, text: str) -> BaseException:
    """The partial text typed out, then the exception element; returns the error raised."""
    assert shown.values == []
    (error,) = shown.errors
    frames = shown.frames
    (exception,) = [f for f in frames if f.kind == "exception"]
    # Streamlit names a class outside builtins with its module: openai.APIConnectionError
    assert exception.value["type"].split(".")[-1] == type(error).__name__
    assert exception.value["message"] == str(error)
    assert index_of_last(frames, "exception") > index_of_last(frames, "markdown")
    assert_typed_out(shown.texts(), text)
    assert shows(shown, "markdown", text.strip())
    return error


@pytest.mark.parametrize("example", KINDS)
def test_committed_cassette_replays_into_its_snapshot(
    example: StreamlitExample, stream_snapshot: StreamSnapshot
) -> None:
    shown, at = replay_example(example)  # record_mode="none": no server, no network
    text = recorded_text(example, example.cassette)

    assert not [f for f in shown.frames if f.kind == "json"], "an item was shown as JSON"
    if example.name == "failing":
        error = check_failed_stream(shown, text)
        # The SDK wraps the transport error, which replays as the class the wire raised.
        assert isinstance(error, openai.APIConnectionError)
        assert isinstance(error.__cause__, httpx2.RemoteProtocolError)
        (interaction,) = streamtest.load_cassette(example.cassette).interactions
        assert interaction.response.end == "failed"
        assert example.scenario is not None  # what the provider was sending: the whole answer
        assert text and len(text) < len(example.scenario.text)
        assert example.scenario.text.startswith(text)
    elif example.name == "failing_generator":
        error = check_failed_stream(shown, text)
        assert isinstance(error, TimeoutError) and str(error) == "model stalled"
        assert text == "Let me think about that for a "
    elif example.name == "mixed":
        check_mixed_stream(shown, text)
    else:
        check_text_stream(shown, text)
    if example.name == "generator_function":
        assert "generator_ran" not in at.session_state  # replay never ran the generator
    stream_snapshot.app(shown)


@pytest.mark.parametrize("example", KINDS)
def test_live_equals_replayed(example: StreamlitExample, tmp_path: Path) -> None:
    cassette = tmp_path / f"{example.name}.jsonl"
    fast = dataclasses.replace(example.scenario, gap=0.0) if example.scenario else None
    live, live_app = record_example(example, cassette, scenario=fast, timeout=20.0)
    # the loopback provider is stopped now
    replayed, replayed_app = replay_example(example, cassette)
    assert len(live.frames) > 5
    assert replayed.to_data() == live.to_data()
    if example.name in SDK_STREAMS:
        assert isinstance(replayed.value, str)
    if example.name == "generator_function":
        assert live_app.session_state["generator_ran"] is True
        assert "generator_ran" not in replayed_app.session_state
