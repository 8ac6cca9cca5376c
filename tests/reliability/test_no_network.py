"""No network in replay (issue 9, item 6): under ``record_mode="none"`` no socket connects to
any address, and a request the cassette does not hold is an `UnmatchedRequestError`.

The proof is a guard on CPython's audit events (``sys.addaudithook``), which fire inside the
socket module itself, whatever the caller (``socket.create_connection``, asyncio's
``sock_connect``, anyio, httpx and httpx2 transports alike): while it is on, every
``socket.connect``, ``sendto``/``sendmsg`` and name lookup is recorded and refused. Audit hooks
cannot be removed, so the hook is installed once per process and does nothing while the guard
is off. A control test shows it catching real attempts, through the very transports streamtest
patches.

Each client (the openai SDK sync and async on httpx2 and on a plain ``httpx.Client``, the
anthropic SDK sync and async, bare httpx and httpx2 clients, LangChain ``ChatOpenAI`` and
``ChatAnthropic``) first records a stream from the loopback provider, with the guard off; the
provider is stopped; then, guard on: the same request replays the same stream, a different
request and a missing cassette raise `UnmatchedRequestError` (which the ``use_cassette`` block
raises again at its exit when the client swallowed it), and nothing tries the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI

import streamtest
from fixtures.provider_server import ProviderServer, Scenario

pytest_plugins = ["pytester"]

OPENAI_KEY = "sk-loopback-no-network-0123456789"
ANTHROPIC_KEY = "sk-ant-loopback-no-network-0123456789"
PROMPT, OTHER_PROMPT = "Say hello", "Say something that was never recorded"


class NetworkAttempt(RuntimeError):
    """Raised into the code that tried the network while the guard is on."""


@dataclass
class NetworkGuard:
    """Records and refuses every connection attempt and name lookup while `active`."""

    WATCHED = frozenset(
        {
            "socket.connect",
            "socket.sendto",
            "socket.sendmsg",
            "socket.getaddrinfo",
            "socket.gethostbyname",
            "socket.gethostbyaddr",
        }
    )
    active: bool = False
    attempts: list[str] = field(default_factory=list)

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active or event not in self.WATCHED:
            return
        target = args[1] if event in ("socket.connect", "socket.sendto", "socket.sendmsg") else args
        attempt = f"{event} {target!r}"
        self.attempts.append(attempt)
        raise NetworkAttempt(f"{attempt} while the no-network guard is on")

    @contextlib.contextmanager
    def on(self) -> Iterator[NetworkGuard]:
        self.active = True
        try:
            yield self
        finally:
            self.active = False


_GUARD = NetworkGuard()
_installed: list[bool] = []


@pytest.fixture
def guard() -> Iterator[NetworkGuard]:
    if not _installed:
        sys.addaudithook(_GUARD.hook)  # once per process: audit hooks cannot be removed
        _installed.append(True)
    _GUARD.attempts.clear()
    yield _GUARD
    _GUARD.active = False


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    """The loopback provider, answering on the plain paths (``/v1/chat/completions``) with
    the prompt echoed, so a different prompt is a different stream."""
    with ProviderServer(Scenario(text="Hello from the loopback", echo=True)) as running:
        yield running


# ---------------------------------------------------------------------------------------------
# The clients: each streams one answer to ``prompt`` from the provider at ``url`` and returns
# the text pieces it received.

Run = Callable[[str, str], list[str]]


def _messages(prompt: str) -> list[Any]:
    return [{"role": "user", "content": prompt}]


def openai_sync(url: str, prompt: str, http_client: Any = None) -> list[str]:
    options = {} if http_client is None else {"http_client": http_client}
    with openai.OpenAI(base_url=f"{url}/v1", api_key=OPENAI_KEY, max_retries=0, **options) as c:
        stream = c.chat.completions.create(
            model="gpt-4o-mini", messages=_messages(prompt), stream=True
        )
        return [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]


def openai_async(url: str, prompt: str, http_client: Any = None) -> list[str]:
    async def main() -> list[str]:
        options = {} if http_client is None else {"http_client": http_client()}
        async with openai.AsyncOpenAI(
            base_url=f"{url}/v1", api_key=OPENAI_KEY, max_retries=0, **options
        ) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=_messages(prompt), stream=True
            )
            return [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]

    return asyncio.run(main())


def anthropic_sync(url: str, prompt: str) -> list[str]:
    with (
        anthropic.Anthropic(base_url=url, api_key=ANTHROPIC_KEY, max_retries=0) as client,
        client.messages.stream(
            model="claude-sonnet-4-6", max_tokens=64, messages=_messages(prompt)
        ) as stream,
    ):
        return list(stream.text_stream)


def anthropic_async(url: str, prompt: str) -> list[str]:
    async def main() -> list[str]:
        async with (
            anthropic.AsyncAnthropic(base_url=url, api_key=ANTHROPIC_KEY, max_retries=0) as client,
            client.messages.stream(
                model="claude-sonnet-4-6", max_tokens=64, messages=_messages(prompt)
            ) as stream,
        ):
            return [text async for text in stream.text_stream]

    return asyncio.run(main())


def _body(prompt: str) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "stream": True, "messages": _messages(prompt)}


def bare_sync(module: Any) -> Run:
    def run(url: str, prompt: str) -> list[str]:
        with (
            module.Client(timeout=10) as client,
            client.stream("POST", f"{url}/v1/chat/completions", json=_body(prompt)) as response,
        ):
            response.raise_for_status()
            return list(response.iter_text())

    return run


def bare_async(module: Any) -> Run:
    async def main(url: str, prompt: str) -> list[str]:
        async with (
            module.AsyncClient(timeout=10) as client,
            client.stream("POST", f"{url}/v1/chat/completions", json=_body(prompt)) as response,
        ):
            response.raise_for_status()
            return [text async for text in response.aiter_text()]

    return lambda url, prompt: asyncio.run(main(url, prompt))


def langchain_openai(url: str, prompt: str) -> list[str]:
    model = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=f"{url}/v1",
        api_key=OPENAI_KEY,  # type: ignore[arg-type]
        max_retries=0,
    )
    return [str(chunk.content) for chunk in model.stream(prompt)]


def langchain_anthropic(url: str, prompt: str) -> list[str]:
    async def main() -> list[str]:
        model = ChatAnthropic(  # type: ignore[call-arg]
            model="claude-sonnet-4-6",
            base_url=url,
            api_key=ANTHROPIC_KEY,  # type: ignore[arg-type]
            max_retries=0,
        )
        return [str(chunk.content) async for chunk in model.astream(prompt)]

    return asyncio.run(main())


CLIENTS = [
    pytest.param(openai_sync, id="openai-sync"),
    pytest.param(openai_async, id="openai-async"),
    pytest.param(lambda url, p: openai_sync(url, p, httpx.Client()), id="openai-httpx-client"),
    pytest.param(lambda u, p: openai_async(u, p, httpx.AsyncClient), id="openai-httpx-async"),
    pytest.param(anthropic_sync, id="anthropic-sync"),
    pytest.param(anthropic_async, id="anthropic-async"),
    pytest.param(bare_sync(httpx), id="httpx-client"),
    pytest.param(bare_async(httpx), id="httpx-async-client"),
    pytest.param(bare_sync(httpx2), id="httpx2-client"),
    pytest.param(bare_async(httpx2), id="httpx2-async-client"),
    pytest.param(langchain_openai, id="langchain-chatopenai"),
    pytest.param(langchain_anthropic, id="langchain-chatanthropic-async"),
]


def record(run: Run, provider: ProviderServer, path: Path) -> tuple[str, list[str]]:
    """Record ``run``'s stream into ``path`` with the guard off, then stop the provider."""
    url = provider.url
    with streamtest.use_cassette(path, record_mode="all"):
        live = run(url, PROMPT)
    assert "".join(live), "the recording streamed nothing"
    provider.stop()
    return url, live


