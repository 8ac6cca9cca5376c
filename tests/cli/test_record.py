"""`streamtest record`, run as the installed executable on programs that stream from the loopback
provider: scripts through the real openai SDK or httpx2, a script with a Python child, pytest
with the plugin, a failing and a killed command, and the direct ``--url`` form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import streamtest
from fixtures.provider_server import ProviderServer, Scenario
from streamtest._cli import main
from streamtest._cli._record import BOOTSTRAP

STREAMTEST = Path(sys.executable).parent / "streamtest"
TEXT = "Recorded from the command line, word by word."
SECRET = "sk-live-secret-123"

# A script streaming one chat completion through the real openai SDK (OPENAI_BASE_URL).
OPENAI_SCRIPT = """\
import openai

stream = openai.OpenAI().chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        print(chunk.choices[0].delta.content, end="", flush=True)
print()
"""

# The same stream through httpx2 alone (faster to start than the SDK).
HTTPX2_STREAM = """\
import os, httpx2

def stream(on_chunk=lambda index: None):
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    url = os.environ["OPENAI_BASE_URL"] + "/chat/completions"
    with httpx2.Client() as client, client.stream("POST", url, json=body) as response:
        for index, _ in enumerate(response.iter_raw()):
            on_chunk(index)
"""


@pytest.fixture(scope="module")
def provider() -> Iterator[ProviderServer]:
    with ProviderServer(default=Scenario(text=TEXT, split="event")) as server:
        yield server


@pytest.fixture
def env(provider: ProviderServer) -> dict[str, str]:
    """What the recorded command inherits: no CI, no outer recording, a dummy key."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CI", "PYTHONPATH", "FORCE_COLOR", "NO_COLOR")
        and not k.startswith(("STREAMTEST_", "PYTEST_"))
    }
    return {**clean, "OPENAI_API_KEY": "sk-dummy", "OPENAI_BASE_URL": f"{provider.url}/v1"}


def record(
    *args: str | Path, cwd: Path, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STREAMTEST), "record", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write(path: Path, code: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code))
    return path


def summary(cassette: Path) -> str:
    """The report line the test expects, computed from the cassette itself."""
    loaded = streamtest.load_cassette(cassette)
    chunks = [c for i in loaded.interactions for c in i.response.chunks]
    size = sum(len(c.data) for c in chunks)
    return f"{len(loaded)} interaction(s), {len(chunks)} chunk(s), {size:,} bytes"


