"""The pytest plugin, end to end: inner test suites run by pytester in a subprocess.

Each inner suite streams from the loopback `ProviderServer` running in this (outer) process, so
the server's request log shows exactly which inner requests reached the network. Inner runs are
subprocesses because the plugin patches the HTTP stacks process-wide. Replay runs either check
that request log or stop the server first, so a request that escaped to the network would fail.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import streamtest
from fixtures.provider_server import ProviderServer, Scenario

pytest_plugins = ["pytester"]

GAP = 0.002  # seconds between server writes: enough to make several chunks, cheap to record
TEXT = "Recorded once, replayed forever."

# The inner suites' HTTP client: a plain httpx streaming POST, its SSE deltas joined into text.
CLIENT = '''
import json
import os

import httpx

BASES = {bases!r}


def chat(which=0, prompt=None):
    prompt = os.environ.get("INNER_PROMPT", "Say hi.") if prompt is None else prompt
    body = {{"model": "m", "stream": True, "messages": [{{"role": "user", "content": prompt}}]}}
    parts = []
    with httpx.Client(timeout=10) as client:
        with client.stream("POST", BASES[which] + "/chat/completions", json=body) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    for choice in json.loads(line[6:])["choices"]:
                        parts.append(choice["delta"].get("content") or "")
    return "".join(parts)


def report(name, **values):
    """Leave values for the outer test in <rootdir>/<name>.json."""
    with open(os.path.join({root!r}, name + ".json"), "w") as handle:
        json.dump(values, handle)
'''


@pytest.fixture(autouse=True)
def _developer_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs inherit this environment: no CI variable, so the default record mode is once."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("INNER_PROMPT", raising=False)


def write_client(pytester: pytest.Pytester, server: ProviderServer, *scenarios: Scenario) -> None:
    """Write the inner ``streamclient`` module, serving ``scenarios`` (default: one with TEXT)."""
    bases = [server.base_url(s) for s in scenarios or (Scenario(text=TEXT, gap=GAP),)]
    source = CLIENT.format(bases=bases, root=str(pytester.path))
    pytester.makepyfile(streamclient=source)


# Installed plugins the inner runs do not need: langsmith's alone costs ~1 s of start-up.
# streamtest itself still loads through its pytest11 entry point, as in a user's project.
UNNEEDED_PLUGINS = ("cacheprovider", "langsmith_plugin", "anyio", "respx", "syrupy")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    blocked = [arg for name in UNNEEDED_PLUGINS for arg in ("-p", f"no:{name}")]
    return pytester.runpytest_subprocess(*blocked, *args, timeout=120)


def reported(pytester: pytest.Pytester, name: str) -> dict[str, Any]:
    path = pytester.path / f"{name}.json"
    values: dict[str, Any] = json.loads(path.read_text())
    path.unlink()  # a later run must write it again to be read again
    return values


def cassettes(folder: Path) -> set[str]:
    """Names of all files under ``folder`` (hidden temporary files included), relative."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def recorded_text(cassette: streamtest.Cassette) -> str:
    """The text of the cassette's first chat stream, joined from its SSE deltas."""
    body = b"".join(c.data for c in cassette.interactions[0].response.chunks).decode()
    parts = []
    for line in body.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            parts += [c["delta"].get("content") or "" for c in json.loads(line[6:])["choices"]]
    return "".join(parts)


# ------------------------------------------------------------------------- record, then replay


def test_cassette_fixture_records_once_then_replays_without_the_server(
    pytester: pytest.Pytester, server: ProviderServer
) -> None:
    write_client(pytester, server)
    pytester.makepyfile(
        test_chat="""
        from streamclient import chat, report

        def test_chat(cassette):
            text = chat()
            report(
                "seen",
                text=text,
                path=str(cassette.path),
                chunks=[len(i.response.chunks) for i in cassette.interactions],
            )
        """
    )
    run(pytester).assert_outcomes(passed=1)
    path = pytester.path / "cassettes" / "test_chat" / "test_chat.jsonl"
    first = reported(pytester, "seen")
    assert first == {"text": TEXT, "path": str(path), "chunks": []}  # nothing loaded: recording
    assert len(server.requests) == 1
    recorded = streamtest.load_cassette(path)
    assert len(recorded.interactions) == 1
    assert recorded.interactions[0].request.url.endswith("/chat/completions")
    assert len(recorded.interactions[0].response.chunks) > 1
    assert recorded_text(recorded) == TEXT
    content = path.read_bytes()

    server.stop()
    run(pytester).assert_outcomes(passed=1)
    second = reported(pytester, "seen")
    assert second["text"] == TEXT
    assert second["chunks"] == [len(recorded.interactions[0].response.chunks)]
    assert len(server.requests) == 1
    assert path.read_bytes() == content  # a replay writes nothing


