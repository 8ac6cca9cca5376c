"""`streamtest replay --fault`, run as the installed executable on committed cassettes and on a
cassette of three interactions recorded from the loopback provider. What it must print is
computed from the cassettes themselves (a cut: a truncated copy, aggregated)."""

from __future__ import annotations

import http
import os
import re
import select
import subprocess
import time
from pathlib import Path

import openai
import pytest

import streamtest
from fixtures.cli import STREAMTEST, run
from fixtures.provider_server import ProviderServer, Scenario
from streamtest._core.faulttext import FAULT_FORMS

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "cassettes" / "quickstart-openai-chat.jsonl"  # text with "—" and "ï"
CLAUDE = ROOT / "cassettes" / "langchain" / "model_stream-anthropic.jsonl"
TOOL = ROOT / "cassettes" / "langchain" / "tool_calls_stream-openai.jsonl"
# What httpx and httpx2 raise when a connection fails each way mid-body.
RAISED = {"reset": "ReadError", "timeout": "ReadTimeout", "incomplete": "RemoteProtocolError"}
PROMPTS = ("one", "two", "three")


def only(path: Path) -> streamtest.Interaction:
    (interaction,) = streamtest.load_cassette(path).interactions
    return interaction


def first_text(interaction: streamtest.Interaction, n: int) -> str:
    """The text of the first ``n`` recorded chunks, aggregated from a truncated copy."""
    response = interaction.response
    cut = streamtest.Response(response.status, response.headers, response.chunks[:n], t=response.t)
    return streamtest.aggregate(streamtest.Interaction(interaction.request, cut)).text


