"""Object streams in cassettes: beside HTTP interactions in one file, redacted before they are
written, merged into a standalone file, and recorded by the pytest plugin's cassette."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

import streamtest
from fixtures.provider_server import ProviderServer, Scenario

PLANTED = "planted-secret-0123456789"


def test_http_interactions_and_object_streams_share_one_cassette(
    server: ProviderServer, tmp_path: Path
) -> None:
    url = server.base_url(Scenario(text="one two")) + "/chat/completions"
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    path = tmp_path / "app.jsonl"

    def app() -> tuple[bytes, list[str]]:
        with httpx.Client() as client:
            raw = client.post(url, json=body).content
        words = list(streamtest.record_stream(iter(["one", "two"]), name="words"))
        return raw, words

    with streamtest.use_cassette(path, record_mode="all") as cassette:
        live = app()
    server.stop()  # replay must not need it
    with streamtest.use_cassette(path, record_mode="none"):
        replayed = app()

    assert replayed == live
    loaded = streamtest.load_cassette(path)
    assert len(loaded.interactions) == 1 and [s.name for s in loaded.streams] == ["words"]
    # The yielded Cassette sees what was written (its offsets not yet rounded to microseconds).
    assert [[i.value for i in s.items] for s in cassette.streams] == [["one", "two"]]
    kinds = [next(iter(json.loads(line))) for line in path.read_text().splitlines()]
    assert kinds[:2] == ["streamtest", "request"]
    assert kinds[-4:] == ["stream", "t", "t", "end"]  # streams after the interactions


def test_secrets_inside_items_and_keys_are_redacted_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SERVICE_API_KEY", PLANTED)
    provider_key = "sk-proj-" + "a1B2c3D4" * 4
    items = [
        {"note": f"key={PLANTED}", "nested": ("x", [provider_key])},
        {f"header {provider_key}": 1},
        b"bytes are stored as read",
    ]
    path = tmp_path / "secret.jsonl"

    with streamtest.use_cassette(path, record_mode="all"):
        live = list(streamtest.record_stream(items, name="s", key={"token": provider_key}))

    assert live == items  # the application saw the real values
    text = path.read_text()
    assert PLANTED not in text and provider_key not in text
    with streamtest.use_cassette(path, record_mode="none"):
        # The live key is redacted the same way, so it still matches its recording.
        replayed = list(streamtest.record_stream([], name="s", key={"token": provider_key}))
    assert replayed == [
        {"note": "key=REDACTED", "nested": ("x", ["REDACTED"])},
        {"header REDACTED": 1},
        b"bytes are stored as read",
    ]


def test_redaction_follows_the_cassette_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.jsonl"
    rules = streamtest.Redaction().adding(values=["internal-codename"])

    with streamtest.use_cassette(path, record_mode="all", redact=rules):
        list(streamtest.record_stream(["project internal-codename ships"]))

    assert streamtest.load_cassette(path).streams[0].items[0].value == "project REDACTED ships"


def test_a_standalone_stream_is_added_to_what_the_file_holds_when_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    with streamtest.use_cassette(path, record_mode="all"):
        list(streamtest.record_stream(["kept"], name="earlier"))
    a = streamtest.record_stream(iter([1, 2]), name="a", path=path, record_mode="new_episodes")
    b = streamtest.record_stream(iter([3]), name="b", path=path, record_mode="new_episodes")

    assert next(a) == 1  # both streams have read the file before either is written
    assert list(b) == [3]
    assert list(a) == [2]

    loaded = streamtest.load_cassette(path)
    assert [(s.name, [i.value for i in s.items]) for s in loaded.streams] == [
        ("earlier", ["kept"]),
        ("b", [3]),
        ("a", [1, 2]),
    ]


def test_a_standalone_stream_in_mode_all_replaces_only_its_own_recording(tmp_path: Path) -> None:
    path = tmp_path / "redo.jsonl"
    for name, items in (("a", ["old"]), ("b", ["other"]), ("a", ["new"])):
        list(streamtest.record_stream(items, name=name, path=path, record_mode="all"))

    loaded = streamtest.load_cassette(path)
    assert [(s.name, s.items[0].value) for s in loaded.streams] == [("b", "other"), ("a", "new")]


def test_standalone_recordings_from_threads_all_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "threads.jsonl"
    barrier = threading.Barrier(4)

    def worker(n: int) -> None:
        stream = streamtest.record_stream(
            iter(range(n)), name=f"w{n}", path=path, record_mode="new_episodes"
        )
        first = next(stream)  # every thread reads the (missing) file before any writes
        barrier.wait(timeout=10)
        assert [first, *stream] == list(range(n))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(s.name for s in streamtest.load_cassette(path).streams) == [
        "w1",
        "w2",
        "w3",
        "w4",
    ]


UNNEEDED_PLUGINS = ("cacheprovider", "langsmith_plugin", "anyio", "respx", "syrupy")


def test_the_pytest_cassette_fixture_records_and_replays_object_streams(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_agent="""
        import os
        import streamtest

        def agent(log):
            log.append("ran")
            yield {"step": ("search", 1)}
            yield "done"

        def test_agent(cassette):
            log = []
            items = list(streamtest.record_stream(agent(log), name="agent"))
            assert items == [{"step": ("search", 1)}, "done"]
            assert log == ([] if os.environ.get("REPLAY") else ["ran"])
        """
    )
    blocked = [arg for name in UNNEEDED_PLUGINS for arg in ("-p", f"no:{name}")]

    pytester.runpytest_subprocess(*blocked, timeout=120).assert_outcomes(passed=1)
    path = pytester.path / "cassettes" / "test_agent" / "test_agent.jsonl"
    assert [s.name for s in streamtest.load_cassette(path).streams] == ["agent"]

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REPLAY", "1")
        replay = pytester.runpytest_subprocess(
            *blocked, "--streamtest-record-mode=none", timeout=120
        )
    replay.assert_outcomes(passed=1)
