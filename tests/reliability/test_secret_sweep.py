"""Secret sweep (issue 9, item 5): fake keys planted in every place a secret can travel never
reach a cassette, a snapshot or the CLI's output.

Each place gets its own key, shaped like a real key of its kind, so a leak names its place:

- request headers: the openai SDK's ``api_key`` (``Authorization: Bearer sk-proj-...``), the
  anthropic SDK's (``x-api-key: sk-ant-api03-...``), and ``default_headers`` carrying
  ``api-key``, ``x-goog-api-key``, ``Cookie``, ``openai-organization``, ``openai-project`` and
  ``Proxy-Authorization``, plus an innocently named header carrying an environment secret;
- query strings: ``default_query`` (``api_key``, ``key``) and a bare httpx2 request's
  ``access_token``, ``token``, ``client_secret``, plus an innocently named parameter carrying an
  environment secret;
- JSON request bodies: the prompt and ``metadata`` fields (key-shaped values and environment
  secrets);
- streamed chunks: the loopback provider echoes the prompt (``Scenario(echo=True)``), so the
  prompt's keys come back inside the SSE stream, cut across socket writes;
- response headers: the loopback provider cannot add response headers, so a small
  ``http.server`` in this file answers with ``Set-Cookie``, ``x-api-key``, ``Authorization``
  and an innocently named header carrying an environment secret, and streams keys cut in two
  across chunks;
- environment variables (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ``MY_SERVICE_API_KEY``,
  ``SOME_TOKEN``, ``DB_SECRET``): values with no key shape, sent in headers, URLs and bodies;
  the SDKs read their keys from the first two;
- object streams (``record_stream``): items holding key-shaped values and environment secrets.

Every route the loopback provider records (OpenAI chat and Responses, Anthropic Messages) is
driven through the real SDK, plus LangChain ``ChatOpenAI`` and bare httpx2. Everything is
recorded twice (with different keys) under the default redaction; then every byte under the
recording folder, every decoded request, chunk and object-stream item, the snapshot renderings
(``to_yaml`` of each aggregate, ``summarize`` of a replayed LangChain stream) and the output of
``streamtest show``, ``show --json``, ``replay --instant``, ``replay --raw`` and ``diff`` are
searched for each key and its distinctive tail. The provider's request log proves the keys were
really sent.
"""

from __future__ import annotations

import http.server
import json
import random
import string
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from langchain_openai import ChatOpenAI

import streamtest
from fixtures.cli import run
from fixtures.provider_server import ProviderServer, Scenario
from streamtest.langchain import summarize
from streamtest.snapshot import to_yaml

ALNUM = string.ascii_letters + string.digits
TAIL = 16
"""Besides the whole key, its last characters are searched for: a partial redaction that kept
the end of a key is still a leak."""

ENV_NAMES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MY_SERVICE_API_KEY", "SOME_TOKEN", "DB_SECRET")


@dataclass
class Keys:
    """Distinct fake keys, one per place (``place -> key``), for one recording round."""

    rng: random.Random
    round: int
    planted: dict[str, str]

    def new(self, place: str, prefix: str, length: int = 40, alphabet: str = ALNUM) -> str:
        key = prefix + "".join(self.rng.choice(alphabet) for _ in range(length))
        assert place not in self.planted
        self.planted[place] = key
        return key


def make_keys(round_: int, monkeypatch: pytest.MonkeyPatch) -> Keys:
    keys = Keys(random.Random(f"secret-sweep-{round_}"), round_, {})
    # environment secrets with no key shape: only the environment rule can catch them
    for name in ENV_NAMES:
        monkeypatch.setenv(name, keys.new(f"env {name}", "", 32))
    return keys


# ---------------------------------------------------------------------------------------------
# A server that answers with secrets in its response headers (ProviderServer cannot).


