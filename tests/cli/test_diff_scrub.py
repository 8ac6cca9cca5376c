"""`streamtest diff` and `streamtest scrub`, run as the installed executable on cassettes
recorded from the loopback provider through the real openai SDK."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

import streamtest
from fixtures.cli import run
from fixtures.provider_server import ProviderServer, Scenario
from streamtest._core import fileformat
from streamtest._core.model import Cassette, Chunk, Interaction, Request, Response
from streamtest._core.redaction import Redaction
from streamtest._core.scrubbing import scrub_cassette

ANSWER = "Hello there, naïve world! How are you today?"
KEY = "sk-proj-" + "Ab3dEf6hIj9lMn2pQr5tUv8x"
QUERY_KEY = "q1w2e3r4t5y6"
ENV_NAME, ENV_SECRET = "MY_SERVICE_API_KEY", "svc-live-7f3a9c2e4b1d"


def record(
    path: Path,
    scenario: Scenario,
    *,
    prompt: str = "Say hi",
    redact: Redaction | None = None,
    api_key: str = "sk-test",
    query: dict[str, str] | None = None,
) -> Path:
    with (
        ProviderServer(default=scenario) as server,
        streamtest.use_cassette(path, record_mode="all", redact=redact),
        openai.OpenAI(
            base_url=f"{server.url}/v1", api_key=api_key, default_query=query, max_retries=0
        ) as client,
    ):
        stream = client.chat.completions.create(
            model="loopback",
            messages=[{"role": "user", "content": prompt}],
            stream=True,
            stream_options={"include_usage": True},
        )
        for _ in stream:
            pass
    return path


@dataclass(frozen=True)
class Recordings:
    answer: Path
    one_token: Path
    rechunked: Path
    other_prompt: Path
    tool_call: Path


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Recordings:
    folder = tmp_path_factory.mktemp("diff")
    return Recordings(
        answer=record(folder / "answer.jsonl", Scenario(text=ANSWER)),
        one_token=record(folder / "one.jsonl", Scenario(text=ANSWER.replace("naïve", "naive"))),
        rechunked=record(folder / "re.jsonl", Scenario(text=ANSWER, split="halves", gap=0.01)),
        other_prompt=record(folder / "prompt.jsonl", Scenario(text=ANSWER), prompt="Say hello"),
        tool_call=record(folder / "tool.jsonl", Scenario(text=ANSWER, tool_call=True)),
    )


def no_ansi(result: subprocess.CompletedProcess[str]) -> None:
    assert "\x1b[" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------- diff


def test_one_changed_token_is_named_as_a_word_and_as_an_event(recordings: Recordings) -> None:
    result = run("diff", recordings.answer, recordings.one_token)

    assert result.returncode == 1, result.stderr
    no_ansi(result)
    assert "#0 POST /v1/chat/completions" in result.stdout
    assert "text: Hello there, [-naïve-]{+naive+} world! How…" in result.stdout
    # events: 0 is the role chunk, then one word per chunk: Hello, there, naïve
    assert (
        "events: first difference at event #3 (chat.completion.chunk): "
        "choices[0].delta.content: A 'naïve ' != B 'naive '"
    ) in result.stdout
    assert "request" not in result.stdout.replace("requests went to", "")
    assert result.stdout.rstrip().endswith("2 difference(s) in meaning or events.")


def test_chunking_timing_and_host_are_not_differences(recordings: Recordings) -> None:
    a, b = recordings.answer, recordings.rechunked
    assert len(streamtest.load_cassette(b).interactions[0].response.chunks) > len(
        streamtest.load_cassette(a).interactions[0].response.chunks
    )

    result = run("diff", a, b)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no differences in meaning or events (1 interaction(s))" in result.stdout
    assert "hosts are not compared" in result.stdout  # two servers, two ports: a note only
    assert "timing" not in result.stdout

    timed = run("diff", "--timing", a, b)
    assert timed.returncode == 0
    assert "note: #0 timing: 12 chunks, closed, headers " in timed.stdout
    assert "-> 24 chunks, closed, headers " in timed.stdout


def test_a_cassette_has_no_difference_with_itself(recordings: Recordings) -> None:
    result = run("diff", recordings.tool_call, recordings.tool_call)
    assert result.returncode == 0
    assert "no differences in meaning or events (1 interaction(s))" in result.stdout
    assert "note" not in result.stdout


def test_a_different_prompt_is_a_request_difference(recordings: Recordings) -> None:
    result = run("diff", recordings.answer, recordings.other_prompt)

    assert result.returncode == 1
    assert "request: body.messages[0].content: A 'Say hi' != B 'Say hello'" in result.stdout
    assert "text:" not in result.stdout and "events:" not in result.stdout


def test_a_tool_call_instead_of_text_is_reported(recordings: Recordings) -> None:
    result = run("diff", recordings.answer, recordings.tool_call)

    assert result.returncode == 1
    out = result.stdout
    assert "text: [-Hello there, naïve world! How are you today?-]" in out
    assert "finish_reason: A 'stop' != B 'tool_calls'" in out
    assert "tool_calls: A none != B 1 (get_weather)" in out
    assert "usage: completion_tokens: A 8 != B 3" in out
    assert "events: 12 in A, 7 in B (chat.completion.chunk 11 -> 6)" in out
    # the meaning comes before the events, as --help promises
    assert out.index("text:") < out.index("tool_calls:") < out.index("events:")


def test_json_lists_the_token_difference(recordings: Recordings) -> None:
    result = run("diff", "--json", recordings.answer, recordings.one_token)

    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["interactions"] == {"a": 1, "b": 1}
    by_aspect = {d["aspect"]: d for d in report["differences"]}
    assert set(by_aspect) == {"text", "events"}
    assert by_aspect["text"]["changes"] == [{"at": 3, "removed": "naïve", "added": "naive"}]
    assert by_aspect["text"]["a"] == ANSWER
    events = by_aspect["events"]
    assert (events["a_index"], events["a_type"]) == (3, "chat.completion.chunk")
    assert events["paths"] == [{"path": ".choices[0].delta.content", "a": "naïve ", "b": "naive "}]
    assert events["title"] == "POST /v1/chat/completions"


def test_colour_only_when_asked_for_off_a_terminal(recordings: Recordings) -> None:
    result = run("diff", recordings.answer, recordings.one_token, FORCE_COLOR="1")
    assert "\x1b[31m[-naïve-]\x1b[0m\x1b[32m{+naive+}\x1b[0m" in result.stdout


def test_interactions_pair_by_request_and_the_rest_are_only_in_one(
    recordings: Recordings, tmp_path: Path
) -> None:
    (hi,) = streamtest.load_cassette(recordings.answer).interactions
    (hello,) = streamtest.load_cassette(recordings.other_prompt).interactions
    a = Cassette(tmp_path / "a.jsonl", [hi, hello])
    b = Cassette(tmp_path / "b.jsonl", [hello])
    for cassette in (a, b):
        fileformat.save(cassette, recorded_with="test")

    result = run("diff", a.path, b.path)

    assert result.returncode == 1
    assert "A#0 POST /v1/chat/completions\n  only in A: no request in B pairs with it" in (
        result.stdout
    )
    assert "A#1 B#0" not in result.stdout  # paired by request, and equal: not shown
    assert result.stdout.rstrip().endswith("1 difference(s) in meaning or events.")


def test_object_streams_compare_their_items(tmp_path: Path) -> None:
    def cassette(name: str, token: str) -> Path:
        path = tmp_path / name
        with streamtest.use_cassette(path, record_mode="all"):
            items = [{"id": f"run-{name}", "text": "a"}, {"text": token}]
            list(streamtest.record_stream(iter(items), name="graph", key=["q", 1]))
        return path

    result = run("diff", cassette("a.jsonl", "yes"), cassette("b.jsonl", "no"))

    assert result.returncode == 1
    assert "stream #0 'graph'\n  items: first difference at item #1: text: A 'yes' != B 'no'" in (
        result.stdout
    )  # the differing "id" of item 0 is volatile


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("missing.jsonl",), "missing.jsonl: no such file.", id="missing file"),
        pytest.param(("--context", "-1"), "--context must be zero or a positive", id="context"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(
    recordings: Recordings, args: tuple[str, ...], message: str
) -> None:
    result = run("diff", recordings.answer, *args, *(() if len(args) == 1 else ("x.jsonl",)))
    assert result.returncode == 2
    no_ansi(result)
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_corrupt_cassette_is_one_line_naming_path_and_line(
    recordings: Recordings, tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.jsonl"
    lines = recordings.answer.read_bytes().splitlines(keepends=True)
    corrupt.write_bytes(b"".join(lines[:3]) + b'{"t": 0.1, "text": \n')

    result = run("diff", recordings.answer, corrupt)

    assert result.returncode == 1
    no_ansi(result)
    assert f"{corrupt}:4" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_diff_help_has_examples() -> None:
    result = run("diff", "--help")
    assert result.returncode == 0
    assert "examples:\n  streamtest diff before.jsonl after.jsonl" in result.stdout


# --------------------------------------------------------------------------------------- scrub


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A cassette recorded with redaction off: the key in the Authorization header, a key in
    the query, an environment variable's value in the body, the key inside a streamed chunk,
    and the key in an object stream item."""
    path = record(
        tmp_path / "cassettes" / "planted.jsonl",
        Scenario(text=f"Your key is {KEY} ok bye", split="halves"),
        prompt=f"my key is {ENV_SECRET}",
        redact=Redaction.off(),
        api_key=KEY,
        query={"api_key": QUERY_KEY},
    )
    with streamtest.use_cassette(path, record_mode="new_episodes", redact=Redaction.off()):
        list(streamtest.record_stream(iter([{"text": "a"}, {"token": KEY}]), name="graph"))
    data = path.read_bytes()
    assert data.count(KEY.encode()) == 3 and QUERY_KEY.encode() in data
    assert ENV_SECRET.encode() in data
    return path


