"""Request matching: canonical JSON bodies and URLs, named and custom matchers, and the
explanation of the closest recorded request."""

from __future__ import annotations

import json

import pytest

from streamtest import Interaction, Request, Response
from streamtest._core.matching import (
    BUILTIN_MATCHERS,
    DEFAULT_MATCH_ON,
    NamedMatcher,
    closest,
    explain,
    failing,
    resolve_matchers,
)

URL = "https://api.openai.com/v1/chat/completions"
DEFAULTS = resolve_matchers(DEFAULT_MATCH_ON)


def post(body: object, url: str = URL, method: str = "POST") -> Request:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Request(method, url, (("content-type", "application/json"),), data)


def chat(content: str, **extra: object) -> dict[str, object]:
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": content}],
        "stream": True,
        **extra,
    }


@pytest.mark.parametrize(
    ("live", "recorded"),
    [
        pytest.param(
            b'{"model":"m","stream":true,"n":1}',
            b'{"n": 1, "stream": true, "model": "m"}',
            id="key-order-and-spacing",
        ),
        pytest.param(b'{"t":1}', b'{"t":1.0}', id="int-and-float-of-equal-value"),
        pytest.param(b"plain text", b"plain text", id="same-non-json-bytes"),
        pytest.param(b"", b"", id="both-empty"),
    ],
)
def test_body_matches_the_same_content(live: bytes, recorded: bytes) -> None:
    assert BUILTIN_MATCHERS["body"](post(live), post(recorded))


@pytest.mark.parametrize(
    ("live", "recorded"),
    [
        pytest.param(b'{"model":"m","n":1}', b'{"model":"m","n":2}', id="different-value"),
        pytest.param(b'{"a":[1,2]}', b'{"a":[2,1]}', id="list-order"),
        pytest.param(b'{"a":1}', b'{"a":1,"b":null}', id="extra-key"),
        pytest.param(b'{"stream":true}', b'{"stream":1}', id="true-is-not-1"),
        pytest.param(b'{"n":[0]}', b'{"n":[false]}', id="false-is-not-0"),
        pytest.param(b"plain text", b"plain  text", id="different-bytes"),
        pytest.param(b'{"a":1}', b"", id="json-and-empty"),
    ],
)
def test_body_tells_different_content_apart(live: bytes, recorded: bytes) -> None:
    assert not BUILTIN_MATCHERS["body"](post(live), post(recorded))


@pytest.mark.parametrize(
    ("live", "recorded"),
    [
        pytest.param("https://h.test/p?a=1&b=2", "https://h.test/p?b=2&a=1", id="query-order"),
        pytest.param("https://h.test:443/p", "https://h.test/p", id="default-https-port"),
        pytest.param("http://h.test:80/p", "http://h.test/p", id="default-http-port"),
        pytest.param("HTTPS://H.Test/p", "https://h.test/p", id="scheme-and-host-case"),
        pytest.param("https://h.test", "https://h.test/", id="empty-path-is-root"),
        pytest.param("https://h.test/p?a=", "https://h.test/p?a", id="blank-values"),
    ],
)
def test_url_matches_equivalent_urls(live: str, recorded: str) -> None:
    assert BUILTIN_MATCHERS["url"](Request("GET", live), Request("GET", recorded))


@pytest.mark.parametrize(
    ("live", "recorded", "failing_parts"),
    [
        pytest.param("https://h.test:8443/p", "https://h.test/p", ["port"], id="other-port"),
        pytest.param("http://h.test/p", "https://h.test/p", ["scheme"], id="scheme"),
        pytest.param("https://h.test/p/", "https://h.test/p", ["path"], id="trailing-slash"),
        pytest.param("https://h.test/p?a=1", "https://h.test/p?a=2", ["query"], id="query"),
        pytest.param("https://h.test/p?a=1&a=2", "https://h.test/p?a=1", ["query"], id="repeated"),
        pytest.param("https://a.test/p", "https://b.test/p", ["host"], id="host"),
    ],
)
def test_url_tells_different_urls_apart_by_part(
    live: str, recorded: str, failing_parts: list[str]
) -> None:
    matchers = resolve_matchers(["url", "scheme", "host", "port", "path", "query"])

    names = failing(Request("GET", live), Request("GET", recorded), matchers)

    assert names == ["url", *failing_parts]


@pytest.mark.parametrize(
    ("live", "recorded", "matches"),
    [
        pytest.param("post", "POST", True, id="lower-and-upper"),
        pytest.param("Get", "GET", True, id="mixed-case"),
        pytest.param("GET", "POST", False, id="different"),
    ],
)
def test_method_ignores_case(live: str, recorded: str, matches: bool) -> None:
    assert BUILTIN_MATCHERS["method"](Request(live, URL), Request(recorded, URL)) is matches


def test_headers_compare_names_without_case_and_order() -> None:
    live = Request("GET", URL, (("X-A", "1"), ("Content-Type", "text/plain")))
    same = Request("GET", URL, (("content-type", "text/plain"), ("x-a", "1")))
    other = Request("GET", URL, (("content-type", "text/plain"), ("x-a", "2")))

    assert BUILTIN_MATCHERS["headers"](live, same)
    assert not BUILTIN_MATCHERS["headers"](live, other)


