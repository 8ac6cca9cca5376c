"""Real provider streams (../shared/realworld) served over TCP, recorded, replayed byte-exact.

Covers what real traffic does that the generated streams don't: gzip bodies, CRLF SSE, NDJSON,
JSON-array streams, padded JSON, ping events, in-band errors. Skips when the folder is absent.
"""

from __future__ import annotations

import csv
from pathlib import Path

import httpx2
import pytest

import streamtest
from fixtures.provider_events import load_cassette as load_vcr
from fixtures.provider_server import ProviderServer, Scenario, realworld_dir

ROOT = realworld_dir()
FILES = (
    [
        row["local_path"]
        for row in csv.DictReader(
            (ROOT / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines(), delimiter="\t"
        )
    ]
    if ROOT is not None
    else []
)


@pytest.mark.skipif(ROOT is None, reason="../shared/realworld is not present")
@pytest.mark.parametrize("name", FILES)
def test_real_streams_record_and_replay_byte_exact(
    name: str, server: ProviderServer, tmp_path: Path
) -> None:
    assert ROOT is not None
    expected = load_vcr(ROOT / name)
    url = server.base_url(Scenario(realworld=name, gap=0.001)) + "/any"
    path = tmp_path / "real.jsonl"

    def fetch_all() -> list[tuple[int, list[bytes], bytes]]:
        out = []
        with httpx2.Client() as client:
            for _ in expected:
                with client.stream("POST", url, json={"n": 1}) as response:
                    raw = list(response.iter_raw())
                    out.append((response.status_code, raw, b"".join(raw)))
        return out

    with streamtest.use_cassette(path, record_mode="all", allow_playback_repeats=True):
        live = fetch_all()
    server.stop()
    assert [body for _, _, body in live] == [rec.body for rec in expected]
    with streamtest.use_cassette(path, record_mode="none", allow_playback_repeats=True):
        replayed = fetch_all()
    # Same status, same chunk boundaries, same bytes (gzip stays compressed, as read).
    assert replayed == live


@pytest.mark.skipif(ROOT is None, reason="../shared/realworld is not present")
def test_a_real_gzip_stream_decodes_on_replay(server: ProviderServer, tmp_path: Path) -> None:
    name = "llm-anthropic/test_tools.yaml"
    assert ROOT is not None
    url = server.base_url(Scenario(realworld=name)) + "/v1/messages"
    path = tmp_path / "gzip.jsonl"
    with streamtest.use_cassette(path, record_mode="all"), httpx2.Client() as client:
        live = client.post(url, json={}).text
    recorded = streamtest.load_cassette(path).interactions[0].response
    assert recorded.header("content-encoding") == "gzip"
    assert "event: message_start" in live
    server.stop()
    with streamtest.use_cassette(path, record_mode="none"), httpx2.Client() as client:
        assert client.post(url, json={}).text == live
