"""normalize_events on real langchain-core events: a real ChatOpenAI replayed from a cassette."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import adispatch_custom_event
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_openai import ChatOpenAI

import streamtest
from fixtures.provider_server import ProviderServer, Scenario
from streamtest.langchain import normalize_events

TEXT = "Hello, wörld! naïve café — 日本語."
REPLAYS = 50


def chain(base_url: str) -> Runnable[dict[str, str], str]:
    model = ChatOpenAI(
        model="gpt-4o-mini", api_key="sk-test", base_url=base_url, streaming=True, max_retries=0
    )
    prompt = ChatPromptTemplate.from_messages([("user", "Say {word}")])
    return prompt | model | StrOutputParser()


def events(runnable: Runnable[Any, Any], inputs: Any) -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        return [dict(event) async for event in runnable.astream_events(inputs, version="v2")]

    return asyncio.run(main())


def record(
    server: ProviderServer, path: Path, scenario: Scenario
) -> tuple[str, list[dict[str, Any]]]:
    """Run the chain live while recording, then stop the server: later runs must replay."""
    base = server.base_url(scenario)
    with streamtest.use_cassette(path, record_mode="all"):
        live = events(chain(base), {"word": "hi"})
    server.stop()
    return base, live


def replay(path: Path, base: str) -> list[dict[str, Any]]:
    with streamtest.use_cassette(path, record_mode="none"):
        return events(chain(base), {"word": "hi"})


def of(kind: str, normalized: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event for event in normalized if event["event"] == kind]


def test_every_replay_normalizes_like_the_live_run(server: ProviderServer, tmp_path: Path) -> None:
    base, live = record(server, tmp_path / "c.jsonl", Scenario(text=TEXT))
    expected = normalize_events(live)
    for _ in range(REPLAYS):
        assert normalize_events(replay(tmp_path / "c.jsonl", base)) == expected
    assert len(server.requests) == 1
    json.dumps(expected)  # plain data all the way down


def test_raw_events_differ_between_replays(server: ProviderServer, tmp_path: Path) -> None:
    base, _ = record(server, tmp_path / "c.jsonl", Scenario(text=TEXT))
    first, second = replay(tmp_path / "c.jsonl", base), replay(tmp_path / "c.jsonl", base)
    assert [e["run_id"] for e in first] != [e["run_id"] for e in second]
    assert first != second
    assert normalize_events(first) == normalize_events(second)


def test_the_tree_matches_the_chain(server: ProviderServer, tmp_path: Path) -> None:
    base, _ = record(server, tmp_path / "c.jsonl", Scenario(text=TEXT))
    normalized = normalize_events(replay(tmp_path / "c.jsonl", base))
    runs = {(e["name"], e["run"], e["parent"]) for e in normalized}
    assert runs == {
        ("RunnableSequence", "run1", None),
        ("ChatPromptTemplate", "run2", "run1"),
        ("ChatOpenAI", "run3", "run1"),
        ("StrOutputParser", "run4", "run1"),
    }
    assert normalized[0]["event"] == "on_chain_start"
    assert normalized[-1]["event"] == "on_chain_end"
    assert normalized[-1]["data"] == {"output": TEXT}
    assert {e["event"] for e in normalized if e["run"] == "run2"} == {
        "on_prompt_start",
        "on_prompt_end",
    }
    assert all("run_id" not in e and "parent_ids" not in e for e in normalized)


def test_model_stream_carries_the_text_in_order(server: ProviderServer, tmp_path: Path) -> None:
    base, _ = record(server, tmp_path / "c.jsonl", Scenario(text=TEXT, split="utf8"))
    normalized = normalize_events(replay(tmp_path / "c.jsonl", base))
    chunks = [e["data"]["chunk"] for e in of("on_chat_model_stream", normalized)]
    pieces = [chunk["content"] for chunk in chunks if chunk["content"]]
    assert len(pieces) > 1
    assert "".join(pieces) == TEXT
    assert {chunk["type"] for chunk in chunks} == {"AIMessageChunk"}
    # langchain-core's run-specific lc_run-- id is gone; the appended last chunk is kept.
    assert all("lc_run" not in json.dumps(chunk) for chunk in chunks)
    assert chunks[-1]["chunk_position"] == "last"
    assert chunks[-1]["content"] == ""
    parsed = [e["data"]["chunk"] for e in of("on_parser_stream", normalized)]
    assert "".join(parsed) == TEXT
    start = of("on_chat_model_start", normalized)[0]
    assert start["data"]["input"]["messages"][0][0] == {
        "type": "HumanMessage",
        "content": "Say hi",
        "additional_kwargs": {},
        "response_metadata": {},
        "name": None,
        "id": None,
    }
    assert "lc_versions" not in start["metadata"]
    assert not [key for key in start["metadata"] if key.startswith("ls_")]


def test_tool_call_chunks_keep_the_recorded_provider_ids(
    server: ProviderServer, tmp_path: Path
) -> None:
    base, live = record(server, tmp_path / "c.jsonl", Scenario(tool_call=True))
    normalized = normalize_events(replay(tmp_path / "c.jsonl", base))
    assert normalized == normalize_events(live)
    calls = [
        call
        for e in of("on_chat_model_stream", normalized)
        for call in e["data"]["chunk"]["tool_call_chunks"]
    ]
    assert calls
    assert calls[0]["id"] == "call_loopback_1"
    end = of("on_chat_model_end", normalized)[0]["data"]["output"]
    assert [call["id"] for call in end["tool_calls"]] == ["call_loopback_1"]


def test_rules_run_after_the_builtin_normalization(server: ProviderServer, tmp_path: Path) -> None:
    base, live = record(server, tmp_path / "c.jsonl", Scenario(text=TEXT))
    seen: list[str] = []

    def drop_metadata(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event["run"])  # already an ordinal name
        return {key: value for key, value in event.items() if key != "metadata"}

    def tag(event: dict[str, Any]) -> dict[str, Any]:
        return {**event, "checked": True}

    normalized = normalize_events(live, rules=[drop_metadata, tag])
    assert len(seen) == len(live)
    assert all("metadata" not in e and e["checked"] for e in normalized)
    assert normalize_events(replay(tmp_path / "c.jsonl", base), rules=[drop_metadata, tag]) == (
        normalized
    )


def test_a_rule_that_returns_nothing_is_reported(server: ProviderServer, tmp_path: Path) -> None:
    _, live = record(server, tmp_path / "c.jsonl", Scenario(text=TEXT))
    with pytest.raises(TypeError, match="returned NoneType"):
        normalize_events(live, rules=[lambda event: None])  # type: ignore[arg-type,return-value]


def test_custom_events_are_kept_with_their_data() -> None:
    async def step(value: str) -> str:
        await adispatch_custom_event("progress", {"step": 1, "of": value, "trace": uuid.uuid4()})
        return value.upper()

    runnable = RunnableLambda(step).with_config(run_name="shout")
    first, second = events(runnable, "hey"), events(runnable, "hey")
    assert normalize_events(first) == normalize_events(second)
    custom = of("on_custom_event", normalize_events(first))
    assert custom == [
        {
            "event": "on_custom_event",
            "name": "progress",
            "run": "run1",
            "parent": None,
            "tags": [],
            "metadata": {},
            "data": {"step": 1, "of": "hey", "trace": "<uuid1>"},
        }
    ]


def test_uuids_in_strings_become_ordinal_placeholders() -> None:
    run, other = str(uuid.uuid4()), str(uuid.uuid4())
    raw = [
        {"event": "on_chain_start", "run_id": run, "name": "x", "data": {"input": f"id {other}"}},
        {"event": "on_chain_end", "run_id": run, "name": "x", "data": {"output": f"{run}/{other}"}},
    ]
    normalized = normalize_events(raw)
    assert normalized[0]["data"] == {"input": "id <uuid1>"}
    assert normalized[1]["data"] == {"output": "<run1>/<uuid1>"}


def test_an_event_without_a_run_id_is_reported() -> None:
    with pytest.raises(ValueError, match=r"Event 0 has no 'run_id' key"):
        normalize_events([{"event": "on_chain_start"}])


def test_import_streamtest_does_not_load_the_adapter() -> None:
    code = "import sys, streamtest; print('streamtest.langchain' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_langchain_core_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['langchain_core'] = None\n"
        "try:\n    import streamtest.langchain\nexcept ImportError as e:\n    print(e)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "streamtest[langchain]"' in out.stdout