def test_default_path_of_parametrized_and_class_tests(
    pytester: pytest.Pytester, server: ProviderServer
) -> None:
    write_client(pytester, server)
    pytester.makepyfile(
        test_names="""
        import pytest
        from streamclient import chat

        @pytest.mark.parametrize("who", ["plain", "with space", "a/b"])
        def test_param(cassette, who):
            assert chat(prompt=who)

        class TestGroup:
            def test_method(self, cassette):
                assert chat()

        class TestA:
            class TestInner:
                def test_x(self, cassette):
                    assert chat()

        class TestB:
            class TestInner:
                def test_x(self, cassette):
                    assert chat()
        """
    )
    run(pytester).assert_outcomes(passed=6)
    assert cassettes(pytester.path / "cassettes" / "test_names") == {
        "test_param[plain].jsonl",
        "test_param[with_space].jsonl",
        "test_param[a_b].jsonl",
        "TestGroup.test_method.jsonl",
        "TestA.TestInner.test_x.jsonl",
        "TestB.TestInner.test_x.jsonl",
    }
    assert len(server.requests) == 6


def test_marker_activates_a_cassette_without_the_fixture(
    pytester: pytest.Pytester, server: ProviderServer
) -> None:
    write_client(pytester, server)
    pytester.makepyfile(
        test_marked="""
        import pytest
        from streamclient import chat

        @pytest.mark.streamtest("custom.jsonl", record_mode="all")
        def test_positional():
            assert chat()

        @pytest.mark.streamtest(path="sub/keyword.jsonl")
        def test_keyword():
            assert chat()

        def test_unmarked():
            assert chat()
        """
    )
    run(pytester, "--strict-markers").assert_outcomes(passed=3)
    folder = pytester.path / "cassettes" / "test_marked"
    assert cassettes(folder) == {"custom.jsonl", "sub/keyword.jsonl"}
    assert len(server.requests) == 3  # the unmarked test went to the network, unrecorded

    run(pytester, "--strict-markers").assert_outcomes(passed=3)
    # "all" records custom.jsonl again; keyword.jsonl (mode once) now replays.
    assert len(server.requests) == 5


def test_ini_cassette_dir_moves_cassettes_under_rootdir(
    pytester: pytest.Pytester, server: ProviderServer
) -> None:
    write_client(pytester, server)
    pytester.makeini("[pytest]\nstreamtest_cassette_dir = recorded/here\n")
    pytester.mkpydir("suite")
    pytester.path.joinpath("suite", "test_deep.py").write_text(
        "from streamclient import chat\n\ndef test_one(cassette):\n    assert chat()\n"
    )
    run(pytester).assert_outcomes(passed=1)
    assert cassettes(pytester.path / "recorded") == {"here/test_deep/test_one.jsonl"}
    assert not (pytester.path / "suite" / "cassettes").exists()


# ------------------------------------------------------------------- record modes and options

MISSING_CASSETTE_TEST = """
import pytest
from streamclient import chat

@pytest.mark.streamtest(record_mode="all")
def test_chat():
    assert chat()
"""


def test_record_mode_none_fails_on_missing_cassette_and_overrides_the_marker(
    pytester: pytest.Pytester, server: ProviderServer
) -> None:
    write_client(pytester, server)
    pytester.makepyfile(test_modes=MISSING_CASSETTE_TEST)
    path = pytester.path / "cassettes" / "test_modes" / "test_chat.jsonl"

    result = run(pytester, "--streamtest-record-mode=none")
    result.assert_outcomes(failed=1)  # reported once: no second, teardown error
    result.stdout.fnmatch_lines(
        [f"E *UnmatchedRequestError: No recorded interaction in cassette {path} *"]
    )
    result.stdout.fnmatch_lines(["E * The cassette file does not exist*"])
    assert server.requests == []
    assert not path.exists()

    run(pytester).assert_outcomes(passed=1)  # the marker's "all" records
    assert len(server.requests) == 1
    run(pytester, "--streamtest-record-mode=none").assert_outcomes(passed=1)
    assert len(server.requests) == 1  # the flag beat the marker's "all": replayed


