"""Redaction: secrets in headers, query, body, chunks and the environment never reach a cassette,
and everything else keeps its exact bytes."""

from __future__ import annotations

import gzip
import re
from itertools import pairwise
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamtest import Chunk, Redaction, Request, Response
from streamtest._core import streamsearch
from streamtest._core.redaction import KEY_SHAPES, PLACEHOLDER, SECRET_HEADERS, Scrubber

OPENAI_KEY = "sk-proj-" + "Ab3dEf6hIj9lMn2pQr5tUv8x"
ANTHROPIC_KEY = "sk-ant-api03-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4"
GOOGLE_KEY = "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
ENV_SECRETS = {
    "MY_SERVICE_API_KEY": "svc-live-7f3a9c2e4b1d",
    "GITHUB_TOKEN": "ghp_0123456789abcdefABCDEF",
    "APP_SECRET": "correct-horse-battery-staple",
}


@pytest.fixture
def env_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in ENV_SECRETS.items():
        monkeypatch.setenv(name, value)
    return ENV_SECRETS


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Authorization", id="authorization"),
        pytest.param("x-api-key", id="x-api-key"),
        pytest.param("api-key", id="api-key"),
        pytest.param("OpenAI-Organization", id="openai-organization"),
        pytest.param("openai-project", id="openai-project"),
        pytest.param("Cookie", id="cookie"),
        pytest.param("Set-Cookie", id="set-cookie"),
    ],
)
def test_secret_headers_are_redacted_in_requests_and_responses(name: str) -> None:
    scrubber = Redaction().scrubber()
    headers = (("Content-Type", "application/json"), (name, "Bearer s3cr3t"), (name, "again"))

    request = scrubber.request(Request("POST", "https://h.test/", headers, b"{}"))
    response = scrubber.response(Response(200, headers))

    expected = (("Content-Type", "application/json"), (name, PLACEHOLDER), (name, PLACEHOLDER))
    assert request.headers == expected
    assert response.headers == expected
    assert PLACEHOLDER == "REDACTED"


def test_default_secret_headers() -> None:
    assert {
        "authorization",
        "x-api-key",
        "api-key",
        "openai-organization",
        "openai-project",
        "cookie",
        "set-cookie",
    } <= SECRET_HEADERS


def test_key_like_query_parameters_are_redacted_and_others_kept() -> None:
    scrubber = Redaction().scrubber()
    url = "https://h.test/v1beta/models:stream?key=abc&alt=sse&api_key=zzz&q=a%20b&Token=t"

    redacted = urlsplit(scrubber.url(url))

    assert (redacted.scheme, redacted.netloc, redacted.path) == (
        "https",
        "h.test",
        "/v1beta/models:stream",
    )
    assert parse_qsl(redacted.query) == [
        ("key", "REDACTED"),
        ("alt", "sse"),
        ("api_key", "REDACTED"),
        ("q", "a b"),
        ("Token", "REDACTED"),
    ]


def test_a_url_without_secret_parameters_is_kept_exactly() -> None:
    url = "https://h.test/p?q=a%20b&alt=sse"

    assert Redaction().scrubber().url(url) == url


def test_environment_secrets_are_removed_everywhere_in_a_request(
    env_secrets: dict[str, str],
) -> None:
    api_key, token, secret = env_secrets.values()
    request = Request(
        "POST",
        f"https://h.test/repos/{token}/chat?alt=sse",
        (("X-Service", f"Key {api_key}"), ("X-Other", "plain")),
        f'{{"secret":"{secret}","prompt":"hi"}}'.encode(),
    )

    redacted = Redaction().scrubber().request(request)

    assert redacted == Request(
        "POST",
        "https://h.test/repos/REDACTED/chat?alt=sse",
        (("X-Service", "Key REDACTED"), ("X-Other", "plain")),
        b'{"secret":"REDACTED","prompt":"hi"}',
    )


