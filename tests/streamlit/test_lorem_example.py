"""The ``st.write_stream`` documentation's example, replayed from a cassette.

``fixtures/apps/st_apps/lorem.py`` is the example verbatim: a "Stream data" button; clicked, it
streams the words of lorem ipsum, a DataFrame of random numbers, then the words again. Its
cassette (``cassettes/streamlit/lorem.jsonl``, an object stream) froze the random numbers, so
the replay shows the same table every time, and what the app showed is snapshot-asserted.
"""

from __future__ import annotations

import itertools
import time

import pandas as pd
import pytest

import streamtest
from fixtures.st_examples import EXAMPLES, replay_example, scan_components_once
from streamtest.snapshot import StreamSnapshot
from streamtest.streamlit import STREAM_NAME

LOREM = EXAMPLES["lorem"]
SPEED = 10  # realtime replay, ten times the recorded pace: ~0.14 s for ~1.4 s recorded


@pytest.fixture(autouse=True)
def _apps(monkeypatch: pytest.MonkeyPatch) -> None:
    scan_components_once(monkeypatch)  # new AppTests share one scan for components (speed only)


def recorded_items() -> list[object]:
    """What the example's generator yielded when it was recorded, decoded (DataFrame and all)."""
    return list(streamtest.replay_stream(LOREM.cassette, name=STREAM_NAME))


def test_clicking_the_button_replays_the_documented_stream(
    stream_snapshot: StreamSnapshot,
) -> None:
    shown, _ = replay_example(LOREM)  # at.run(), then click "Stream data"
    items = recorded_items()
    split = next(i for i, item in enumerate(items) if isinstance(item, pd.DataFrame))
    assert all(isinstance(item, str) for item in items[:split] + items[split + 1 :])

    # The first run shows the button and streams nothing.
    first_run = [frame for frame in shown.frames if frame.run == 0]
    assert [frame.kind for frame in first_run] == ["button"]
    assert first_run[0].value["label"] == "Stream data"
    assert all(frame.run == 1 for frame in shown.frames if frame.stream is not None)

    # The click streams text, the recorded DataFrame, and text again: write_stream's list.
    (value,) = shown.values
    first, table, second = value
    assert first == "".join(items[:split])  # type: ignore[arg-type]
    assert second == "".join(items[split + 1 :])  # type: ignore[arg-type]
    assert first == second and "**consectetur adipiscing**" in first
    assert isinstance(table, pd.DataFrame)
    assert table.shape == (5, 10)
    assert list(table.columns) == list("abcdefghij")
    pd.testing.assert_frame_equal(table, items[split])  # the random numbers, frozen

    # Typed out word by word, each text element growing to its final text, the table between.
    streamed = [frame for frame in shown.frames if frame.stream is not None]
    kinds = [kind for kind, _ in itertools.groupby(frame.kind for frame in streamed)]
    assert kinds == ["markdown", "dataframe", "markdown"]
    states: dict[tuple[int, ...], list[str]] = {}
    for frame in streamed:
        if frame.text is not None:
            states.setdefault(frame.path, []).append(frame.text)
    (first_states, second_states) = states.values()
    assert len(first_states) + len(second_states) > 50
    for texts, final in ((first_states, first), (second_states, second)):
        assert texts[-1] == final.strip()  # Streamlit strips markdown bodies
        for before, after in itertools.pairwise(texts):
            assert after.startswith(before) and after != before
    (table_frame,) = [frame for frame in streamed if frame.kind == "dataframe"]
    assert table_frame.value["data"] == table.to_numpy().tolist()
    assert [(frame.kind, frame.value) for frame in shown.elements] == [
        ("button", first_run[0].value),
        ("markdown", first.strip()),
        ("dataframe", table_frame.value),
        ("markdown", second.strip()),
    ]
    stream_snapshot.app(shown)


def test_replays_are_identical_instant_twice_and_realtime() -> None:
    first, _ = replay_example(LOREM)
    again, _ = replay_example(LOREM)
    started = time.perf_counter()
    realtime, _ = replay_example(LOREM, timing="realtime", speed=SPEED)
    elapsed = time.perf_counter() - started
    assert again.to_data() == first.to_data()
    assert realtime.to_data() == first.to_data()
    assert len(first.frames) > 50
    # Paced, not instant: the last item was due this long after the first ask (a lower bound,
    # which a loaded machine cannot break).
    (stream,) = streamtest.load_cassette(LOREM.cassette).streams
    assert stream.items[-1].t > 1.0
    assert elapsed >= stream.items[-1].t / SPEED