def unmatched_in(exc: BaseException | None) -> streamtest.UnmatchedRequestError | None:
    """The `UnmatchedRequestError` that is ``exc`` or that it wraps (SDKs wrap transport
    errors, e.g. openai's ``APIConnectionError``)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, streamtest.UnmatchedRequestError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def run_swallowing(run: Run, url: str, prompt: str) -> BaseException | None:
    """``run``, returning what it raised instead of raising it, as an app that catches every
    error would."""
    try:
        run(url, prompt)
    except Exception as exc:
        return exc
    return None


# ---------------------------------------------------------------------------------------------


def refused(guard: NetworkGuard, action: Callable[[], Any]) -> None:
    """``action`` fails because the guard refused it (whatever the client wrapped it in)."""
    before = len(guard.attempts)
    with pytest.raises(Exception) as info:
        action()
    assert len(guard.attempts) > before, f"{info.value!r} did not come from the guard"


def test_the_guard_catches_real_connection_attempts(
    guard: NetworkGuard, provider: ProviderServer, tmp_path: Path
) -> None:
    """Control: the guard refuses what is reachable when it is off, through the very
    transports streamtest patches."""
    address, url = ("127.0.0.1", provider.port), provider.url
    with socket.create_connection(address, timeout=5):
        pass  # the guard is off: the provider answers
    assert bare_sync(httpx2)(url, PROMPT)

    async def open_connection() -> None:
        await asyncio.open_connection(*address)

    def recording() -> None:
        with streamtest.use_cassette(tmp_path / "rec.jsonl", record_mode="all"):
            bare_sync(httpx2)(url, PROMPT)

    with guard.on():
        refused(guard, lambda: socket.create_connection(address, timeout=5))
        refused(guard, lambda: asyncio.run(open_connection()))
        for module in (httpx, httpx2):
            refused(guard, functools.partial(bare_sync(module), url, PROMPT))
            refused(guard, functools.partial(bare_async(module), url, PROMPT))
        refused(guard, lambda: openai_sync(url, PROMPT))
        refused(guard, lambda: anthropic_async(url, PROMPT))
        refused(guard, recording)  # recording goes to the network
        refused(guard, lambda: socket.getaddrinfo("localhost", 80))
    assert len(guard.attempts) == 10, guard.attempts
    assert sum(str(provider.port) in attempt for attempt in guard.attempts) == 9


@pytest.mark.parametrize("run", CLIENTS)
def test_replay_in_mode_none_opens_no_socket(
    run: Run, guard: NetworkGuard, provider: ProviderServer, tmp_path: Path
) -> None:
    path = tmp_path / "cassette.jsonl"
    url, live = record(run, provider, path)
    with guard.on(), streamtest.use_cassette(path, record_mode="none"):
        replayed = run(url, PROMPT)
    assert replayed == live
    assert guard.attempts == []


@pytest.mark.parametrize("run", CLIENTS)
def test_an_unrecorded_request_is_unmatched_and_opens_no_socket(
    run: Run, guard: NetworkGuard, provider: ProviderServer, tmp_path: Path
) -> None:
    path = tmp_path / "cassette.jsonl"
    url, _ = record(run, provider, path)
    with (
        guard.on(),
        pytest.raises(streamtest.UnmatchedRequestError) as at_exit,
        streamtest.use_cassette(path, record_mode="none"),
    ):
        raised = run_swallowing(run, url, OTHER_PROMPT)
    assert unmatched_in(raised) is not None, f"the client raised {raised!r}"
    assert at_exit.value is unmatched_in(raised)  # the block raised the miss again at its exit
    assert str(path) in str(at_exit.value)
    assert guard.attempts == []


@pytest.mark.parametrize("run", CLIENTS)
def test_a_missing_cassette_in_mode_none_is_unmatched_and_opens_no_socket(
    run: Run, guard: NetworkGuard, tmp_path: Path
) -> None:
    path = tmp_path / "missing.jsonl"
    with (
        guard.on(),
        pytest.raises(streamtest.UnmatchedRequestError) as at_exit,
        streamtest.use_cassette(path, record_mode="none"),
    ):
        raised = run_swallowing(run, "http://127.0.0.1:9", PROMPT)
    assert unmatched_in(raised) is at_exit.value, f"the client raised {raised!r}"
    assert "does not exist" in str(at_exit.value)
    assert not path.exists()
    assert guard.attempts == []


INNER = """
import httpx2