PLACES = (
    "request #0 url query api_key",
    "request #0 header authorization",
    f"request #0 body (${ENV_NAME})",
    "stream 'graph' item 1 (sk-…)",
)


def test_check_lists_each_place_without_the_secret_and_changes_nothing(planted: Path) -> None:
    before = planted.read_bytes()

    result = run("scrub", "--check", planted, **{ENV_NAME: ENV_SECRET})

    assert result.returncode == 1
    no_ansi(result)
    out = result.stdout
    assert f"{planted}: 5 secret(s) found — " in out
    for place in PLACES:
        assert place in out
    assert "response #0 chunk " in out and "(sk-…)" in out
    for secret in (KEY, QUERY_KEY, ENV_SECRET):
        assert secret not in out + result.stderr
    assert "5 secret(s) in 1 of 1 cassette(s); `streamtest scrub` removes them." in out
    assert planted.read_bytes() == before


def test_scrub_removes_every_secret_once_and_keeps_the_meaning(planted: Path) -> None:
    text = streamtest.aggregate(streamtest.load_cassette(planted).interactions[0]).text

    result = run("scrub", planted, **{ENV_NAME: ENV_SECRET})

    assert result.returncode == 0, result.stderr
    no_ansi(result)
    assert f"{planted}: 5 secret(s) removed — " in result.stdout
    assert "Removed 5 secret(s) from 1 of 1 cassette(s)." in result.stdout
    data = planted.read_bytes()
    for secret in (KEY, QUERY_KEY, ENV_SECRET):
        assert secret.encode() not in data
    assert data.splitlines()[0] == b'{"streamtest":1,"recorded_with":"streamtest 0.1.0"}'
    cassette = streamtest.load_cassette(planted)
    assert streamtest.aggregate(cassette.interactions[0]).text == text.replace(KEY, "REDACTED")
    assert cassette.streams[0].items[1].value == {"token": "REDACTED"}
    assert list(planted.parent.iterdir()) == [planted]  # no temporary file left behind

    again = run("scrub", planted, **{ENV_NAME: ENV_SECRET})
    assert again.returncode == 0
    assert again.stdout == "No secrets found in 1 cassette(s).\n"
    assert planted.read_bytes() == data
    assert run("scrub", "--check", planted, **{ENV_NAME: ENV_SECRET}).returncode == 0


