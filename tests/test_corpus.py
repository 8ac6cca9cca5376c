"""The real-provider corpus: 27 vcrpy cassettes from public repositories (cassettes/realworld),
converted to chunk cassettes, replayed through each provider's real SDK.

For every interaction, the SDK's result over streamtest's replay must equal its result over
vcrpy's replay of the original file (the same chunks or events, the same error).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import streamtest
from fixtures.corpus import MATCH_ON, Entry, drive, manifest, sdk_meaning, vcr_cassette
from streamtest import Interaction

ENTRIES = manifest()
IDS = [entry.local_path for entry in ENTRIES]
# Bedrock's SDK (botocore) sends through urllib3, which streamtest does not patch: its cassettes
# are imported, decoded and aggregated, but no SDK can replay them through streamtest.
BY_HTTPX = [pytest.param(e, id=e.local_path) for e in ENTRIES if "/converse-stream" not in e.url]


def test_the_manifest_names_a_source_and_an_open_licence_for_every_file() -> None:
    assert len(ENTRIES) == 32
    for entry in ENTRIES:
        assert entry.original.is_file(), entry.local_path
        assert entry.converted.is_file(), f"{entry.converted} is missing: see the README there"
        assert entry.license in ("MIT", "Apache-2.0") and "/" in entry.source_repo


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_the_committed_conversion_is_what_import_vcr_produces(entry: Entry, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.jsonl"
    streamtest.import_vcr(entry.original, fresh)

    assert fresh.read_bytes() == entry.converted.read_bytes()


def _replay_all(entry: Entry, *, with_vcrpy: bool) -> list[list[Any]]:
    cassette = streamtest.load_cassette(entry.converted)
    context = (
        vcr_cassette(entry.original)
        if with_vcrpy
        else streamtest.use_cassette(entry.converted, record_mode="none", match_on=MATCH_ON)
    )
    with context:
        return [drive(interaction, entry.asynchronous) for interaction in cassette.interactions]


@pytest.mark.parametrize("entry", BY_HTTPX)
def test_the_sdk_reads_the_same_from_streamtest_as_from_vcrpy(entry: Entry) -> None:
    ours = _replay_all(entry, with_vcrpy=False)
    theirs = _replay_all(entry, with_vcrpy=True)

    assert ours == theirs
    assert len(ours) == len(streamtest.load_cassette(entry.converted).interactions)
    for result in ours:
        assert result, "the SDK produced nothing"
        raised = [item for item in result if isinstance(item, dict) and "raised" in item]
        # Only an error the provider sent inside the stream may surface; never a replay miss.
        assert all(item["raised"] == "APIError" for item in raised), raised


def _aggregate_meaning(interaction: Interaction) -> dict[str, Any]:
    result = streamtest.aggregate(interaction)
    return {
        "text": result.text,
        "tool_calls": [(c.name, c.arguments, c.id) for c in result.tool_calls],
        "finish_reason": result.finish_reason,
        "error": result.error.message if result.error else None,
    }


@pytest.mark.parametrize("entry", BY_HTTPX)
def test_what_the_sdk_reads_from_the_replay_is_what_aggregate_says(entry: Entry) -> None:
    cassette = streamtest.load_cassette(entry.converted)
    with streamtest.use_cassette(entry.converted, record_mode="none", match_on=MATCH_ON):
        for interaction in cassette.interactions:
            read = sdk_meaning(interaction.request.url, drive(interaction, entry.asynchronous))

            assert read == _aggregate_meaning(interaction)
