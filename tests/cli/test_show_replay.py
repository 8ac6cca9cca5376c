"""`streamtest show` and `streamtest replay`, run as the installed executable on cassettes
recorded from the loopback provider through the real SDKs, and on committed cassettes (vcrpy
imports with unknown timing, Streamlit object streams). Figures are checked against what the
test computes from the cassette itself."""

from __future__ import annotations

import itertools
import json
import re
import signal
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

import streamtest
from fixtures.cli import STREAMTEST, run
from fixtures.provider_server import ProviderServer, Scenario

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "cassettes" / "quickstart-openai-chat.jsonl"
IMPORTED = ROOT / "cassettes/realworld/llm-anthropic/test_async_prompt.jsonl"  # no timing
IMPORTED_CHAT = ROOT / "cassettes/realworld/llm/test_tool_use_basic.jsonl"  # no timing either
LOREM = ROOT / "cassettes/streamlit/lorem.jsonl"  # one object stream
STALLED = ROOT / "cassettes/streamlit/failing_generator.jsonl"  # an object stream that failed
TEXT = "one two three four five six seven eight"
GAP = 0.04
MODEL, CLAUDE = "gpt-4o-mini", "claude-sonnet-4-6"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def one_line_error(result: subprocess.CompletedProcess[Any]) -> str:
    err = result.stderr if isinstance(result.stderr, str) else result.stderr.decode()
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return str(err)


def _chat(client: openai.OpenAI, **options: Any) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True, **options
    )
    with stream:
        for _ in stream:
            pass


