"""The built-in snapshot kinds: what ``stream_snapshot.aggregate`` and ``.events`` write."""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import AIMessageChunk

import streamtest
from streamtest.langchain import normalize_events, summarize
from streamtest.snapshot import AGGREGATE, EVENTS

QUICKSTART = Path(__file__).resolve().parents[2] / "cassettes" / "quickstart-openai-chat.jsonl"


def test_aggregate_of_a_streamtest_aggregate_or_interaction_is_its_to_dict() -> None:
    interaction = streamtest.load_cassette(QUICKSTART).interactions[0]
    expected = streamtest.aggregate(interaction).to_dict()

    assert AGGREGATE.to_data(streamtest.aggregate(interaction)) == expected
    assert AGGREGATE.to_data(interaction) == expected
    assert expected["text"]


def test_aggregate_of_langchain_values_is_their_summary() -> None:
    chunks = [AIMessageChunk(content="Hel", id="chatcmpl-1"), AIMessageChunk(content="lo")]
    assert AGGREGATE.to_data(chunks) == summarize(chunks)
    assert AGGREGATE.name == "aggregate"


def test_events_are_normalized_with_the_rules() -> None:
    events = [{"event": "on_chain_start", "run_id": "r", "name": "chain", "data": {}}]

    def rule(event: dict[str, object]) -> dict[str, object]:
        return {**event, "name": "renamed"}

    assert EVENTS.to_data(events, rules=[rule]) == normalize_events(events, rules=[rule])
    assert EVENTS.to_data(events, rules=[rule])[0]["name"] == "renamed"