class _HeaderHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        s = self.server.secrets  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("set-cookie", f"session={s['set-cookie']}; HttpOnly")
        self.send_header("x-api-key", s["x-api-key"])
        self.send_header("authorization", f"Bearer {s['authorization']}")
        self.send_header("x-debug-echo", s["env"])  # an innocent name, an environment secret
        self.send_header("transfer-encoding", "chunked")
        self.send_header("connection", "close")
        self.end_headers()
        event = f'data: {{"echo": "{s["chunk"]} and {s["env"]}"}}\n\n'.encode()
        cut = event.index(s["chunk"].encode()) + len(s["chunk"]) // 2  # the key cut in two
        for piece in (event[:cut], event[cut:]):
            self.wfile.write(b"%x\r\n%b\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def header_server() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HeaderHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    # answers on the plain paths, echoing the prompt; each event cut in halves across writes
    with ProviderServer(Scenario(text="Echo:", echo=True, split="halves")) as running:
        yield running


# ---------------------------------------------------------------------------------------------
# One recording round: every client, every place.


def _prompt(keys: Keys, route: str) -> str:
    sk = keys.new(f"{route} prompt sk-proj", "sk-proj-", 48)
    ant = keys.new(f"{route} prompt sk-ant", "sk-ant-api03-", 60, ALNUM + "-_")
    hf = keys.new(f"{route} prompt hf_", "hf_", 34)
    env = keys.planted["env MY_SERVICE_API_KEY"]
    return f"Please debug: key={sk} fallback {ant} hub {hf} service {env}"


def _headers(keys: Keys, route: str) -> dict[str, str]:
    return {
        "api-key": keys.new(f"{route} header api-key", "", 32, "0123456789abcdef"),
        "x-goog-api-key": keys.new(f"{route} header x-goog-api-key", "AIza", 35, ALNUM + "-_"),
        "Cookie": f"session={keys.new(f'{route} header cookie', 'sess-', 40)}",
        "OpenAI-Organization": keys.new(f"{route} header openai-organization", "org-", 24),
        "OpenAI-Project": keys.new(f"{route} header openai-project", "proj_", 24),
        "Proxy-Authorization": f"Basic {keys.new(f'{route} header proxy-auth', '', 40)}",
        "X-Trace-Context": keys.planted["env SOME_TOKEN"],  # an innocent name
    }


def _query(keys: Keys, route: str, name: str) -> dict[str, str]:
    return {
        name: keys.new(f"{route} query {name}", "", 39, ALNUM),
        "trace": keys.planted["env DB_SECRET"],  # an innocent name, an environment secret
    }


def record_round(
    keys: Keys,
    cassette: Path,
    provider: ProviderServer,
    header_server: http.server.ThreadingHTTPServer,
) -> str:
    """Record every client into ``cassette``; returns the LangChain prompt (to replay it)."""
    url = provider.url
    metadata = {
        "user_token": keys.new("chat metadata gsk_", "gsk_", 52),
        "service": keys.planted["env MY_SERVICE_API_KEY"],
    }
    header_server.secrets = {  # type: ignore[attr-defined]
        "set-cookie": keys.new("response header set-cookie", "", 40),
        "x-api-key": keys.new("response header x-api-key", "sk-ant-api03-", 60),
        "authorization": keys.new("response header authorization", "", 48),
        "chunk": keys.new("response chunk sk-proj", "sk-proj-", 48),
        "env": keys.planted["env SOME_TOKEN"],
    }
    langchain_prompt = _prompt(keys, "langchain")
    with streamtest.use_cassette(cassette, record_mode="all"):
        # OpenAI chat and Responses: the key from OPENAI_API_KEY (Authorization: Bearer ...)
        with openai.OpenAI(
            base_url=f"{url}/v1",
            max_retries=0,
            default_headers=_headers(keys, "openai"),
            default_query=_query(keys, "openai", "api_key"),
        ) as client:
            chat = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": _prompt(keys, "chat")}],
                metadata=metadata,
                store=True,
                stream=True,
            )
            assert "".join(c.choices[0].delta.content or "" for c in chat if c.choices)
            responses = client.responses.create(
                model="gpt-4o-mini",
                input=_prompt(keys, "responses"),
                metadata={"tenant_key": keys.new("responses metadata sk-proj", "sk-proj-", 48)},
                stream=True,
            )
            assert [e for e in responses if e.type == "response.output_text.delta"]
        # OpenAI with an explicit api_key (not from the environment)
        with openai.OpenAI(
            base_url=f"{url}/v1",
            api_key=keys.new("openai api_key argument", "sk-proj-", 64, ALNUM + "-_"),
            max_retries=0,
        ) as client:
            chat = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": _prompt(keys, "chat2")}],
                stream=True,
            )
            assert "".join(c.choices[0].delta.content or "" for c in chat if c.choices)
        # Anthropic Messages: the key from ANTHROPIC_API_KEY (x-api-key), then an explicit one
        for source in ("env", "argument"):
            explicit = (
                {"api_key": keys.new("anthropic api_key argument", "sk-ant-api03-", 80)}
                if source == "argument"
                else {}
            )
            with (
                anthropic.Anthropic(
                    base_url=url,
                    max_retries=0,
                    default_headers=_headers(keys, f"anthropic-{source}"),
                    default_query=_query(keys, f"anthropic-{source}", "key"),
                    **explicit,
                ) as client,
                client.messages.stream(
                    model="claude-sonnet-4-6",
                    max_tokens=64,
                    messages=[{"role": "user", "content": _prompt(keys, f"messages-{source}")}],
                    metadata={"user_id": keys.new(f"messages-{source} metadata", "sk-", 40)},
                ) as stream,
            ):
                assert "".join(stream.text_stream)
        # LangChain ChatOpenAI
        model = ChatOpenAI(
            model="gpt-4o-mini",
            base_url=f"{url}/v1",
            api_key=keys.new("langchain api_key", "sk-proj-", 48),  # type: ignore[arg-type]
            max_retries=0,
        )
        assert "".join(str(chunk.content) for chunk in model.stream(langchain_prompt))
        # bare httpx2: secret query parameters and headers, a body, secret response headers
        with httpx2.Client(timeout=10) as client:
            params = {
                "access_token": keys.new("httpx2 query access_token", "ya29.", 60),
                "token": keys.new("httpx2 query token", "", 40),
                "client_secret": keys.new("httpx2 query client_secret", "GOCSPX-", 28),
                "session": keys.planted["env OPENAI_API_KEY"],  # an innocent name
            }
            body = {
                "model": "gpt-4o-mini",
                "stream": True,
                "messages": [{"role": "user", "content": _prompt(keys, "httpx2")}],
            }
            headers = {"Authorization": f"Bearer {keys.new('httpx2 header bearer', '', 48)}"}
            with client.stream(
                "POST", f"{url}/v1/chat/completions", params=params, json=body, headers=headers
            ) as response:
                response.raise_for_status()
                assert "".join(response.iter_text())
            host, port = header_server.server_address[:2]
            with client.stream("POST", f"http://{host}:{port}/stream", json={}) as response:
                assert response.headers["x-api-key"] == header_server.secrets["x-api-key"]  # type: ignore[attr-defined]
                assert "".join(response.iter_text())
        # an object stream whose items hold secrets
        items = [
            {"text": f"token {keys.new('object item sk-proj', 'sk-proj-', 48)}"},
            {"text": f"service {keys.planted['env MY_SERVICE_API_KEY']}", "n": 1},
            f"plain {keys.new('object item AIza', 'AIza', 35)}",
        ]
        assert list(streamtest.record_stream(iter(items), name="secrets")) == items
    return langchain_prompt