def _claude(client: anthropic.Anthropic) -> None:
    messages: Any = [{"role": "user", "content": "Hi"}]
    with client.messages.stream(model=CLAUDE, max_tokens=64, messages=messages) as stream:
        stream.get_final_message()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Cassettes recorded through the real SDKs: a paced chat answer, an Anthropic and a
    Responses answer, tool calls on chat and Anthropic, and a chat stream that breaks. (Only
    `show` of an Anthropic cassette loads the anthropic SDK, in ~2 s: the tests that run
    `show` more than once use the others.)"""
    folder = tmp_path_factory.mktemp("recorded")
    names = ("chat", "claude", "responses", "tool", "claude_tool", "broken")
    paths = {name: folder / f"{name}.jsonl" for name in names}
    with ProviderServer() as server:

        def openai_client(scenario: Scenario) -> openai.OpenAI:
            return openai.OpenAI(base_url=server.base_url(scenario), api_key="x", max_retries=0)

        def anthropic_client(scenario: Scenario) -> anthropic.Anthropic:
            url = server.base_url(scenario, suffix="")
            return anthropic.Anthropic(base_url=url, api_key="x", max_retries=0)

        with (
            streamtest.use_cassette(paths["chat"], record_mode="all"),
            openai_client(Scenario(text=TEXT, gap=GAP)) as client,
        ):
            _chat(client)
        with (
            streamtest.use_cassette(paths["claude"], record_mode="all"),
            anthropic_client(Scenario(text=TEXT)) as claude,
        ):
            _claude(claude)
        with (
            streamtest.use_cassette(paths["responses"], record_mode="all"),
            openai_client(Scenario(text=TEXT)) as client,
            client.responses.create(model=MODEL, input="Hi", stream=True) as events,
        ):
            for _ in events:
                pass
        with (
            streamtest.use_cassette(paths["tool"], record_mode="all"),
            openai_client(Scenario(tool_call=True)) as client,
        ):
            _chat(client)
        with (
            streamtest.use_cassette(paths["claude_tool"], record_mode="all"),
            anthropic_client(Scenario(tool_call=True)) as claude,
        ):
            _claude(claude)
        with (
            streamtest.use_cassette(paths["broken"], record_mode="all"),
            openai_client(Scenario(text=TEXT, gap=0.01, disconnect_after=4)) as client,
            pytest.raises(openai.APIConnectionError),
        ):
            _chat(client)
    yield paths


@pytest.fixture(scope="module")
def shown(recorded: dict[str, Path]) -> dict[str, Any]:
    """`show --json` of the cassettes of these tests, in one run, by file name: not the Anthropic
    ones, whose aggregation loads the anthropic SDK (~2 s: `test_show_json_reads_anthropic`)."""
    names = ("chat", "responses", "tool", "broken")
    result = run("show", "--json", *(recorded[name] for name in names), IMPORTED_CHAT, LOREM)
    assert result.returncode == 0, result.stderr
    return {Path(c["path"]).name: c for c in json.loads(result.stdout)["cassettes"]}


def test_show_json_figures_are_the_cassettes_own(
    recorded: dict[str, Path], shown: dict[str, Any]
) -> None:
    interaction = streamtest.load_cassette(recorded["chat"]).interactions[0]
    response = interaction.response
    offsets = [chunk.t for chunk in response.chunks]
    figures = shown["chat.jsonl"]["interactions"][0]

    assert figures["request"] == {"method": "POST", "url": interaction.request.url}
    assert (figures["status"], figures["api"], figures["end"]) == (200, "openai-chat", "closed")
    assert figures["chunks"] == len(response.chunks) > 5
    assert figures["bytes"] == len(response.body)
    assert figures["time_to_headers"] == response.t
    assert figures["time_to_first_chunk"] == offsets[0]
    assert figures["duration"] == offsets[-1] >= GAP * 5  # paced by the server
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert figures["gaps"]["p50"] == pytest.approx(statistics.median(gaps), abs=1e-6)
    assert figures["gaps"]["max"] == pytest.approx(max(gaps), abs=1e-6)
    assert figures["gaps"]["p50"] <= figures["gaps"]["p90"] <= figures["gaps"]["p99"]
    # The first chunk carries only the role; the first word comes one gap later.
    assert offsets[0] < figures["time_to_first_token"] <= figures["duration"]
    assert figures["aggregate"] == streamtest.aggregate(interaction).to_dict()
    assert figures["aggregate"]["text"] == TEXT
    assert figures["error"] is None


def test_show_json_gives_each_apis_meaning(shown: dict[str, Any]) -> None:
    responses = shown["responses.jsonl"]["interactions"][0]
    assert (responses["api"], responses["aggregate"]["text"]) == ("openai-responses", TEXT)
    (call,) = shown["tool.jsonl"]["interactions"][0]["aggregate"]["tool_calls"]
    assert (call["name"], call["arguments"]) == ("get_weather", {"city": "Paris"})


def test_show_json_reads_anthropic(recorded: dict[str, Path]) -> None:
    result = run("show", "--json", recorded["claude"], recorded["claude_tool"])
    assert result.returncode == 0, result.stderr
    claude, claude_tool = (c["interactions"][0] for c in json.loads(result.stdout)["cassettes"])
    assert (claude["api"], claude["model"], claude["aggregate"]["text"]) == (
        "anthropic-messages",
        CLAUDE,
        TEXT,
    )
    assert claude["aggregate"]["usage"]["output_tokens"] == len(TEXT.split())
    (call,) = claude_tool["aggregate"]["tool_calls"]
    assert (call["name"], call["arguments"]) == ("get_weather", {"city": "Paris"})


def test_show_json_reports_a_broken_stream(shown: dict[str, Any]) -> None:
    broken = shown["broken.jsonl"]["interactions"][0]
    assert broken["end"] == "failed"
    assert broken["error"]["type"] == "RemoteProtocolError"
    assert broken["aggregate"]["error"]["type"] == "RemoteProtocolError"
    assert TEXT.startswith(broken["aggregate"]["text"])


def test_show_json_says_null_for_timing_it_does_not_know(shown: dict[str, Any]) -> None:
    cassette = streamtest.load_cassette(IMPORTED_CHAT)
    figures = shown[IMPORTED_CHAT.name]["interactions"]
    assert len(figures) == len(cassette.interactions) == 2
    for entry, interaction in zip(figures, cassette.interactions, strict=True):
        assert entry["timing"] == "unknown"
        for name in ("time_to_headers", "time_to_first_chunk", "time_to_first_token"):
            assert entry[name] is None
        assert (entry["duration"], entry["gaps"]) == (None, None)
        assert entry["chunks"] == len(interaction.response.chunks)
        assert entry["aggregate"]["text"] == streamtest.aggregate(interaction).text


def test_show_json_covers_object_streams(shown: dict[str, Any]) -> None:
    stream = streamtest.load_cassette(LOREM).streams[0]
    (figures,) = shown[LOREM.name]["streams"]
    assert (figures["name"], figures["items"]) == ("st.write_stream", len(stream.items))
    assert figures["duration"] == stream.items[-1].t
    assert figures["kinds"] == {"text": len(stream.items) - 1, "DataFrame": 1}
    assert figures["text"].lstrip().startswith("Lorem ipsum")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def test_show_prints_the_figures_in_plain_text_off_a_terminal(recorded: dict[str, Path]) -> None:
    result = run("show", recorded["chat"], recorded["tool"], recorded["broken"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert not ANSI.search(out)
    interaction = streamtest.load_cassette(recorded["chat"]).interactions[0]
    response = interaction.response
    assert f"#0 POST {interaction.request.url} -> 200 (openai-chat, model {MODEL})" in out
    assert f"chunks      {len(response.chunks)} ({len(response.body):,} bytes)" in out
    assert f"first chunk {_ms(response.chunks[0].t)}" in out
    assert f"duration {_ms(response.chunks[-1].t)}" in out
    assert "gaps        p50 " in out
    assert TEXT in out
    assert 'tool call   get_weather {"city": "Paris"}' in out
    assert "end         failed (RemoteProtocolError: " in out


def test_show_is_coloured_when_forced() -> None:
    # (An object stream: no SDK to load, so these runs are quick.)
    coloured = run("show", STALLED, FORCE_COLOR="1")
    assert "\x1b[1m" in coloured.stdout  # the cassette's name in bold
    assert "\x1b[31mfailed (TimeoutError: model stalled)" in coloured.stdout  # the failure in red
    assert ANSI.sub("", coloured.stdout) == run("show", STALLED).stdout
    assert not ANSI.search(run("show", STALLED, FORCE_COLOR="1", NO_COLOR="1").stdout)


def test_show_plots_the_timeline_as_png(recorded: dict[str, Path], tmp_path: Path) -> None:
    from PIL import Image

    plot = tmp_path / "timeline.png"
    cassettes = [recorded["chat"], recorded["tool"], recorded["broken"], IMPORTED_CHAT, LOREM]
    result = run("show", "--plot", plot, *cassettes)
    assert result.returncode == 0, result.stderr
    assert f"drew {plot}" in result.stderr
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(plot) as image:
        image.load()  # decodes every pixel
        width, height = image.size
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert width >= 800 and height >= 400  # one row per interaction and stream, 6 of them
    assert colours is None or len(colours) > 10  # drawn, not blank


def test_show_plots_the_timeline_as_svg(tmp_path: Path) -> None:
    plot = tmp_path / "timeline.svg"
    result = run("show", "--plot", plot, LOREM, STALLED)
    assert result.returncode == 0, result.stderr
    root = ElementTree.parse(plot).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "Chunk arrivals: 2 cassettes" in plot.read_text()  # the title, kept as text


def test_show_refuses_a_plot_format_it_cannot_draw(tmp_path: Path) -> None:
    result = run("show", "--plot", tmp_path / "timeline.gif", QUICKSTART)
    assert result.returncode == 2
    assert "timeline.gif" in one_line_error(result)
    assert not (tmp_path / "timeline.gif").exists()


@pytest.mark.parametrize("name", ["chat", "claude", "responses"])
def test_replay_types_the_text_out(recorded: dict[str, Path], name: str) -> None:
    result = run("replay", "--instant", recorded[name])
    assert result.returncode == 0, result.stderr
    assert result.stdout == TEXT + "\n"  # stdout holds only the stream
    assert "--- #0 POST" in result.stderr and "replayed in" in result.stderr


@pytest.mark.parametrize("name", ["tool", "claude_tool"])
def test_replay_shows_tool_calls_as_they_stream(recorded: dict[str, Path], name: str) -> None:
    result = run("replay", "--instant", recorded[name])
    assert result.returncode == 0, result.stderr
    label, arguments = result.stdout.rstrip("\n").split("] ", 1)
    assert label == "[tool get_weather"
    assert json.loads(arguments) == {"city": "Paris"}


def test_replay_shows_a_recorded_error_where_it_happened(recorded: dict[str, Path]) -> None:
    result = run("replay", "--instant", recorded["broken"])
    assert result.returncode == 0, result.stderr
    text, error = result.stdout.splitlines()
    assert TEXT.startswith(text) and text
    assert error.startswith("[error] RemoteProtocolError: ")
    assert "failed (RemoteProtocolError" in result.stderr


def test_replay_raw_writes_the_exact_bytes(recorded: dict[str, Path]) -> None:
    for path in (QUICKSTART, recorded["broken"]):
        result = subprocess.run(
            [str(STREAMTEST), "replay", "--instant", "--raw", str(path)],
            capture_output=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == streamtest.load_cassette(path).interactions[0].response.body


def test_replay_keeps_the_recorded_pace(recorded: dict[str, Path]) -> None:
    duration = streamtest.load_cassette(recorded["chat"]).interactions[0].response.chunks[-1].t
    result = run("replay", "--speed", "4", recorded["chat"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == TEXT + "\n"
    took = float(re.search(r"replayed in ([0-9.]+) s", result.stderr).group(1))  # type: ignore[union-attr]
    assert took >= duration / 4 * 0.9  # a lower bound only: a busy machine may be slower


def test_replay_of_imported_streams_names_each_interaction_and_its_unknown_timing() -> None:
    interactions = streamtest.load_cassette(IMPORTED).interactions
    assert len(interactions) == 2 and not interactions[0].response.timed

    result = run("replay", "--untimed-gap", "0", IMPORTED)

    assert result.returncode == 0, result.stderr
    assert "--- #0 POST" in result.stderr and "--- #1 POST" in result.stderr
    assert result.stderr.count("(recorded: unknown timing)") == 2
    assert result.stdout == "".join(
        streamtest.aggregate(interaction).text + "\n" for interaction in interactions
    )
    only = run("replay", "--instant", "--interaction", "1", IMPORTED)
    assert only.returncode == 0, only.stderr
    assert only.stdout == streamtest.aggregate(interactions[1]).text + "\n"
    assert "--- #0" not in only.stderr
    out_of_range = run("replay", "--interaction", "2", IMPORTED)
    assert out_of_range.returncode == 2
    assert "#0 to #1" in one_line_error(out_of_range)


def test_replay_types_object_streams() -> None:
    result = run("replay", "--instant", LOREM)
    assert result.returncode == 0, result.stderr
    assert result.stdout.lstrip().startswith("Lorem ipsum dolor sit amet")
    assert "[DataFrame] {" in result.stdout
    assert "--- stream #0 st.write_stream" in result.stderr


@pytest.mark.parametrize("command", ["show", "replay"])
def test_a_bad_cassette_is_one_line_naming_its_place(tmp_path: Path, command: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"streamtest": 9}\n')
    result = run(command, bad)
    assert result.returncode == 1
    assert f"{bad}:1" in one_line_error(result)


def test_show_shows_the_good_cassettes_beside_a_bad_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"streamtest": 1}\n{"request": 3}\n')
    result = run("show", bad, LOREM)
    assert result.returncode == 1
    assert f"{bad}:2" in one_line_error(result)
    assert f"{LOREM}: 0 interactions, 1 object stream" in result.stdout


@pytest.mark.parametrize("command", ["show", "replay"])
def test_a_missing_cassette_is_a_usage_error(tmp_path: Path, command: str) -> None:
    result = run(command, tmp_path / "nowhere.jsonl")
    assert result.returncode == 2
    assert "nowhere.jsonl" in one_line_error(result)


@pytest.mark.parametrize("command", ["show", "replay"])
def test_help_has_examples(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert f"examples:\n  streamtest {command} " in result.stdout


def test_show_names_the_extra_to_install_when_matplotlib_is_missing(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['matplotlib'] = None; from streamtest._cli import main; "
        f"sys.exit(main(['show', '--plot', {str(tmp_path / 'x.png')!r}, {str(LOREM)!r}]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert 'pip install "streamtest[plot]"' in one_line_error(result)
    assert "1 object stream" in result.stdout  # the figures are still shown


def test_ctrl_c_stops_a_replay_cleanly() -> None:
    with subprocess.Popen(
        [str(STREAMTEST), "replay", QUICKSTART],  # 1.7 s at its recorded pace
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as replay:
        assert replay.stdout is not None and replay.stderr is not None
        assert replay.stderr.readline().startswith("--- #0 POST")
        typed = replay.stdout.read(7)  # the first word has been typed out
        replay.send_signal(signal.SIGINT)
        # (The rest through the same buffered files: communicate() would skip their buffers.)
        out, err = replay.stdout.read(), replay.stderr.read()
        assert replay.wait(timeout=60) == 0
    assert err.strip() == "--- stopped during #0 (Ctrl-C)"
    answer = streamtest.aggregate(streamtest.load_cassette(QUICKSTART).interactions[0]).text
    assert answer.startswith(typed + out.rstrip("\n"))
    assert len(typed + out) < len(answer) and out.endswith("\n")  # stopped, on a fresh line
