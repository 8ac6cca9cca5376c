"""The real response bodies of the vcrpy cassettes in ``cassettes/realworld/vcr``, for tests.

Each cassette file becomes one parameter (id = its MANIFEST ``local_path``) holding every
recorded response: the body as recorded (still gzip when it was), the headers framing needs,
and the request URL (Gemini's JSON-array stream is only recognisable by it).
"""

from __future__ import annotations

import csv
import functools
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.provider_events import load_cassette
from streamtest._core.framing import ContentDecoder, Decoder, Event, Framing, detect_framing

ROOT = Path(__file__).resolve().parents[3] / "cassettes" / "realworld" / "vcr"
FILES = [
    row["local_path"]
    for row in csv.DictReader(
        (ROOT / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines(), delimiter="\t"
    )
]


@dataclass(frozen=True)
class Body:
    """One recorded response body and what is needed to frame it."""

    raw: bytes
    content_type: str | None
    content_encoding: str | None
    url: str

    @functools.cached_property
    def decoded(self) -> bytes:
        content = ContentDecoder(self.content_encoding)
        return content.decode(self.raw) + content.flush()

    @property
    def framing(self) -> Framing:
        return detect_framing(self.content_type, self.decoded[:4096], url=self.url)


@functools.cache
def bodies(local_path: str) -> tuple[Body, ...]:
    path = ROOT / local_path
    data: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    urls = [str(interaction["request"]["uri"]) for interaction in data["interactions"]]
    return tuple(
        Body(
            raw=record.body,
            content_type=dict(record.headers).get("content-type"),
            content_encoding=dict(record.headers).get("content-encoding"),
            url=url,
        )
        for record, url in zip(load_cassette(path), urls, strict=True)
    )


def files_with(*framings: Framing) -> list[Any]:
    """The cassette files holding at least one body with one of ``framings``, as params."""
    return [
        pytest.param(name, id=name)
        for name in FILES
        if any(body.framing in framings for body in bodies(name))
    ]


def feed(decoder: Decoder, pieces: Sequence[bytes]) -> list[Event]:
    """Feed ``pieces`` in order, then flush: every event."""
    events: list[Event] = []
    for piece in pieces:
        events += decoder.decode(piece)
    return events + decoder.flush()


def split_positions(body: bytes, *, seed: int, sample: int = 400) -> list[int]:
    """Every cut position for short bodies; a seeded sample of ``sample`` for long ones."""
    positions = list(range(len(body) + 1))
    if len(body) <= 8_000:  # every position costs O(n^2): sample beyond 8 kB
        return positions
    return sorted(random.Random(seed).sample(positions, sample))


def random_splits(body: bytes, *, seed: int, count: int = 50) -> list[list[bytes]]:
    """``count`` seeded random ways to cut ``body`` into 1 to 20 pieces (empty ones included)."""
    rng = random.Random(seed)
    splits: list[list[bytes]] = []
    for _ in range(count):
        cuts = sorted(rng.randint(0, len(body)) for _ in range(rng.randint(0, 19)))
        bounds = [0, *cuts, len(body)]
        splits.append([body[a:b] for a, b in itertools.pairwise(bounds)])
    return splits