def test_default_match_on_is_method_url_and_body() -> None:
    assert DEFAULT_MATCH_ON == ("method", "url", "body")
    assert [m.name for m in DEFAULTS] == ["method", "url", "body"]


def test_an_unknown_matcher_name_lists_the_choices() -> None:
    with pytest.raises(ValueError) as caught:
        resolve_matchers(["method", "bodee"])

    assert str(caught.value) == (
        "Unknown matcher 'bodee'; the built-in matchers are: "
        "body, headers, host, method, path, port, query, scheme, url."
    )


def test_a_custom_callable_matcher_is_used_and_named() -> None:
    def same_model(live: Request, recorded: Request) -> bool:
        return bool(live.json()["model"] == recorded.json()["model"])

    matchers = resolve_matchers(["method", same_model])
    live = post(chat("Hello"))

    assert matchers[1] == NamedMatcher("same_model", same_model)
    assert failing(live, post(chat("Something else")), matchers) == []
    assert failing(live, post({**chat("Hello"), "model": "o3"}), matchers) == ["same_model"]
    assert explain(live, post({**chat("Hello"), "model": "o3"}), ["same_model"]) == [
        "the custom matcher same_model returned False"
    ]


def recorded(*requests: Request) -> list[Interaction]:
    return [Interaction(request, Response(200)) for request in requests]


def test_closest_picks_the_interaction_failing_the_fewest_matchers() -> None:
    live = post(chat("Hello"))
    interactions = recorded(
        Request("GET", "https://other.test/"),  # method, url, body
        post(chat("Hi"), url="https://other.test/"),  # url, body
        post(chat("Hi")),  # body
        post(chat("Hey")),  # body, a tie: the earlier one wins
    )

    assert closest(live, interactions, DEFAULTS) == (2, ["body"])


def test_closest_of_nothing_is_none() -> None:
    assert closest(post(chat("Hello")), [], DEFAULTS) is None


def test_closest_reports_a_full_match_with_no_failures() -> None:
    live = post(chat("Hello"))

    assert closest(live, recorded(post(chat("Hi")), post(chat("Hello"))), DEFAULTS) == (1, [])


def test_explain_names_the_body_field_that_differs() -> None:
    live, rec = post(chat("Hello")), post(chat("Hi"))

    lines = explain(live, rec, failing(live, rec, DEFAULTS))

    assert lines == ["body.messages[0].content: live 'Hello' != recorded 'Hi'"]


def test_explain_names_keys_on_one_side_only() -> None:
    live = post(chat("Hello", temperature=0.2))
    rec = post(chat("Hello", tools=[]))

    assert explain(live, rec, ["body"]) == [
        "body.temperature: only in the live request (0.2)",
        "body.tools: only in the recorded request ([])",
    ]


def test_explain_shows_a_changed_bool_that_equals_a_number() -> None:
    live, rec = post(b'{"stream":true}'), post(b'{"stream":1}')

    assert explain(live, rec, ["body"]) == ["body.stream: live True != recorded 1"]


def test_explain_describes_method_and_url_parts() -> None:
    live = Request("get", "https://h.test:8443/v2?b=1")
    rec = Request("POST", "https://h.test/v1?b=1")

    lines = explain(live, rec, failing(live, rec, resolve_matchers(["method", "url", "path"])))

    assert lines == [
        "method: live get != recorded POST",
        "port: live 8443 != recorded None",
        "path: live '/v2' != recorded '/v1'",
    ]


def test_explain_stops_after_the_limit() -> None:
    live = post({f"k{i}": i for i in range(10)})
    rec = post({f"k{i}": -i for i in range(10)})

    lines = explain(live, rec, ["body"], limit=3)

    assert lines == [
        "body.k1: live 1 != recorded -1",
        "body.k2: live 2 != recorded -2",
        "body.k3: live 3 != recorded -3",
        "... and 6 more differences",
    ]


def test_explain_shortens_a_long_value_and_compares_lists_of_other_lengths_whole() -> None:
    messages = [{"role": "user", "content": "x" * 50}, {"role": "assistant", "content": "y" * 50}]
    live, rec = post(chat("Hello", history=messages)), post(chat("Hello", history=messages[:1]))

    [line] = explain(live, rec, ["body"])

    assert line.startswith("body.history: live [{'role': 'user', 'content': 'xxx")
    value = line.split(": live ", 1)[1].split(" != recorded ", 1)[0]
    assert len(value) == 80
    assert value.endswith("...")


def test_explain_shows_only_the_url_part_a_part_matcher_compares() -> None:
    # `streamtest serve` matches on path, not port: a miss must not blame the port.
    live = Request("POST", "http://127.0.0.1:8765/v1/responses")
    rec = Request("POST", "http://127.0.0.1:44921/v1/chat/completions")

    lines = explain(live, rec, failing(live, rec, resolve_matchers(["method", "path"])))

    assert lines == ["path: live '/v1/responses' != recorded '/v1/chat/completions'"]