def test_environment_secrets_are_removed_from_response_chunks(env_secrets: dict[str, str]) -> None:
    chunks = (
        Chunk(0.1, f"data: {env_secrets['GITHUB_TOKEN']}\n\n".encode()),
        Chunk(0.2, b"data: [DONE]\n\n"),
    )

    redacted = Redaction().scrubber().response(Response(200, (), chunks))

    assert redacted.chunks == (Chunk(0.1, b"data: REDACTED\n\n"), Chunk(0.2, b"data: [DONE]\n\n"))


def test_a_secret_split_across_chunks_lands_in_the_first(env_secrets: dict[str, str]) -> None:
    secret = env_secrets["APP_SECRET"].encode()
    chunks = (
        Chunk(0.1, b'data: {"a":"' + secret[:9]),
        Chunk(0.2, secret[9:] + b'"}\n\n'),
        Chunk(0.3, b"data: [DONE]\n\n"),
    )

    redacted = Redaction().scrubber().chunks(chunks)

    assert redacted == (
        Chunk(0.1, b'data: {"a":"REDACTED'),
        Chunk(0.2, b'"}\n\n'),
        Chunk(0.3, b"data: [DONE]\n\n"),
    )


def test_a_chunk_wholly_inside_a_secret_becomes_empty_and_stays(
    env_secrets: dict[str, str],
) -> None:
    secret = env_secrets["APP_SECRET"].encode()
    chunks = (
        Chunk(0.1, b"<" + secret[:5]),
        Chunk(0.2, secret[5:12]),
        Chunk(0.3, secret[12:] + b">"),
    )

    redacted = Redaction().scrubber().chunks(chunks)

    assert redacted == (Chunk(0.1, b"<REDACTED"), Chunk(0.2, b""), Chunk(0.3, b">"))


def test_two_secrets_in_one_chunk_and_one_across_a_boundary() -> None:
    scrubber = Redaction.off().adding(values=["first-secret", "second-secret"]).scrubber()
    chunks = (Chunk(0.1, b"first-secret and second-"), Chunk(0.2, b"secret, first-secret."))

    assert scrubber.chunks(chunks) == (
        Chunk(0.1, b"REDACTED and REDACTED"),
        Chunk(0.2, b", REDACTED."),
    )


@pytest.mark.parametrize(
    ("value", "redacted"),
    [
        pytest.param("abc1234", False, id="7-chars-kept"),
        pytest.param("abc12345", True, id="8-chars-redacted"),
    ],
)
def test_short_environment_values_are_left_alone(
    monkeypatch: pytest.MonkeyPatch, value: str, redacted: bool
) -> None:
    monkeypatch.setenv("APP_SECRET", value)
    body = f"id={value}".encode()

    result = Redaction().scrubber().bytes(body)

    assert result == (b"id=REDACTED" if redacted else body)


def test_variables_with_other_names_are_not_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_URL", "https://internal.example.test")
    monkeypatch.setenv("TOKEN_COUNT_LIMIT", "1234567890")
    body = b"https://internal.example.test 1234567890"

    assert Redaction().scrubber().bytes(body) == body


def test_environment_is_read_when_the_scrubber_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = Redaction()
    monkeypatch.setenv("LATE_API_KEY", "late-value-123456")

    assert rules.scrubber().bytes(b"k=late-value-123456") == b"k=REDACTED"


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(OPENAI_KEY, id="openai"),
        pytest.param(ANTHROPIC_KEY, id="anthropic"),
        pytest.param(GOOGLE_KEY, id="google"),
        pytest.param("gsk_" + "a1B2c3D4e5F6g7H8i9J0k1", id="groq"),
        pytest.param("hf_" + "a1B2c3D4e5F6g7H8i9J0k1", id="huggingface"),
    ],
)
def test_provider_key_shapes_are_removed_from_bodies_and_chunks(key: str) -> None:
    scrubber = Redaction().scrubber()
    body = f'{{"api_key":"{key}","n":1}}'.encode()

    request = scrubber.request(Request("POST", "https://h.test/", (), body))
    response = scrubber.response(Response(200, (), (Chunk(0.1, f"echo {key}\n".encode()),)))

    assert request.body == b'{"api_key":"REDACTED","n":1}'
    assert response.chunks == (Chunk(0.1, b"echo REDACTED\n"),)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("task-abcdefghijklmnopqrstuvwx", id="sk-inside-a-word"),
        pytest.param("sk-short", id="sk-too-short"),
        pytest.param("AIzaTooShort", id="aiza-too-short"),
    ],
)
def test_text_that_only_resembles_a_key_is_kept(text: str) -> None:
    assert Redaction().scrubber().bytes(text.encode()) == text.encode()


