"""use_cassette: record modes, matching order, unmatched requests, secrets, decorator forms."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import httpx2
import pytest

import streamtest
from fixtures.provider_server import ProviderServer, Scenario

BODY = {"model": "m", "messages": [{"role": "user", "content": "Hello"}], "stream": True}


def post(url: str, body: object = BODY, **kwargs: object) -> bytes:
    with httpx2.Client() as client:
        return client.post(url, json=body, **kwargs).content  # type: ignore[arg-type]


@pytest.fixture
def url(server: ProviderServer) -> str:
    return server.base_url(Scenario(text="one two three")) + "/chat/completions"


def test_none_without_a_cassette_fails_and_sends_nothing(
    server: ProviderServer, url: str, tmp_path: Path
) -> None:
    path = tmp_path / "missing.jsonl"
    with (
        pytest.raises(streamtest.UnmatchedRequestError) as info,
        streamtest.use_cassette(path, record_mode="none"),
    ):
        post(url)
    assert server.requests == []
    assert not path.exists()
    message = str(info.value)
    assert str(path) in message and "'none'" in message and "does not exist" in message
    assert isinstance(info.value, AssertionError)


def test_once_records_then_replays_and_refuses_new_requests(
    server: ProviderServer, url: str, tmp_path: Path
) -> None:
    path = tmp_path / "once.jsonl"
    with streamtest.use_cassette(path, record_mode="once") as cassette:
        live = post(url)
    assert len(server.requests) == 1
    assert len(cassette.interactions) == 1
    with streamtest.use_cassette(path, record_mode="once"):
        assert post(url) == live
    with (
        pytest.raises(streamtest.UnmatchedRequestError, match="'once'"),
        streamtest.use_cassette(path, record_mode="once"),
    ):
        post(url, {**BODY, "model": "other"})
    assert len(server.requests) == 1


def test_new_episodes_replays_matches_and_appends_the_rest(
    server: ProviderServer, url: str, tmp_path: Path
) -> None:
    path = tmp_path / "episodes.jsonl"
    with streamtest.use_cassette(path, record_mode="all"):
        post(url)
    with streamtest.use_cassette(path, record_mode="new_episodes"):
        post(url)
        post(url, {**BODY, "model": "second"})
    assert len(server.requests) == 2
    models = [i.request.json()["model"] for i in streamtest.load_cassette(path).interactions]
    assert models == ["m", "second"]


def test_all_records_again_and_overwrites(server: ProviderServer, url: str, tmp_path: Path) -> None:
    path = tmp_path / "all.jsonl"
    with streamtest.use_cassette(path, record_mode="all"):
        post(url, {**BODY, "model": "first"})
    with streamtest.use_cassette(path, record_mode="all"):
        post(url, {**BODY, "model": "again"})
    assert len(server.requests) == 2
    models = [i.request.json()["model"] for i in streamtest.load_cassette(path).interactions]
    assert models == ["again"]


def test_default_mode_is_once_and_none_under_ci(
    server: ProviderServer, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    with (
        pytest.raises(streamtest.UnmatchedRequestError, match="'none'"),
        streamtest.use_cassette(tmp_path / "ci.jsonl"),
    ):
        post(url)
    monkeypatch.delenv("CI")
    with streamtest.use_cassette(tmp_path / "dev.jsonl"):
        post(url)
    assert (tmp_path / "dev.jsonl").exists()


def _two_answers(path: Path, url: str) -> None:
    """A cassette in which the same request was answered twice, differently."""
    request = streamtest.Request("POST", url, (), httpx.Request("POST", url, json=BODY).read())
    interactions = [
        streamtest.Interaction(
            request, streamtest.Response(200, (), (streamtest.Chunk(0.0, answer),))
        )
        for answer in (b"first", b"second")
    ]
    from streamtest._core.fileformat import save

    save(streamtest.Cassette(path, interactions), recorded_with="test")


def test_identical_requests_replay_in_recorded_order(url: str, tmp_path: Path) -> None:
    path = tmp_path / "order.jsonl"
    _two_answers(path, url)
    with (
        pytest.raises(streamtest.UnmatchedRequestError, match="already played"),
        streamtest.use_cassette(path, record_mode="none"),
    ):
        assert [post(url), post(url)] == [b"first", b"second"]
        post(url)
    with streamtest.use_cassette(path, record_mode="none", allow_playback_repeats=True):
        assert [post(url), post(url), post(url)] == [b"first", b"second", b"second"]


def test_unmatched_request_names_the_closest_and_the_fix(
    server: ProviderServer, url: str, tmp_path: Path
) -> None:
    path = tmp_path / "closest.jsonl"
    with streamtest.use_cassette(path, record_mode="all"):
        post(url)
        post(server.url + "/elsewhere", {"x": 1})
    changed = {**BODY, "messages": [{"role": "user", "content": "Hi"}]}
    with (
        pytest.raises(streamtest.UnmatchedRequestError) as info,
        streamtest.use_cassette(path, record_mode="none"),
    ):
        post(url + "?b=2&a=1", changed)
    message = str(info.value)
    assert str(path) in message
    assert "record mode 'none'" in message
    assert "closest recorded request is interaction 0" in message
    assert "body.messages[0].content: live 'Hi' != recorded 'Hello'" in message
    assert "query: live (('a', '1'), ('b', '2')) != recorded ()" in message
    assert 'record_mode="new_episodes"' in message


def test_a_swallowed_miss_still_fails_at_exit(url: str, tmp_path: Path) -> None:
    path = tmp_path / "swallowed.jsonl"
    _two_answers(path, url)

    def code_under_test() -> None:
        with contextlib.suppress(Exception):  # it hides the error...
            post(url, {"other": True})

    with (  # ...but the session reports it when it ends.
        pytest.raises(streamtest.UnmatchedRequestError, match="closest"),
        streamtest.use_cassette(path, record_mode="none"),
    ):
        code_under_test()


def test_custom_match_on_ignores_the_body(url: str, tmp_path: Path) -> None:
    path = tmp_path / "loose.jsonl"
    _two_answers(path, url)
    with streamtest.use_cassette(path, record_mode="none", match_on=["method", "path"]):
        assert post(url, {"anything": 1}) == b"first"

    def same_model(live: streamtest.Request, recorded: streamtest.Request) -> bool:
        return bool(live.json()["model"] == recorded.json()["model"])

    with (
        pytest.raises(streamtest.UnmatchedRequestError, match="custom matcher same_model"),
        streamtest.use_cassette(path, record_mode="none", match_on=["url", same_model]),
    ):
        assert post(url, {**BODY, "stream": False}) == b"first"
        post(url, {**BODY, "model": "zzz"})


SECRET = "s3cr3t-value-from-the-environment"


def test_secrets_never_reach_the_cassette_and_replay_still_matches(
    server: ProviderServer, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SERVICE_API_KEY", SECRET)
    path = tmp_path / "secrets.jsonl"
    key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"
    secret_url = f"{url}?api_key=qparam-secret-123&{SECRET}=1&keep=yes"
    headers = {
        "Authorization": f"Bearer {key}",
        "X-Custom": f"token {SECRET}",
        "Cookie": "session=cookie-secret",
    }
    body = {**BODY, "metadata": {"note": f"use {SECRET} and {key}"}}
    with streamtest.use_cassette(path, record_mode="all"):
        live = post(secret_url, body, headers=headers)
    text = path.read_text()
    for secret in (SECRET, key, "qparam-secret-123", "cookie-secret"):
        assert secret not in text
    assert "keep=yes" in text and "REDACTED" in text
    server.stop()
    with streamtest.use_cassette(path, record_mode="none"):
        assert post(secret_url, body, headers=headers) == live


def test_decorator_sync_and_async(server: ProviderServer, url: str, tmp_path: Path) -> None:
    path = tmp_path / "decorated.jsonl"

    @streamtest.use_cassette(path, record_mode="once")
    def sync() -> bytes:
        return post(url)

    @streamtest.use_cassette(path, record_mode="none")
    async def in_async() -> bytes:
        async with httpx2.AsyncClient() as client:
            return (await client.post(url, json=BODY)).content

    live = sync()
    assert sync() == live
    assert asyncio.run(in_async()) == live
    assert len(server.requests) == 1


def test_an_exception_in_the_body_keeps_what_was_recorded(url: str, tmp_path: Path) -> None:
    path = tmp_path / "crash.jsonl"
    with pytest.raises(RuntimeError), streamtest.use_cassette(path, record_mode="all"):
        post(url)
        raise RuntimeError("the test failed after its request")
    cassette = streamtest.load_cassette(path)
    assert cassette.interactions[0].response.end is streamtest.End.COMPLETED


def test_bad_options_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="record_mode 'sometimes' is not one of"):
        streamtest.use_cassette(tmp_path / "x.jsonl", record_mode="sometimes")
    with pytest.raises(ValueError, match="Unknown matcher 'colour'"):
        streamtest.use_cassette(tmp_path / "x.jsonl", match_on=["colour"])
    with pytest.raises(ValueError, match="timing 'fast' is not one of: instant, realtime"):
        streamtest.use_cassette(tmp_path / "x.jsonl", timing="fast")
    with pytest.raises(ValueError, match="speed must be a positive number"):
        streamtest.use_cassette(tmp_path / "x.jsonl", speed=0)


def test_a_corrupt_cassette_fails_on_entry_naming_its_path(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.jsonl"
    path.write_text('{"streamtest":1}\n{"request": oops\n')
    with pytest.raises(streamtest.CassetteError, match=f"{path}:2"):
        streamtest.use_cassette(path).__enter__()


def test_record_mode_all_records_over_a_corrupt_cassette(
    tmp_path: Path, server: ProviderServer
) -> None:
    # "all" replays nothing, so the old file is never read: a broken cassette can be recorded
    # again (as the CassetteError's own message advises) instead of blocking that very run.
    path = tmp_path / "broken.jsonl"
    path.write_text("this is not a cassette\n")
    with streamtest.use_cassette(path, record_mode="all"), httpx2.Client() as client:
        assert client.get(f"{server.url}/v1/models").status_code in (200, 404)
    assert len(streamtest.load_cassette(path).interactions) == 1
