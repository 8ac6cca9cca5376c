"""A real browser watches the Streamlit chat app answer from a cassette, through `streamtest serve`.

Three processes, all on 127.0.0.1: ``streamtest serve`` replaying ``cassettes/streamlit/chat.jsonl``
at its recorded pace, ``streamlit run fixtures/apps/st_apps/chat.py`` with its OpenAI client
pointed at it, and headless Chromium (Debian's ``chromium``, driven by Playwright; Playwright never
downloads a browser here). The browser types the recorded prompt and must see the answer grow
through intermediate states before the final text. A full-page screenshot is kept in
``artifacts/browser/streamlit-chat.png`` (``$STREAMTEST_ARTIFACTS/browser/`` when set).
"""

from __future__ import annotations

import importlib.util
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

import streamtest
from fixtures.st_record import APP, CASSETTE, PROMPT

ROOT = Path(__file__).resolve().parents[2]
# Read at import: the suite's autouse fixture removes CI from the environment of every test.
IN_CI = bool(os.environ.get("CI"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 60.0
ANSWER_TIMEOUT_MS = 30_000

# The assistant's answer: the markdown of the last chat message that has the assistant avatar.
ANSWER_SELECTOR = (
    '[data-testid="stChatMessage"]:has([data-testid="stChatMessageAvatarAssistant"])'
    ' [data-testid="stMarkdownContainer"]'
)
INPUT_SELECTOR = '[data-testid="stChatInputTextArea"]'
STATUS_SELECTOR = '[data-testid="stStatusWidget"]'

# Records every distinct text of the answer element into window.__states, with the time in
# milliseconds after window.__t0 (set just before the prompt is typed and sent).
WATCH_ANSWER = """(selector) => {
    window.__states = [];
    window.__t0 = performance.now();
    const answer = () => {
        const all = document.querySelectorAll(selector);
        return all.length ? all[all.length - 1].textContent : null;
    };
    const note = () => {
        const text = answer();
        const last = window.__states[window.__states.length - 1];
        if (text !== null && (last === undefined || last.text !== text)) {
            window.__states.push({text: text, t: performance.now() - window.__t0});
        }
    };
    new MutationObserver(note).observe(document.body,
        {childList: true, subtree: true, characterData: true});
    note();
}"""
SHOWS_ANSWER = """([selector, expected]) => {
    const all = document.querySelectorAll(selector);
    if (!all.length) return false;
    return all[all.length - 1].textContent.split(/\\s+/).filter(Boolean).join(" ") === expected;
}"""


def normalize(text: str) -> str:
    """Whitespace-insensitive text: markdown rendering may change spacing."""
    return " ".join(text.split())


def recorded_answer() -> str:
    (interaction,) = streamtest.load_cassette(CASSETTE).interactions
    return normalize(streamtest.aggregate(interaction).text)


@pytest.fixture
def chromium() -> str:
    """Chromium's path; skips (fails in CI, where `.ci/run` installs both) when it or Playwright
    is missing. Requested first, so nothing is started for a test that cannot run."""
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append("Debian's chromium (apt-get install -y chromium)")
    if missing:
        message = "the browser test needs " + " and ".join(missing)
        if IN_CI:
            pytest.fail(
                f"{message}; in CI, .ci/run provides both (chromium by apt-get, playwright "
                "from the dev extra)",
                pytrace=False,
            )
        pytest.skip(message)
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_line(stream: IO[bytes], timeout: float) -> str:
    """The first line a subprocess writes to a pipe, or what it wrote by the timeout."""
    data = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in data and (left := deadline - time.monotonic()) > 0:
        if select.select([stream], [], [], left)[0]:
            piece = os.read(stream.fileno(), 4096)
            if not piece:
                break
            data += piece
    return data.decode(errors="replace").partition("\n")[0]


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a subprocess this module started: SIGTERM, then SIGKILL; close its pipe."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


@dataclass(frozen=True)
class Started:
    """A subprocess this module started: where it answers, and the file its output goes to."""

    url: str
    log: Path


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Started]:
    """``streamtest serve`` on a free port, replaying the chat cassette in real time."""
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamtest._cli", "serve", str(CASSETTE), "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    try:
        assert process.stdout is not None
        line = read_line(process.stdout, START_TIMEOUT)
        found = re.search(r" on (http://127\.0\.0\.1:\d+)$", line.strip())
        if found is None:
            stop(process)
            pytest.fail(
                f"streamtest serve did not announce its URL: first line {line!r}, "
                f"exit code {process.returncode}, stderr:\n{log_path.read_text()}",
                pytrace=False,
            )
        yield Started(found.group(1), log_path)
    finally:
        stop(process)


@pytest.fixture
def app(serve: Started, tmp_path: Path) -> Iterator[Started]:
    """``streamlit run`` of the chat app, its OpenAI client pointed at ``streamtest serve``."""
    port = free_port()
    env = {**os.environ, "OPENAI_BASE_URL": f"{serve.url}/v1", "OPENAI_API_KEY": "sk-test"}
    log_path = tmp_path / "streamlit.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "streamlit", "run", str(APP)),
                *("--server.headless", "true", "--server.address", "127.0.0.1"),
                *("--server.port", str(port), "--browser.gatherUsageStats", "false"),
                *("--server.fileWatcherType", "none"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                pytest.fail(
                    f"streamlit did not answer {url}/_stcore/health within {START_TIMEOUT:.0f} s "
                    f"(exit code {process.returncode}); its output:\n{log_path.read_text()}",
                    pytrace=False,
                )
            time.sleep(0.1)
        yield Started(url, log_path)
    finally:
        stop(process)


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return bool(response.read() == b"ok")
    except OSError:
        return False


def artifacts_dir() -> Path:
    return Path(os.environ.get("STREAMTEST_ARTIFACTS") or ROOT / "artifacts") / "browser"


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot kept as a test artifact (written whole, then renamed)."""
    folder = artifacts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    partial = folder / f".{os.getpid()}-{name}"  # a .png name: Playwright picks the format by it
    page.screenshot(path=str(partial), full_page=True)
    os.replace(partial, path)
    print(f"screenshot: {path}")
    return path


def test_browser_sees_the_answer_grow(chromium: str, serve: Started, app: Started) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    expected = recorded_answer()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.goto(app.url)
            chat_input = page.locator(INPUT_SELECTOR)
            chat_input.wait_for(timeout=START_TIMEOUT * 1000)
            page.evaluate(WATCH_ANSWER, ANSWER_SELECTOR)
            chat_input.fill(PROMPT)
            chat_input.press("Enter")
            try:
                page.wait_for_function(
                    SHOWS_ANSWER, arg=[ANSWER_SELECTOR, expected], timeout=ANSWER_TIMEOUT_MS
                )
            except PlaywrightTimeout:
                shot = screenshot(page, "streamlit-chat-failed.png")
                pytest.fail(
                    f"the final answer did not appear within {ANSWER_TIMEOUT_MS / 1000:.0f} s; "
                    f"states seen: {page.evaluate('window.__states')!r}; screenshot: {shot}\n"
                    f"streamtest serve's log:\n{serve.log.read_text()}\n"
                    f"streamlit's log:\n{app.log.read_text()}",
                    pytrace=False,
                )
            states: list[dict[str, Any]] = page.evaluate("window.__states")
            # The script run ends (its "Running..." / "Stop" status goes) before the screenshot.
            page.locator(STATUS_SELECTOR).wait_for(state="hidden", timeout=10_000)
            final = normalize(page.locator(ANSWER_SELECTOR).last.text_content() or "")
            shot = screenshot(page, "streamlit-chat.png")
        finally:
            browser.close()

    assert final == expected
    texts = [normalize(state["text"]) for state in states]
    assert expected in texts, f"the observer missed the final text: {texts}"
    final_at = texts.index(expected)
    intermediate = [
        state
        for state, text in zip(states[:final_at], texts[:final_at], strict=True)
        if text and expected.startswith(text) and text != expected
    ]
    shown = [(round(state["t"]), normalize(state["text"])[-30:]) for state in states]
    assert len(intermediate) >= 2, f"fewer than two intermediate states: {shown}"
    # The answer only grows: every state before the final one is a prefix of it.
    assert all(expected.startswith(text) for text in texts[:final_at]), shown
    # Served in real time, not as one burst: the final text cannot show before the cassette's
    # last chunk was due (an instant replay shows it within a fraction of a second). The first
    # words may show late (a fresh Streamlit server's first write_stream is slow, and on a
    # loaded CI machine the chunks that arrived meanwhile are drawn at once, 2.9 s after Enter
    # once), so neither their time nor how long the answer kept growing is checked.
    (interaction,) = streamtest.load_cassette(CASSETTE).interactions
    recorded = interaction.response.chunks[-1].t
    span = (intermediate[-1]["t"] - intermediate[0]["t"]) / 1000
    first, final_t = intermediate[0]["t"] / 1000, states[final_at]["t"] / 1000
    assert final_t >= 0.9 * recorded, f"the final text came at {final_t:.2f} s: {shown}"
    print(
        f"{len(intermediate)} intermediate states over {span:.2f} s, the first at {first:.2f} s, "
        f"the final text at {final_t:.2f} s after Enter"
    )

    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 1024