def typed(text: str) -> str:
    """``text`` as replay leaves it on stdout: what follows starts on a line of its own."""
    return text if not text or text.endswith("\n") else text + "\n"


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cassette of three chat streams, each answer naming its prompt."""
    path = tmp_path_factory.mktemp("faults") / "three.jsonl"
    with (
        ProviderServer(default=Scenario(echo=True)) as provider,
        streamtest.use_cassette(path, record_mode="all"),
        openai.OpenAI(base_url=f"{provider.url}/v1", api_key="x", max_retries=0) as client,
    ):
        for prompt in PROMPTS:
            stream = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], stream=True
            )
            with stream:
                for _ in stream:
                    pass
    return path


@pytest.mark.parametrize(
    ("path", "after", "error"),
    [
        pytest.param(QUICKSTART, 10, "reset", id="openai-reset"),
        pytest.param(QUICKSTART, 0, "timeout", id="openai-at-once-timeout"),
        pytest.param(CLAUDE, 9, "incomplete", id="anthropic-incomplete"),
    ],
)
def test_a_cut_prints_the_text_of_its_chunks_then_the_injected_error(
    path: Path, after: int, error: str
) -> None:
    interaction = only(path)
    expected = first_text(interaction, after)
    assert after == 0 or (expected and expected != streamtest.aggregate(interaction).text)
    result = run("replay", "--instant", "--fault", f"cut={after},error={error}", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(typed(expected))
    rest = result.stdout.removeprefix(typed(expected))
    assert rest.startswith(f"[error] {RAISED[error]}: ") and rest.count("\n") == 1, rest
    assert rest.endswith("\n")
    notes = result.stderr.splitlines()
    assert notes[1] == f"--- injected: cut={after},error={error}"
    size = sum(len(chunk.data) for chunk in interaction.response.chunks[:after])
    assert notes[2].startswith(f"--- #0 failed ({RAISED[error]}: ")
    assert f": {after} chunks, {size:,} bytes, replayed in " in notes[2]


@pytest.mark.parametrize(
    ("fault", "chunks"),
    [
        pytest.param("rechunk=bytes", None, id="rechunk-bytes"),
        pytest.param("cut=5", 5, id="cut"),
    ],
)
def test_raw_writes_exactly_the_recorded_bytes_as_the_fault_left_them(
    fault: str, chunks: int | None
) -> None:
    recorded = only(QUICKSTART).response.chunks
    body = b"".join(chunk.data for chunk in recorded[:chunks])
    result = subprocess.run(
        [str(STREAMTEST), "replay", "--instant", "--raw", "--fault", fault, str(QUICKSTART)],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == body
    count = len(body) if chunks is None else chunks  # rechunk=bytes: one chunk a byte
    assert f": {count:,} chunks, {len(body):,} bytes, replayed in " in result.stderr.decode()


@pytest.mark.parametrize(
    ("path", "fault"),
    [
        pytest.param(QUICKSTART, "rechunk=bytes", id="openai-bytes"),
        pytest.param(QUICKSTART, "rechunk=random,seed=11,max=9", id="openai-random"),
        pytest.param(CLAUDE, "rechunk=random,seed=5", id="anthropic-random"),
        pytest.param(TOOL, "rechunk=random,seed=2,max=3", id="tool-call-random"),
        pytest.param(TOOL, "rechunk=whole", id="tool-call-whole"),
    ],
)
def test_rechunking_leaves_the_typed_text_as_it_was(path: Path, fault: str) -> None:
    plain = run("replay", "--instant", path)
    rechunked = run("replay", "--instant", "--fault", fault, path)
    assert (plain.returncode, rechunked.returncode) == (0, 0), rechunked.stderr
    assert rechunked.stdout == plain.stdout
    assert streamtest.aggregate(only(path)).text in rechunked.stdout  # (the tool call: "")
    assert f"--- injected: {fault.partition(',')[0]}" in rechunked.stderr
    assert "Traceback" not in rechunked.stderr


@pytest.mark.parametrize(
    ("path", "status", "kind"),
    [
        pytest.param(QUICKSTART, 503, None, id="openai-503"),
        pytest.param(CLAUDE, 429, "rate_limit_error", id="anthropic-429"),
    ],
)
def test_an_error_status_shows_the_injected_error_instead_of_the_answer(
    path: Path, status: int, kind: str | None
) -> None:
    result = run("replay", "--instant", "--fault", f"status={status}", path)
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"[error] {kind}: " if kind else "[error] ")
    assert f"HTTP {status} ({http.HTTPStatus(status).phrase})" in line
    assert streamtest.aggregate(only(path)).text[:20] not in result.stdout
    title, injected, end = result.stderr.splitlines()
    assert f" -> {status} (" in title
    assert injected == f"--- injected: status={status}"
    assert end.startswith("--- #0 ")


def test_a_stall_pauses_an_instant_replay_at_its_chunk_for_at_least_its_seconds() -> None:
    interaction, before, seconds = only(QUICKSTART), 12, 0.8
    head, whole = first_text(interaction, before), streamtest.aggregate(interaction).text
    assert head and whole.startswith(head) and head != whole
    args = ["replay", "--instant", "--fault", f"stall={before},seconds={seconds}", QUICKSTART]
    start = time.perf_counter()
    with subprocess.Popen(
        [str(STREAMTEST), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as replay:
        assert replay.stdout is not None and replay.stderr is not None
        out = b""
        while out != head.encode():  # the text before the stalled chunk, then a pause
            data = os.read(replay.stdout.fileno(), 65536)
            assert data and head.encode().startswith(out + data), out + data
            out += data
        # Nothing more for a while: read late as this may be, the pause has not ended.
        ready, _, _ = select.select([replay.stdout], [], [], seconds / 2)
        assert not ready
        out += replay.stdout.read()
        err = replay.stderr.read().decode()
        assert replay.wait(60) == 0
    assert time.perf_counter() - start >= seconds
    assert out.decode() == typed(whole)
    assert f"--- injected: stall={before},seconds={seconds:g}" in err
    took = re.search(r"replayed in ([0-9.]+) s", err)
    assert took is not None and float(took.group(1)) >= seconds


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        pytest.param("cut=x", "'x'", id="not-a-number"),
        pytest.param("stall=2", "seconds=S", id="stall-without-seconds"),
        pytest.param("status=200", "200", id="not-an-error-status"),
        pytest.param("nap=1", "'nap'", id="unknown-kind"),
        pytest.param("cut=1,times=0", "times", id="times-0"),
    ],
)
def test_a_bad_fault_is_a_usage_error_naming_the_forms(spec: str, why: str) -> None:
    result = run("replay", "--fault", spec, QUICKSTART)
    assert (result.returncode, result.stdout) == (2, "")
    (line,) = result.stderr.splitlines()
    assert line.startswith("streamtest replay: argument --fault: ")
    assert f"The fault {spec!r} cannot be read: " in line
    assert why in line.split(" cannot be read: ", 1)[1].split(". Write one of:")[0]
    assert all(form in line for form in FAULT_FORMS)


def test_skip_and_times_pick_the_interactions_across_the_cassette(three: Path) -> None:
    interactions = streamtest.load_cassette(three).interactions
    texts = [streamtest.aggregate(interaction).text for interaction in interactions]
    assert [text.rsplit("[", 1)[1] for text in texts] == [f"{p}]" for p in PROMPTS]
    faults = ("--fault", "cut=2,skip=1,times=1", "--fault", "status=500,skip=2")
    result = run("replay", "--instant", *faults, three)
    assert result.returncode == 0, result.stderr
    # #0 untouched, #1 cut (the first fault's one replay), #2 answered 500 (the second's).
    cut = typed(first_text(interactions[1], 2))
    assert cut and result.stdout.startswith(typed(texts[0]) + cut + "[error] ReadError: ")
    assert result.stdout.count("\n[error] ") == 2
    assert result.stdout.splitlines()[-1].startswith("[error] ")
    assert "HTTP 500" in result.stdout.splitlines()[-1]
    injected = [line for line in result.stderr.splitlines() if "injected" in line]
    assert injected == ["--- injected: cut=2,error=reset", "--- injected: status=500"]
    assert result.stderr.index("--- #1 POST") < result.stderr.index("cut=2")
    assert result.stderr.index("--- #2 POST") < result.stderr.index("status=500")
    # skip counts the replays made: replaying #2 alone, it is the one a skip=0 fault reaches.
    alone = run("replay", "--instant", "--interaction", "2", "--fault", "cut=2,times=1", three)
    assert alone.stdout.startswith(typed(first_text(interactions[2], 2)) + "[error] ReadError")