def test_ci_environment_defaults_to_record_mode_none(
    pytester: pytest.Pytester, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_client(pytester, server)
    pytester.makepyfile(
        test_ci="from streamclient import chat\n\ndef test_chat(cassette):\n    assert chat()\n"
    )
    monkeypatch.setenv("CI", "true")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E *UnmatchedRequestError: *record mode 'none'*"])
    assert server.requests == []

    run(pytester, "--streamtest-record-mode=once").assert_outcomes(passed=1)
    assert len(server.requests) == 1
    assert (pytester.path / "cassettes" / "test_ci" / "test_chat.jsonl").exists()


def test_a_miss_the_report_does_not_show_fails_the_test_at_teardown(
    pytester: pytest.Pytester, server: ProviderServer
) -> None:
    write_client(pytester, server)
    pytester.makepyfile(
        test_hidden="""
        import pytest
        from streamclient import chat

        def test_swallowed(cassette):
            with pytest.raises(AssertionError):
                chat()

        def test_wrapped(cassette):
            try:
                chat()
            except AssertionError as exc:
                raise RuntimeError("the app wrapped the miss") from exc

        def test_replaced(cassette):
            try:
                chat()
            except AssertionError:
                raise RuntimeError("the app replaced the miss") from None
        """
    )
    result = run(pytester, "--streamtest-record-mode=none")
    # The wrapped miss shows in the failure's exception chain: it is not reported again.
    result.assert_outcomes(passed=1, failed=2, errors=2)
    teardowns = [line.strip("_ ") for line in result.stdout.lines if "at teardown of" in line]
    assert teardowns == [
        "ERROR at teardown of test_swallowed",
        "ERROR at teardown of test_replaced",
    ]
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_replaced*", "E *does not exist*"])
    assert server.requests == []


def test_timing_flag_realtime_paces_replay(
    pytester: pytest.Pytester, server: ProviderServer
) -> None:
    write_client(pytester, server, Scenario(text="one two three four five six", gap=0.05))
    pytester.makepyfile(
        test_timing="""
        import time
        from streamclient import chat, report

        def test_chat(cassette):
            start = time.perf_counter()
            assert chat() == "one two three four five six"
            report("timing", elapsed=time.perf_counter() - start)
        """
    )
    run(pytester).assert_outcomes(passed=1)
    path = pytester.path / "cassettes" / "test_timing" / "test_chat.jsonl"
    span = streamtest.load_cassette(path).interactions[0].response.chunks[-1].t
    assert span >= 0.1  # at least two gaps were recorded
    server.stop()

    run(pytester, "--streamtest-timing=realtime").assert_outcomes(passed=1)
    realtime = reported(pytester, "timing")["elapsed"]
    run(pytester).assert_outcomes(passed=1)
    instant = reported(pytester, "timing")["elapsed"]
    assert realtime >= 0.9 * span
    assert instant < realtime


@pytest.mark.parametrize(
    ("option", "choices"),
    [
        pytest.param("--streamtest-timing=slow", ["instant", "realtime"], id="timing"),
        pytest.param(
            "--streamtest-record-mode=sometimes",
            ["none", "once", "new_episodes", "all"],
            id="record-mode",
        ),
    ],
)
def test_invalid_option_choice_is_a_usage_error(
    pytester: pytest.Pytester, option: str, choices: list[str]
) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = run(pytester, option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    message = result.stderr.str()
    assert "invalid choice" in message
    for choice in choices:
        assert choice in message


def test_a_bad_fault_on_the_command_line_stops_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = run(pytester, "--streamtest-fault=cut=3", "--streamtest-fault=crash=1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--streamtest-fault: The fault 'crash=1' cannot be read" in result.stderr.str()
    result.stdout.no_fnmatch_line("*test_nothing*")


def test_a_bad_fault_in_a_marker_is_a_usage_error_naming_the_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.streamtest(faults=["cut=3", "cut=x"])
        def test_bad_fault():
            pass
        """
    )
    result = run(pytester)
    result.stdout.fnmatch_lines(
        ["*Bad streamtest options for test_bad.py::test_bad_fault: The fault 'cut=x' cannot*"]
    )
    assert result.ret != pytest.ExitCode.OK


# ------------------------------------------------------ configuration fixture, marker, xdist


def test_streamtest_config_fixture_sets_defaults_and_the_marker_beats_it(
    pytester: pytest.Pytester, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_client(pytester, server)
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def streamtest_config():
            return {"match_on": ["method", "path"]}
        """
    )
    pytester.makepyfile(
        test_config="""
        import pytest
        from streamclient import chat

        def test_loose(cassette):
            assert chat()

        @pytest.mark.streamtest(match_on=["method", "path", "body"])
        def test_strict():
            assert chat()
        """
    )
    monkeypatch.setenv("INNER_PROMPT", "first prompt")
    run(pytester).assert_outcomes(passed=2)
    assert len(server.requests) == 2
    server.stop()

    monkeypatch.setenv("INNER_PROMPT", "a different prompt")
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E *UnmatchedRequestError: *cassette */test_strict.jsonl matches the request*",
            "E * which differs in body:",
            "FAILED test_config.py::test_strict - *",
        ]
    )
    assert len(server.requests) == 2