def test_dry_run_reports_and_writes_nothing(planted: Path) -> None:
    before = planted.read_bytes()
    result = run("scrub", "--dry-run", planted)
    assert result.returncode == 0
    assert "4 secret(s) would be removed" in result.stdout  # (the environment variable unset)
    assert "nothing was written" in result.stdout
    assert planted.read_bytes() == before


def test_a_folder_means_every_cassette_under_it(planted: Path, recordings: Recordings) -> None:
    folder = planted.parent
    (folder / "nested").mkdir()
    clean = shutil.copy(recordings.answer, folder / "nested" / "clean.jsonl")
    clean_bytes = Path(clean).read_bytes()

    result = run("scrub", folder.parent)

    assert result.returncode == 0
    assert "Removed 4 secret(s) from 1 of 2 cassette(s)." in result.stdout
    assert Path(clean).read_bytes() == clean_bytes
    assert KEY.encode() not in planted.read_bytes()


def test_extra_rules_from_the_command_line(tmp_path: Path, recordings: Recordings) -> None:
    path = Path(shutil.copy(recordings.answer, tmp_path / "c.jsonl"))
    cassette = streamtest.load_cassette(path)
    (interaction,) = cassette.interactions
    request = interaction.request
    headers = (*request.headers, ("X-Internal-Auth", "let-me-in"))
    body = request.body.replace(b"Say hi", b"token acme_0123456789abcdef")
    cassette.interactions = [
        Interaction(Request("POST", request.url, headers, body), interaction.response)
    ]
    fileformat.save(cassette, recorded_with="test")

    assert run("scrub", "--check", path).returncode == 0
    result = run(
        "scrub", "--check", path, "--header", "x-internal-auth", "--pattern", "acme_[0-9a-f]{16}"
    )
    assert result.returncode == 1
    assert "request #0 header x-internal-auth, request #0 body (acm…)" in result.stdout

    bad = run("scrub", path, "--pattern", "(")
    assert bad.returncode == 2 and "--pattern '(' is not a usable regular expression" in bad.stderr