def chat(prompt):
    body = {{"model": "gpt-4o-mini", "stream": True,
             "messages": [{{"role": "user", "content": prompt}}]}}
    with httpx2.Client(timeout=10) as client:
        return client.post("{url}/v1/chat/completions", json=body).text


def test_recorded(cassette):
    assert "Hello" in chat("{prompt}")


def test_never_recorded(cassette):
    chat("{prompt}")
"""


def test_the_pytest_plugin_in_mode_none_opens_no_socket(
    guard: NetworkGuard, provider: ProviderServer, pytester: pytest.Pytester
) -> None:
    """The ``cassette`` fixture with ``--streamtest-record-mode=none``, in process (the guard
    sees this process only): the recorded test replays, a test with no cassette fails with
    `UnmatchedRequestError`, and nothing tries the network."""
    pytester.makepyfile(test_inner=INNER.format(url=provider.url, prompt=PROMPT))
    recorded = pytester.runpytest_inprocess("-p", "no:xdist", "-k", "test_recorded")
    recorded.assert_outcomes(passed=1, deselected=1)
    provider.stop()
    with guard.on():
        result = pytester.runpytest_inprocess("-p", "no:xdist", "--streamtest-record-mode=none")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*UnmatchedRequestError*test_never_recorded.jsonl*"])
    assert guard.attempts == []