def test_marker_is_registered_with_its_signature(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--markers")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["@pytest.mark.streamtest(path=None, *, record_mode=None*"])


def test_xdist_workers_record_and_replay_their_own_cassettes(
    pytester: pytest.Pytester, server: ProviderServer
) -> None:
    texts = [f"Answer number {i} streams in words." for i in range(6)]
    write_client(pytester, server, *(Scenario(text=t, gap=GAP) for t in texts))
    pytester.makepyfile(
        test_parallel=f"""
        import pytest
        from streamclient import chat

        TEXTS = {texts!r}

        @pytest.mark.parametrize("which", range(6))
        def test_chat(cassette, which):
            assert chat(which) == TEXTS[which]
        """
    )
    run(pytester, "-n", "2").assert_outcomes(passed=6)
    assert len(server.requests) == 6
    server.stop()

    run(pytester, "-n", "2").assert_outcomes(passed=6)
    folder = pytester.path / "cassettes" / "test_parallel"
    assert cassettes(folder) == {f"test_chat[{i}].jsonl" for i in range(6)}
    for i, text in enumerate(texts):
        cassette = streamtest.load_cassette(folder / f"test_chat[{i}].jsonl")
        assert len(cassette.interactions) == 1
        assert recorded_text(cassette) == text
    assert not [name for name in os.listdir(folder) if name.endswith(".tmp")]


def test_a_wrapped_object_stream_miss_is_reported_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_objects="""
        import streamtest

        def test_wrapped(cassette):
            try:
                list(streamtest.record_stream(iter([1, 2]), name="answer"))
            except AssertionError as exc:
                raise RuntimeError("the app wrapped the miss") from exc
        """
    )
    result = run(pytester, "--streamtest-record-mode=none")
    # the miss is in the failure's exception chain: no second report at teardown
    result.assert_outcomes(failed=1)
    assert not [line for line in result.stdout.lines if "at teardown of" in line]
    result.stdout.fnmatch_lines(["E *UnmatchedStreamError: *'answer'*"])


SUITE_WITH_A_BLOCK = """
import httpx2
import streamtest
from streamtest import Chunk, Interaction, Request, Response
from streamtest._core import fileformat

URL = "http://stream.invalid/answer"
CHUNKS = (Chunk(0.1, b"one "), Chunk(0.2, b"two "), Chunk(0.3, b"three"))


def test_block(tmp_path):
    path = tmp_path / "c.jsonl"
    response = Response(200, (), CHUNKS)
    fileformat.save(
        streamtest.Cassette(path, [Interaction(Request("GET", URL), response)]), recorded_with="t"
    )
    with streamtest.use_cassette(path, record_mode="none"), httpx2.Client() as client:
        with client.stream("GET", URL) as answer:
            assert b"".join(answer.iter_raw()) == b"one two three"
"""


def test_command_line_faults_reach_use_cassette_blocks_and_are_undone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STREAMTEST_FAULTS", raising=False)
    pytester.makepyfile(test_block=SUITE_WITH_A_BLOCK)
    blocked = [arg for name in UNNEEDED_PLUGINS for arg in ("-p", f"no:{name}")]
    pytester.runpytest_inprocess(*blocked, "--streamtest-fault=rechunk=bytes").assert_outcomes(
        passed=1
    )
    broken = pytester.runpytest_inprocess(*blocked, "--streamtest-fault=cut=1,error=incomplete")
    broken.assert_outcomes(failed=1)
    broken.stdout.fnmatch_lines(["*RemoteProtocolError*"])
    assert "STREAMTEST_FAULTS" not in os.environ  # the run put the variable back as it was


def test_streamtest_faults_variable_adds_to_every_cassette(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMTEST_FAULTS", "rechunk=bytes; cut=2,times=1")
    context = streamtest.use_cassette(tmp_path / "c.jsonl", faults="stall=1,seconds=1")
    assert context.faults == (
        streamtest.Stall(1, 1.0),
        streamtest.Rechunk("bytes"),
        streamtest.Cut(2, times=1),
    )
    monkeypatch.setenv("STREAMTEST_FAULTS", "cut=x")
    with pytest.raises(ValueError, match="The environment variable STREAMTEST_FAULTS is wrong"):
        streamtest.use_cassette(tmp_path / "c.jsonl")