# ---------------------------------------------------------------------------------------------
# Searching for leaks.


def _needles(planted: dict[str, str]) -> dict[str, str]:
    """Each key and its tail, named by place."""
    out: dict[str, str] = {}
    for place, key in planted.items():
        out[place] = key
        out[f"{place} (tail)"] = key[-TAIL:]
    return out


def leaks(where: str, text: str | bytes, planted: dict[str, str]) -> list[str]:
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    return [
        f"{where}: {place} {needle!r}"
        for place, needle in _needles(planted).items()
        if needle.encode() in data
    ]


def _decoded(cassette: Path) -> list[tuple[str, bytes]]:
    """Everything a cassette holds, decoded (base64 bodies and chunks included)."""
    loaded = streamtest.load_cassette(cassette)
    parts: list[tuple[str, bytes]] = []
    for n, interaction in enumerate(loaded.interactions, 1):
        req, resp = interaction.request, interaction.response
        parts.append((f"{cassette.name} #{n} request url", req.url.encode()))
        parts.append((f"{cassette.name} #{n} request headers", repr(req.headers).encode()))
        parts.append((f"{cassette.name} #{n} request body", req.body))
        parts.append((f"{cassette.name} #{n} response headers", repr(resp.headers).encode()))
        chunks = b"".join(c.data for c in resp.chunks)
        parts.append((f"{cassette.name} #{n} response chunks", chunks))
        aggregated = to_yaml(streamtest.aggregate(interaction).to_dict())
        parts.append((f"{cassette.name} #{n} aggregate snapshot", aggregated.encode()))
    for stream in loaded.streams:
        parts.append((f"{cassette.name} stream {stream.name}", repr(stream).encode()))
    return parts