def test_scrub_usage_errors_and_bad_cassettes(planted: Path, tmp_path: Path) -> None:
    missing = run("scrub", tmp_path / "nope")
    assert missing.returncode == 2
    assert missing.stderr == f"streamtest scrub: {tmp_path / 'nope'}: no such file or folder.\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("scrub", empty).returncode == 2
    assert run("scrub", "--check", "--dry-run", planted).returncode == 2

    broken = planted.parent / "broken.jsonl"
    broken.write_text('{"streamtest":1}\n{"t": 1}\n')
    result = run("scrub", planted.parent)
    assert result.returncode == 1
    no_ansi(result)
    assert f"{broken}:2" in result.stderr
    assert "Removed 4 secret(s) from 1 of 2 cassette(s)." in result.stdout  # the others still are


def test_a_key_split_across_chunks_is_one_secret_in_the_chunk_where_it_begins() -> None:
    body = f'data: {{"text": "{KEY}"}}\n\n'.encode()
    cut = body.index(KEY.encode()) + 5
    response = Response(
        200,
        (("content-length", str(len(body))),),
        (Chunk(0.1, body[:cut]), Chunk(0.2, body[cut:])),
    )
    cassette = Cassette("c.jsonl", [Interaction(Request("POST", "https://h.test/v1"), response)])

    scrubbed, findings = scrub_cassette(
        cassette, Redaction().scrubber(), scrub_item=lambda value: value
    )

    assert [str(finding) for finding in findings] == ["response #0 chunk 0 (sk-…)"]
    new = scrubbed.interactions[0].response
    assert new.body == body.replace(KEY.encode(), b"REDACTED")
    assert new.header("content-length") == str(len(new.body))
    assert [c.t for c in new.chunks] == [0.1, 0.2]
    assert scrub_cassette(scrubbed, Redaction().scrubber(), scrub_item=lambda v: v) == (
        scrubbed,
        [],
    )


def test_scrub_help_has_examples() -> None:
    result = run("scrub", "--help")
    assert result.returncode == 0
    assert "streamtest scrub --check tests/cassettes" in result.stdout
