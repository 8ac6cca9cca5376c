"""`import_vcr`: vcrpy cassettes become chunk cassettes, one chunk per event, bodies unchanged."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

import streamtest
from fixtures.eventstream import bedrock_event
from fixtures.fake_clock import FakeClock
from fixtures.provider_events import load_cassette as load_vcr
from fixtures.provider_events import realworld_dir
from streamtest import CassetteError
from streamtest._core.framing import response_events

ROOT = realworld_dir()
assert ROOT is not None, "cassettes/realworld/vcr is part of the repository"
FILES = [
    row["local_path"]
    for row in csv.DictReader(
        (ROOT / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines(), delimiter="\t"
    )
]
SSE = "text/event-stream; charset=utf-8"


def vcr_file(path: Path, *interactions: dict[str, Any], as_json: bool = False) -> Path:
    data = {"version": 1, "interactions": list(interactions)}
    text = json.dumps(data) if as_json else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def exchange(
    body: Any,
    content_type: str = SSE,
    *,
    status: int = 200,
    uri: str = "https://api.example.test/v1/chat/completions",
    request_headers: dict[str, list[str]] | None = None,
    response_headers: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    return {
        "request": {
            "method": "POST",
            "uri": uri,
            "body": '{"stream": true}',
            "headers": request_headers or {"Content-Type": ["application/json"]},
        },
        "response": {
            "status": {"code": status, "message": "OK"},
            "headers": response_headers or {"Content-Type": [content_type]},
            "body": {"string": body},
        },
    }


@pytest.mark.parametrize("name", FILES)
def test_every_real_cassette_imports_with_identical_bodies_one_chunk_per_event(
    name: str, tmp_path: Path
) -> None:
    assert ROOT is not None
    expected = load_vcr(ROOT / name)
    cassette = streamtest.import_vcr(ROOT / name, tmp_path / "out.jsonl")
    loaded = streamtest.load_cassette(tmp_path / "out.jsonl")

    assert [i.response.status for i in loaded.interactions] == [r.status for r in expected]
    for interaction, original in zip(loaded.interactions, expected, strict=True):
        response = interaction.response
        assert not response.timed
        assert response.body == original.body  # byte-identical, gzip stays gzip
        events = response_events(response, url=interaction.request.url)
        if len(events) > 1:  # a stream: as many chunks as events (comment blocks included)
            assert len(response.chunks) == len(events)
    assert loaded.interactions == cassette.interactions


def test_a_gzip_stream_is_cut_where_each_event_becomes_readable(tmp_path: Path) -> None:
    assert ROOT is not None
    cassette = streamtest.import_vcr(ROOT / "llm-anthropic/test_tools.yaml", tmp_path / "g.jsonl")
    response = cassette.interactions[0].response
    assert response.header("content-encoding") == "gzip"
    assert len(response.chunks) > 5
    text = gzip.decompress(response.body).decode()
    assert text.count("\n\n") == len(response.chunks)


def test_plain_and_streamed_interactions_mix_and_header_case_does_not_matter(
    tmp_path: Path,
) -> None:
    stream = 'data: {"n": 1}\r\n\r\n: keep-alive\r\n\r\ndata: {"n": 2}\r\n\r\ndata: [DONE]\r\n\r\n'
    plain = json.dumps({"id": "x", "choices": []})
    src = vcr_file(
        tmp_path / "mixed.yaml",
        exchange(stream, response_headers={"CONTENT-TYPE": ["text/event-stream"]}),
        exchange(plain, "application/json"),
        exchange("", "application/json", status=204),
    )

    streamed, whole, empty = streamtest.import_vcr(src, tmp_path / "m.jsonl").interactions

    assert [c.data for c in streamed.response.chunks] == [
        b'data: {"n": 1}\r\n\r\n',
        b": keep-alive\r\n\r\n",
        b'data: {"n": 2}\r\n\r\n',
        b"data: [DONE]\r\n\r\n",
    ]
    assert [c.data for c in whole.response.chunks] == [plain.encode()]
    assert (empty.response.status, empty.response.chunks) == (204, ())
    assert streamed.request.body == b'{"stream": true}'


def test_json_cassettes_and_pydantic_ai_parsed_bodies(tmp_path: Path) -> None:
    pydantic_style = {
        "request": {
            "method": "post",
            "uri": "https://api.example.test/v1/chat/completions",
            "headers": {"content-type": ["application/json"]},
            "parsed_body": {"model": "m", "stream": False},
        },
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"content-type": ["application/json"]},
            "parsed_body": {"choices": [{"message": {"content": "hé"}}]},
        },
    }
    src = vcr_file(tmp_path / "p.json", pydantic_style, as_json=True)

    (interaction,) = streamtest.import_vcr(src, tmp_path / "p.jsonl").interactions

    # No Content-Length to go by: what pydantic-ai's serializer hands vcrpy on replay.
    assert (
        interaction.response.body == json.dumps(pydantic_style["response"]["parsed_body"]).encode()
    )
    assert interaction.request.method == "POST"
    assert interaction.request.json() == {"model": "m", "stream": False}


def test_a_parsed_body_gets_back_the_compact_bytes_its_content_length_names(
    tmp_path: Path,
) -> None:
    compact = '{"message":"The provided model identifier is invalid. é"}'
    src = vcr_file(
        tmp_path / "p.yaml",
        {
            "request": {"method": "POST", "uri": "https://x.test/m", "body": None},
            "response": {
                "status": {"code": 400, "message": "Bad Request"},
                "headers": {"content-length": [str(len(compact.encode()))]},
                "parsed_body": json.loads(compact),
            },
        },
    )

    (interaction,) = streamtest.import_vcr(src, tmp_path / "p.jsonl").interactions

    assert interaction.response.body == compact.encode()


def test_a_body_in_an_encoding_it_cannot_undo_stays_whole_and_exact(tmp_path: Path) -> None:
    body = b"\x1b\x17\x00\xf8brotli-ish bytes"
    src = vcr_file(
        tmp_path / "br.yaml",
        exchange(body, response_headers={"content-type": [SSE], "content-encoding": ["br"]}),
    )

    (interaction,) = streamtest.import_vcr(src, tmp_path / "br.jsonl").interactions

    assert [c.data for c in interaction.response.chunks] == [body]


def test_binary_bodies_stay_exact(tmp_path: Path) -> None:
    blob = bytes(range(256)) * 4
    src = vcr_file(tmp_path / "b.yaml", exchange(blob, "application/octet-stream"))

    (interaction,) = streamtest.import_vcr(src, tmp_path / "b.jsonl").interactions

    assert "!!binary" in src.read_text()
    assert interaction.response.body == blob


def test_bedrock_event_stream_frames_become_one_chunk_each(tmp_path: Path) -> None:
    frames = [
        bedrock_event("messageStart", {"role": "assistant"}),
        bedrock_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hé"}}),
        bedrock_event("messageStop", {"stopReason": "end_turn"}),
    ]
    src = vcr_file(
        tmp_path / "bedrock.yaml",
        exchange(
            b"".join(frames),
            "application/vnd.amazon.eventstream",
            uri="https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse-stream",
        ),
    )

    (interaction,) = streamtest.import_vcr(src, tmp_path / "b.jsonl").interactions

    assert "!!binary" in src.read_text()
    assert [c.data for c in interaction.response.chunks] == frames
    events = response_events(interaction.response)
    assert [e.event for e in events] == ["messageStart", "contentBlockDelta", "messageStop"]
    assert events[1].json()["delta"]["text"] == "Hé"


def test_secrets_never_reach_the_imported_cassette(tmp_path: Path) -> None:
    key = "sk-proj-" + "Q" * 40
    src = vcr_file(
        tmp_path / "s.yaml",
        exchange(
            f'data: {{"echo": "{key}"}}\n\n',
            request_headers={"Authorization": [f"Bearer {key}"], "x-api-key": [key]},
        ),
    )

    streamtest.import_vcr(src, tmp_path / "s.jsonl")

    written = (tmp_path / "s.jsonl").read_text()
    assert key not in written and "Bearer" not in written


def test_unknown_timing_replays_instantly_or_at_the_chosen_gap(tmp_path: Path) -> None:
    events = "".join(f'data: {{"n": {n}}}\n\n' for n in range(4))
    src = vcr_file(tmp_path / "t.yaml", exchange(events))
    dest = tmp_path / "t.jsonl"
    streamtest.import_vcr(src, dest)
    url = "https://api.example.test/v1/chat/completions"

    for gap, sleeps in ((0.0, []), (0.05, [0.05] * 4)):
        clock = FakeClock()
        with (
            streamtest.use_cassette(
                dest, record_mode="none", timing="realtime", untimed_gap=gap, clock=clock
            ),
            httpx2.Client() as client,
            client.stream("POST", url, json={"stream": True}) as response,
        ):
            chunks = list(response.iter_raw())
        assert b"".join(chunks) == events.encode() and len(chunks) == 4
        assert clock.sleeps == pytest.approx(sleeps)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        pytest.param("interactions: [oops", ["it is not readable YAML"], id="not-yaml"),
        pytest.param("{", ["it is not readable JSON"], id="not-json"),
        pytest.param("version: 1\n", ["it has no 'interactions' list"], id="no-interactions"),
        pytest.param(
            "interactions:\n- request: {method: GET, uri: 'https://x/'}\n",
            ["interaction 0 cannot be imported", "'request' and a 'response'"],
            id="no-response",
        ),
        pytest.param(
            "interactions:\n- request: {method: GET, uri: 'https://x/'}\n"
            "  response: {status: {code: teapot}, body: {string: ''}}\n",
            ["interaction 0 cannot be imported", "status {'code': 'teapot'} is not a number"],
            id="bad-status",
        ),
        pytest.param(
            "interactions:\n- !!python/object/apply:os.system ['echo pwned']\n",
            ["it is not readable YAML"],
            id="unsafe-yaml-tag",
        ),
    ],
)
def test_a_file_that_is_not_a_vcr_cassette_is_named_with_the_problem(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    src = tmp_path / ("bad.json" if text.startswith("{") else "bad.yaml")
    src.write_text(text, encoding="utf-8")

    with pytest.raises(CassetteError) as caught:
        streamtest.import_vcr(src, tmp_path / "out.jsonl")

    assert str(src) in str(caught.value)
    for fragment in fragments:
        assert fragment in str(caught.value)
    assert not (tmp_path / "out.jsonl").exists()


def test_a_corrupt_gzip_stream_names_the_interaction(tmp_path: Path) -> None:
    good = exchange("data: 1\n\n")
    bad = exchange(
        gzip.compress(b"data: 1\n\n")[:-12] + b"\x00" * 12,
        response_headers={"Content-Type": [SSE], "Content-Encoding": ["gzip"]},
    )
    src = vcr_file(tmp_path / "z.yaml", good, bad)

    with pytest.raises(CassetteError, match=r"interaction 1 cannot be imported"):
        streamtest.import_vcr(src, tmp_path / "z.jsonl")


def test_the_command_converts_a_folder_and_reports_a_bad_file_without_stopping(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    src = tmp_path / "vcr"
    (src / "nested").mkdir(parents=True)
    vcr_file(src / "a.yaml", exchange("data: 1\n\ndata: 2\n\n"))
    vcr_file(src / "nested" / "b.json", exchange("data: 3\n\n"), as_json=True)
    (src / "broken.yml").write_text("interactions: [oops", encoding="utf-8")
    (src / "notes.txt").write_text("not a cassette", encoding="utf-8")
    script = Path(sys.executable).parent / "streamtest"

    result = subprocess.run(
        [str(script), "import-vcr", str(src), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 1
    assert f"{src / 'broken.yml'}" in result.stderr and "not readable YAML" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Converted 2 of 3 file(s)" in result.stdout
    a = streamtest.load_cassette(tmp_path / "out" / "a.jsonl")
    b = streamtest.load_cassette(tmp_path / "out" / "nested" / "b.jsonl")
    assert [c.data for c in a.interactions[0].response.chunks] == [b"data: 1\n\n", b"data: 2\n\n"]
    assert b.interactions[0].response.body == b"data: 3\n\n"