def test_no_planted_secret_reaches_a_cassette_snapshot_or_the_cli(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    provider: ProviderServer,
    header_server: http.server.ThreadingHTTPServer,
) -> None:
    folder = tmp_path / "cassettes"
    planted: dict[str, str] = {}
    found: list[str] = []
    cassettes: list[Path] = []
    for round_ in (1, 2):
        keys = make_keys(round_, monkeypatch)
        cassette = folder / f"round{round_}.jsonl"
        langchain_prompt = record_round(keys, cassette, provider, header_server)
        cassettes.append(cassette)
        # a replayed LangChain stream, summarized as a snapshot would be
        replay_model = ChatOpenAI(
            model="gpt-4o-mini",
            base_url=f"{provider.url}/v1",
            api_key=keys.planted["langchain api_key"],  # type: ignore[arg-type]
            max_retries=0,
        )
        with streamtest.use_cassette(cassette, record_mode="none"):
            replayed = list(replay_model.stream(langchain_prompt))
        assert replayed
        found += leaks("LangChain summarize (replayed)", to_yaml(summarize(replayed)), planted)
        planted.update(keys.planted)

    # the keys really went out: each request-side key is in what the provider received
    received = b"\n".join(
        f"{r.path}\n{r.headers!r}".encode() + b"\n" + r.body for r in provider.requests
    )
    unsent = [
        place
        for place, key in planted.items()
        if not place.startswith(("response ", "object ")) and key.encode() not in received
    ]
    assert not unsent, f"keys that never reached the provider: {unsent}"

    # every byte of every file written
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert {p.name for p in files} >= {c.name for c in cassettes}
    for path in files:
        found += leaks(str(path.relative_to(tmp_path)), path.read_bytes(), planted)
    # what the cassettes decode to, and the snapshot of each aggregate
    for cassette in cassettes:
        loaded = streamtest.load_cassette(cassette)
        assert len(loaded.interactions) == 8
        assert [s.name for s in loaded.streams] == ["secrets"]
        for where, data in _decoded(cassette):
            found += leaks(where, data, planted)
    # the CLI
    a, b = cassettes
    # (the two rounds' cassettes hold the same places, so each replay mode reads one of them;
    # the commands run side by side: each loads the SDKs, ~2 s)
    commands: list[tuple[str | Path, ...]] = [
        ("show", "--full", folder),
        ("show", "--json", folder),
        ("diff", "--timing", a, b),
        ("diff", "--json", a, b),
        ("replay", "--instant", a),
        ("replay", "--raw", "--instant", b),
    ]
    with ThreadPoolExecutor(len(commands)) as pool:
        results = list(pool.map(lambda args: run(*args), commands))
    for args, result in zip(commands, results, strict=True):
        # exit 0 for diff too: the rounds differ only in their keys, all redacted alike
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        name = "streamtest " + " ".join(str(a).replace(str(tmp_path), "") for a in args)
        found += leaks(f"{name} stdout", result.stdout, planted)
        found += leaks(f"{name} stderr", result.stderr, planted)
    assert not found, "planted secrets leaked:\n" + "\n".join(found)


def test_the_sweep_would_see_a_leak(tmp_path: Path) -> None:
    """Control: with redaction off the same search finds the keys, in the file and the CLI."""
    key = "sk-proj-" + "".join(random.Random("control").choice(ALNUM) for _ in range(48))
    cassette = tmp_path / "leaky.jsonl"
    with (
        ProviderServer(Scenario(text="Echo:", echo=True)) as provider,
        streamtest.use_cassette(cassette, record_mode="all", redact=streamtest.Redaction.off()),
        openai.OpenAI(base_url=f"{provider.url}/v1", api_key=key, max_retries=0) as client,
    ):
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": key}], stream=True
        )
        assert key in "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert leaks("file", cassette.read_bytes(), {"key": key})
    assert leaks("replay", run("replay", "--instant", cassette).stdout, {"key": key})
    assert leaks("show", json.dumps(json.loads(run("show", "--json", cassette).stdout)), {"k": key})