def test_without_turns_one_default_off() -> None:
    scrubber = Redaction().without(headers=["Cookie"]).scrubber()
    headers = (("cookie", "session=abc"), ("authorization", "Bearer x"))

    assert scrubber.headers(headers) == (("cookie", "session=abc"), ("authorization", "REDACTED"))


def test_without_a_key_shape_keeps_those_keys() -> None:
    scrubber = Redaction().without(key_shapes=["google"]).scrubber()

    assert (
        scrubber.bytes(f"{GOOGLE_KEY} {OPENAI_KEY}".encode()) == f"{GOOGLE_KEY} REDACTED".encode()
    )


def test_without_an_environment_pattern_keeps_those_values(
    env_secrets: dict[str, str],
) -> None:
    scrubber = Redaction().without(env_patterns=["*_TOKEN"]).scrubber()
    token, secret = env_secrets["GITHUB_TOKEN"], env_secrets["APP_SECRET"]

    assert scrubber.text(f"{token} {secret}") == f"{token} REDACTED"


@pytest.mark.parametrize(
    ("option", "names", "message"),
    [
        pytest.param("headers", ["x-custom"], "header redaction for ['x-custom']", id="header"),
        pytest.param(
            "query_params", ["page"], "query parameter redaction for ['page']", id="query"
        ),
        pytest.param(
            "env_patterns",
            ["*_PASSWORD"],
            "environment pattern redaction for ['*_PASSWORD']",
            id="env",
        ),
        pytest.param("key_shapes", ["aws"], "key shape redaction for ['aws']", id="key-shape"),
    ],
)
def test_without_something_not_redacted_is_an_error(
    option: str, names: list[str], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        Redaction().without(**{option: names})

    assert f"Cannot turn off {message}: it is not redacted. Redacted now: [" in str(caught.value)


def test_without_the_same_header_twice_is_an_error() -> None:
    once = Redaction().without(headers=["cookie"])

    with pytest.raises(ValueError, match=r"\['cookie'\]: it is not redacted"):
        once.without(headers=["cookie"])


def test_adding_values_headers_and_query_params() -> None:
    scrubber = (
        Redaction()
        .adding(values=["tenant-42"], headers=["X-Tenant-Key"], query_params=["Session"])
        .scrubber()
    )
    request = Request(
        "POST",
        "https://h.test/t?session=s1&page=2",
        (("x-tenant-key", "abc"), ("x-note", "for tenant-42")),
        b'{"tenant":"tenant-42"}',
    )

    assert scrubber.request(request) == Request(
        "POST",
        "https://h.test/t?session=REDACTED&page=2",
        (("x-tenant-key", "REDACTED"), ("x-note", "for REDACTED")),
        b'{"tenant":"REDACTED"}',
    )


def test_adding_an_empty_value_changes_nothing() -> None:
    # e.g. adding(values=[os.environ.get("MY_KEY", "")]) where MY_KEY is not set
    scrubber = Redaction.off().adding(values=["", "tenant-42"]).scrubber()

    assert scrubber.bytes(b"abc tenant-42") == b"abc REDACTED"
    assert Redaction.off().adding(values=[""]).scrubber().bytes(b"abc") == b"abc"


def test_redaction_off_changes_nothing(env_secrets: dict[str, str]) -> None:
    scrubber = Redaction.off().scrubber()
    request = Request(
        "POST",
        f"https://h.test/p?key=abc&t={env_secrets['GITHUB_TOKEN']}",
        (("Authorization", f"Bearer {OPENAI_KEY}"),),
        f'{{"s":"{env_secrets["APP_SECRET"]}"}}'.encode(),
    )
    response = Response(
        200,
        (("set-cookie", "a=b"), ("content-length", "999")),
        (Chunk(0.1, OPENAI_KEY.encode()),),
    )

    assert scrubber.request(request) == request
    assert scrubber.response(response) == response


@pytest.mark.parametrize(
    "encoding", [pytest.param("gzip", id="gzip"), pytest.param("GZIP", id="upper-case")]
)
def test_compressed_response_chunks_are_not_altered(encoding: str) -> None:
    # compresslevel=0 stores the bytes as they are, so the key is literally in the chunk;
    # replacing it would break the gzip CRC.
    body = gzip.compress(f"data: {OPENAI_KEY}\n\n".encode(), compresslevel=0)
    assert OPENAI_KEY.encode() in body
    chunks = (Chunk(0.1, body[:20]), Chunk(0.2, body[20:]))
    headers = (("Content-Encoding", encoding), ("Content-Length", str(len(body))))

    redacted = Redaction().scrubber().response(Response(200, headers, chunks))

    assert redacted.chunks == chunks
    assert redacted.headers == headers
    assert gzip.decompress(redacted.body) == f"data: {OPENAI_KEY}\n\n".encode()


def test_content_length_follows_a_redaction_that_changes_the_length() -> None:
    body = f"data: {OPENAI_KEY}\n\n".encode()
    response = Response(
        200,
        (("Content-Type", "text/event-stream"), ("Content-Length", str(len(body)))),
        (Chunk(0.1, body[:10]), Chunk(0.2, body[10:])),
        t=0.05,
    )

    redacted = Redaction().scrubber().response(response)

    assert redacted.body == b"data: REDACTED\n\n"
    assert redacted.headers == (
        ("Content-Type", "text/event-stream"),
        ("Content-Length", str(len(b"data: REDACTED\n\n"))),
    )
    assert (redacted.status, redacted.t, [c.t for c in redacted.chunks]) == (200, 0.05, [0.1, 0.2])


def test_a_response_without_secrets_is_unchanged() -> None:
    response = Response(
        200, (("Content-Length", "5"),), (Chunk(0.1, b"he"), Chunk(0.2, b"llo")), closed=True
    )

    assert Redaction().scrubber().response(response) == response


def test_scrubbing_a_response_keeps_everything_it_does_not_redact() -> None:
    response = Response(
        503,
        (("x-api-key", OPENAI_KEY),),
        (Chunk(0.0, b"data: 1\n\n"),),
        closed=True,
        t=0.25,
        timed=False,
    )

    scrubbed = Redaction().scrubber().response(response)

    assert scrubbed.headers == (("x-api-key", PLACEHOLDER),)
    assert (scrubbed.status, scrubbed.chunks, scrubbed.closed, scrubbed.t, scrubbed.timed) == (
        503,
        response.chunks,
        True,
        0.25,
        False,
    )


def _joined_reference(pattern: re.Pattern[bytes], chunks: tuple[Chunk, ...]) -> tuple[Chunk, ...]:
    """`Scrubber.chunks` as it was before it searched chunk by chunk: the whole body joined."""
    joined = b"".join(c.data for c in chunks)
    spans = [m.span() for m in pattern.finditer(joined)]
    if not spans:
        return chunks
    out, index, start = [], 0, 0
    for chunk in chunks:
        end = start + len(chunk.data)
        piece, cursor = bytearray(), start
        while cursor < end:
            while index < len(spans) and spans[index][1] <= cursor:
                index += 1
            if index < len(spans) and spans[index][0] < end:
                span_start, span_end = spans[index]
                if span_start >= cursor:
                    piece += joined[cursor:span_start] + PLACEHOLDER.encode()
                cursor = min(span_end, end)
            else:
                piece += joined[cursor:end]
                cursor = end
        out.append(Chunk(chunk.t, bytes(piece)))
        start = end
    return tuple(out)


SCRUBBERS = [
    Redaction().adding(values=["first-secret", "secret", "svc-live-7f3a"]).scrubber(),
    Redaction().adding(key_shapes=[("word", r"\bfoo\b"), ("after-x", r"(?<=x)ab+")]).scrubber(),
    Redaction.off().adding(key_shapes=[("greedy", r"a.*b")]).scrubber(),  # settled at the end
]


@st.composite
def planted_chunks(draw: st.DrawFn) -> tuple[Chunk, ...]:
    """Random text with secrets, key shapes and near misses planted, cut into random chunks
    (sometimes one byte each, sometimes with empty chunks)."""
    plain = st.sampled_from([b" ", b"\n", b"data: ", b'{"a":"', b"x", b"b", b"\xc3\xa9", b"\xff"])
    planted = st.sampled_from([b"first-secret", b"secret", b"svc-live-7f3a", b"foo", b"xab"])
    prefix = st.sampled_from([b"sk-", b"sk-ant-", b"AIza", b"gsk_", b"hf_", b"ask-", b"_sk-"])
    body = st.text(alphabet="abcXYZ019_-", max_size=50).map(str.encode)
    keys = st.builds(bytes.__add__, prefix, body)
    text = b"".join(draw(st.lists(st.one_of(plain, planted, keys), max_size=20)))
    if draw(st.booleans()):
        cuts = list(range(len(text) + 1))
    else:  # repeated cuts make empty chunks
        cuts = sorted([0, *draw(st.lists(st.integers(0, len(text)), max_size=10)), len(text)])
    return tuple(Chunk(n / 10, text[a:b]) for n, (a, b) in enumerate(pairwise(cuts)))


@settings(
    max_examples=200, deadline=None, derandomize=True, database=None
)  # same examples every run
@given(
    chunks=planted_chunks(),
    scrubber=st.sampled_from(SCRUBBERS),
    window=st.sampled_from([1, 3, 16, 1 << 16]),
)
def test_chunks_are_redacted_as_if_the_body_were_joined(
    chunks: tuple[Chunk, ...], scrubber: Scrubber, window: int
) -> None:
    assert scrubber._pattern is not None
    with mock.patch.object(streamsearch, "_WINDOW", window):
        redacted = scrubber.chunks(chunks)

    assert redacted == _joined_reference(scrubber._pattern, chunks)


def test_a_key_cut_into_single_bytes_lands_in_its_first_chunk() -> None:
    text = b"data: sk-" + b"A" * 40 + b" done"
    chunks = tuple(Chunk(i / 100, text[i : i + 1]) for i in range(len(text)))

    redacted = Redaction.off().adding(key_shapes=KEY_SHAPES[:1]).scrubber().chunks(chunks)

    assert b"".join(c.data for c in redacted) == b"data: REDACTED done"
    assert [c.data for c in redacted[6:50]] == [b"REDACTED"] + [b""] * 42 + [b" "]
    assert [c.t for c in redacted] == [c.t for c in chunks]


LOOKBEHIND_FIRST = (  # the key shapes as first written: the check before the first letter
    r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{16,}",
    r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}",
    r"(?<![A-Za-z0-9])gsk_[A-Za-z0-9]{20,}",
    r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{20,}",
)


@settings(
    max_examples=300, deadline=None, derandomize=True, database=None
)  # same examples every run
@given(
    text=st.lists(
        st.sampled_from(["sk-", "AIza", "gsk_", "hf_", "s", "k", "-", " ", "x", "9", "_", "\n"])
        | st.text(alphabet="aZ09_-", max_size=40),
        max_size=30,
    ).map(lambda parts: "".join(parts).encode())
)
def test_the_key_shapes_match_what_their_lookbehind_first_form_matches(text: bytes) -> None:
    for (_, shape), first_written in zip(KEY_SHAPES, LOOKBEHIND_FIRST, strict=True):
        found = [m.span() for m in re.finditer(shape.encode(), text)]
        assert found == [m.span() for m in re.finditer(first_written.encode(), text)]
    joined = b"|".join(shape.encode() for _, shape in KEY_SHAPES)
    old = b"|".join(shape.encode() for shape in LOOKBEHIND_FIRST)
    assert [m.span() for m in re.finditer(joined, text)] == [
        m.span() for m in re.finditer(old, text)
    ]