def test_records_a_script_streaming_through_the_openai_sdk(
    tmp_path: Path, env: dict[str, str]
) -> None:
    write(tmp_path / "app.py", OPENAI_SCRIPT)

    result = record("--", sys.executable, "app.py", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout == TEXT + "\n"  # the script saw the live stream
    cassette = tmp_path / "cassettes" / "app.jsonl"
    loaded = streamtest.load_cassette(cassette)
    assert len(loaded) == 1
    assert streamtest.aggregate(loaded.interactions[0]).text == TEXT
    assert result.stderr.splitlines() == [
        "streamtest record: saved 1 cassette(s)",
        f"  cassettes/app.jsonl: {summary(cassette)}",
    ]
    assert "sk-dummy" not in cassette.read_text()


def test_a_python_child_records_its_own_cassette(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "stream.py", HTTPX2_STREAM)
    write(tmp_path / "worker.py", "import stream\nstream.stream()\n")
    write(
        tmp_path / "main.py",
        """\
        import subprocess, sys
        import stream
        stream.stream()
        subprocess.run([sys.executable, "worker.py"], check=True)
        subprocess.run([sys.executable, "-c", "print('no request')"], check=True)
        """,
    )

    result = record("--cassette-dir", "out", "--", sys.executable, "main.py", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["main.jsonl", "worker.jsonl"]
    assert result.stderr.splitlines() == [
        "streamtest record: saved 2 cassette(s)",
        f"  out/main.jsonl: {summary(out / 'main.jsonl')}",
        f"  out/worker.jsonl: {summary(out / 'worker.jsonl')}",
    ]
    for name in ("main", "worker"):
        (interaction,) = streamtest.load_cassette(out / f"{name}.jsonl").interactions
        assert streamtest.aggregate(interaction).text == TEXT


def test_processes_of_the_same_script_get_numbered_and_name_goes_first(
    tmp_path: Path, env: dict[str, str]
) -> None:
    write(tmp_path / "stream.py", HTTPX2_STREAM)
    write(
        tmp_path / "job.py",
        """\
        import subprocess, sys
        import stream
        stream.stream()
        if len(sys.argv) == 1:
            for _ in range(2):
                subprocess.run([sys.executable, "job.py", "child"], check=True)
        """,
    )

    result = record("--name", "chat", "--", sys.executable, "job.py", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    names = [line.split(":")[0].strip() for line in result.stderr.splitlines()[1:]]
    assert names == ["cassettes/chat.jsonl", "cassettes/job.jsonl", "cassettes/job-2.jsonl"]


def test_a_failing_command_still_saves_its_cassette(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "stream.py", HTTPX2_STREAM)
    write(tmp_path / "fails.py", "import sys, stream\nstream.stream()\nsys.exit(3)\n")

    result = record("--", sys.executable, "fails.py", cwd=tmp_path, env=env)

    assert result.returncode == 1
    cassette = tmp_path / "cassettes" / "fails.jsonl"
    assert streamtest.aggregate(streamtest.load_cassette(cassette).interactions[0]).text == TEXT
    assert result.stderr.splitlines() == [
        "streamtest record: saved 1 cassette(s)",
        f"  cassettes/fails.jsonl: {summary(cassette)}",
        "streamtest record: the command exited with code 3.",
    ]


def test_nothing_recorded_exits_1_with_a_hint(tmp_path: Path, env: dict[str, str]) -> None:
    result = record("--", sys.executable, "-c", "print('hello')", cwd=tmp_path, env=env)

    assert result.returncode == 1
    assert result.stdout == "hello\n"
    assert result.stderr.splitlines() == [
        "streamtest record: nothing was recorded.",
        "hint: 1 Python process(es) ran, and none sent an HTTP request through httpx or httpx2 "
        "(used by the openai and anthropic SDKs); requests, aiohttp and urllib are not "
        "recorded.",
    ]
    assert not (tmp_path / "cassettes").exists()


def test_a_command_that_is_not_python_gets_its_own_hint(
    tmp_path: Path, env: dict[str, str]
) -> None:
    result = record("--", "true", cwd=tmp_path, env=env)

    assert result.returncode == 1
    assert result.stderr.splitlines()[1].startswith("hint: no Python process started.")


def test_pytest_records_the_plugins_cassettes(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "tests" / "stream.py", HTTPX2_STREAM)
    write(
        tmp_path / "tests" / "test_chat.py",
        """\
        import pytest, stream

        @pytest.mark.streamtest
        def test_chat():
            stream.stream()
        """,
    )
    cassette = tmp_path / "tests" / "cassettes" / "test_chat" / "test_chat.jsonl"

    command = [sys.executable, "-m", "pytest", "-q", "-p", "streamtest._pytest_plugin", "tests"]
    # CI would make the plugin replay only (and fail: no cassette); STREAMTEST_RECORD_MODE wins
    env = {**env, "CI": "true", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # (a faster start)
    result = record("--", *command, cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    (interaction,) = streamtest.load_cassette(cassette).interactions
    assert streamtest.aggregate(interaction).text == TEXT
    # the plugin's cassette is listed, and pytest's own process recorded nothing else
    assert result.stderr.splitlines() == [
        "streamtest record: saved 1 cassette(s)",
        f"  tests/cassettes/test_chat/test_chat.jsonl: {summary(cassette)}",
    ]


def test_the_direct_form_records_one_request_without_its_secret(
    tmp_path: Path, env: dict[str, str], provider: ProviderServer
) -> None:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    (tmp_path / "request.json").write_text(json.dumps(body))
    url = f"{provider.url}/v1/chat/completions"

    result = record(
        "--url", url, "--json", "@request.json", "--header", f"Authorization: Bearer {SECRET}",
        "--cassette", "chat.jsonl", "--show", "text", cwd=tmp_path, env=env,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout == TEXT + "\n"
    cassette = tmp_path / "chat.jsonl"
    (interaction,) = streamtest.load_cassette(cassette).interactions
    assert streamtest.aggregate(interaction).text == TEXT
    assert json.loads(interaction.request.body) == body
    assert SECRET not in cassette.read_text()
    assert ("authorization", "REDACTED") in interaction.request.headers
    assert result.stderr == f"streamtest record: saved chat.jsonl: {summary(cassette)}\n"
    # the raw view shows the body as it came, and record mode "all" replaces the cassette
    raw = record("--url", url, "--json", json.dumps(body), "--cassette", cassette, cwd=tmp_path,
                 env=env)  # fmt: skip
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout.rstrip("\n").encode() == interaction.response.body.rstrip(b"\n")
    assert len(streamtest.load_cassette(cassette)) == 1


def test_the_direct_form_reports_a_connection_error(tmp_path: Path, env: dict[str, str]) -> None:
    with ProviderServer() as stopped:
        url = f"{stopped.url}/v1/chat/completions"
    result = record("--url", url, "--json", "{}", "--cassette", "x.jsonl", cwd=tmp_path, env=env)

    assert result.returncode == 1
    assert result.stderr.startswith("streamtest record: ConnectError: ")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param([], "give the command to record after --", id="no-command"),
        pytest.param(["--url", "http://127.0.0.1:9/x"], "--url needs --cassette", id="no-cassette"),
    ],
)
def test_usage_errors_are_one_line(
    tmp_path: Path, env: dict[str, str], args: list[str], message: str
) -> None:
    result = record(*args, cwd=tmp_path, env=env)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--"], "give the command to record after --", id="empty-command"),
        pytest.param(
            ["--url", "http://x/", "--cassette", "c.jsonl", "--", "python"],
            "either a command after -- or --url",
            id="both",
        ),
        pytest.param(["--json", "{}", "--", "python"], "--json goes with --url", id="json-alone"),
        pytest.param(
            ["--url", "http://x/", "--name", "n", "--cassette", "c.jsonl"],
            "--name is for recording a command",
            id="name-with-url",
        ),
        pytest.param(
            ["--url", "http://x/", "--cassette", "c.jsonl", "--json", "{oops"],
            "--json is not valid JSON",
            id="bad-json",
        ),
        pytest.param(
            ["--url", "http://x/", "--cassette", "c.jsonl", "--header", "no colon"],
            "is not 'Name: value'",
            id="bad-header",
        ),
        pytest.param(
            ["--url", "http://x/", "--cassette", "c.jsonl", "--timeout", "0"],
            "--timeout must be a positive number",
            id="bad-timeout",
        ),
        pytest.param(["--match-on", "nose", "--", "python"], "Unknown matcher 'nose'", id="match"),
        pytest.param(["--name", "../up", "--", "python"], "is not a file name", id="bad-name"),
        pytest.param(["--record-mode", "always", "--", "python"], "invalid choice", id="mode"),
    ],
)
def test_more_usage_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    # (in process: the executable's startup is paid by the test above)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["record", *args])

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert message in err
    assert not list(tmp_path.iterdir())


def test_a_command_that_cannot_run_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    result = record("--", "no-such-command-xyz", cwd=tmp_path, env=env)

    assert result.returncode == 1
    assert result.stderr == (
        "streamtest record: cannot run 'no-such-command-xyz': no such command.\n"
    )


def test_a_process_killed_mid_stream_leaves_no_half_written_cassette(
    tmp_path: Path, env: dict[str, str]
) -> None:
    write(tmp_path / "stream.py", HTTPX2_STREAM)
    write(
        tmp_path / "killed.py",
        """\
        import os, signal, stream

        def on_chunk(index):
            if index == 3:
                os.kill(os.getpid(), signal.SIGKILL)

        stream.stream(on_chunk)
        """,
    )

    result = record("--", sys.executable, "killed.py", cwd=tmp_path, env=env)

    assert result.returncode == 1
    folder = tmp_path / "cassettes"
    leftovers = list(folder.iterdir()) if folder.exists() else []
    assert leftovers == []  # neither a cassette nor a temporary file
    lines = result.stderr.splitlines()
    assert lines[0].startswith("  cassettes/killed.jsonl: not saved: process ")
    assert "killed.py) did not exit normally" in lines[0]
    assert lines[1:] == [
        "streamtest record: nothing was recorded.",
        "streamtest record: the command was killed by SIGKILL.",
    ]


def test_the_bootstrap_runs_the_sitecustomize_it_hides(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "site_dir" / "sitecustomize.py", "import os\nos.environ['HIDDEN'] = 'ran'\n")
    env = {**env, "PYTHONPATH": str(tmp_path / "site_dir")}
    code = f"import os, sys; print(os.environ.get('HIDDEN'), {str(BOOTSTRAP)!r} in sys.path)"

    result = record("--", sys.executable, "-c", code, cwd=tmp_path, env=env)

    assert result.stdout == "ran False\n", result.stderr
    assert "Error in sitecustomize" not in result.stderr


def test_record_mode_once_replays_an_existing_cassette(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "stream.py", HTTPX2_STREAM)
    write(tmp_path / "app.py", "import stream\nstream.stream()\n")
    assert record("--", sys.executable, "app.py", cwd=tmp_path, env=env).returncode == 0
    cassette = tmp_path / "cassettes" / "app.jsonl"
    before = cassette.read_bytes()

    offline = {**env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}  # nothing listens there
    result = record(
        "--record-mode", "once", "--match-on", "method,path,body", "--",
        sys.executable, "app.py", cwd=tmp_path, env=offline,
    )  # fmt: skip

    assert result.returncode == 1  # replayed: nothing new was recorded
    assert result.stderr.splitlines()[1].startswith("hint: in record mode once, requests that")
    assert cassette.read_bytes() == before


def test_a_forked_multiprocessing_worker_saves_its_cassette(
    tmp_path: Path, env: dict[str, str]
) -> None:
    write(tmp_path / "stream.py", HTTPX2_STREAM)
    write(
        tmp_path / "pool.py",
        """\
        import multiprocessing, stream

        if __name__ == "__main__":
            worker = multiprocessing.get_context("fork").Process(target=stream.stream)
            worker.start()
            worker.join()  # it ends with os._exit, which skips atexit
        """,
    )

    result = record("--", sys.executable, "pool.py", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    cassette = tmp_path / "cassettes" / "pool.jsonl"
    assert result.stderr.splitlines()[1:] == [f"  cassettes/pool.jsonl: {summary(cassette)}"]
