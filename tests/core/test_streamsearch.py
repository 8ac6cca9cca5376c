"""Searching a stream of pieces: the spans `finditer` finds on the joined stream, from a window."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamtest._core import streamsearch
from streamtest._core.redaction import Redaction
from streamtest._core.streamsearch import StreamSearch, reach

KEY_BYTES = "abcAIZsk019_-"
PATTERNS = [
    pytest.param(rb"first-secret|secret", (12, 0), id="literals"),
    pytest.param(rb"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{16,}", (19, 1), id="unbounded-key-shape"),
    pytest.param(rb"\bfoo\b", (3, 1), id="word-boundaries"),
    pytest.param(rb"(?<=(?<=ab)c)d", (1, 3), id="nested-lookbehind"),
    pytest.param(rb"a|bc{3,}", (4, 0), id="unbounded-last-in-a-branch"),
    pytest.param(rb"(?:sk-[a-z]{2,}){2}", None, id="unbounded-inside-a-repeat"),
    pytest.param(rb"a[bc]+d", None, id="unbounded-not-last"),
    pytest.param(rb"(?=x)y", None, id="lookahead"),
    pytest.param(rb"ab$", None, id="end-anchor"),
    pytest.param(rb"x*", None, id="matches-empty"),
    pytest.param(rb"(a)\1", None, id="backreference"),
]


@pytest.mark.parametrize(("pattern", "expected"), PATTERNS)
def test_reach_of_a_pattern(pattern: bytes, expected: tuple[int, int] | None) -> None:
    assert reach(re.compile(pattern)) == expected


def _spans(pattern: re.Pattern[bytes], pieces: list[bytes], window: int) -> list[tuple[int, int]]:
    with mock.patch.object(streamsearch, "_WINDOW", window):
        search = StreamSearch(pattern, reach(pattern))
    return search.spans(pieces)


@st.composite
def pieces_of_text(draw: st.DrawFn) -> list[bytes]:
    """Text rich in key shapes and near misses, cut anywhere (single bytes, empty pieces)."""
    words = st.sampled_from([b" ", b"\n", b"a", b"b", b"c", b"d", b"x", b"y", b"-", b"sk-", b"foo"])
    runs = st.text(alphabet=KEY_BYTES, max_size=60).map(str.encode)
    text = b"".join(draw(st.lists(st.one_of(words, runs), max_size=25)))
    if draw(st.booleans()):
        return [text[i : i + 1] for i in range(len(text))]
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in pairwise(bounds)]


@settings(
    max_examples=200, deadline=None, derandomize=True, database=None
)  # same examples every run
@given(
    pieces=pieces_of_text(),
    pattern=st.sampled_from([p.values[0] for p in PATTERNS]),
    window=st.sampled_from([1, 2, 5, 16, 1 << 16]),
)
def test_the_spans_are_finditers_on_the_joined_stream(
    pieces: list[bytes], pattern: bytes, window: int
) -> None:
    compiled = re.compile(pattern)
    expected = [m.span() for m in compiled.finditer(b"".join(pieces))]
    assert _spans(compiled, pieces, window) == expected


def test_a_match_longer_than_the_window_is_found_whole() -> None:
    pattern = re.compile(rb"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{16,}")
    body = b"x sk-" + b"k" * 5000 + b" tail sk-short and sk-" + b"z" * 16
    pieces = [body[i : i + 7] for i in range(0, len(body), 7)]

    assert _spans(pattern, pieces, 64) == [(2, 5005), (len(body) - 19, len(body))]


class _Searched:
    """A compiled pattern that notes the length of every text it is asked to search."""

    def __init__(self, pattern: re.Pattern[bytes]) -> None:
        self.pattern, self.lengths = pattern, list[int]()

    def search(self, text: bytes, pos: int) -> re.Match[bytes] | None:
        self.lengths.append(len(text))
        return self.pattern.search(text, pos)

    def finditer(self, text: bytes) -> Iterator[re.Match[bytes]]:
        self.lengths.append(len(text))
        return self.pattern.finditer(text)


def test_the_window_stays_small_on_a_long_stream_without_matches() -> None:
    pattern = Redaction().scrubber()._pattern
    assert pattern is not None
    searched = _Searched(pattern)
    piece = b"data: " + b"token " * 170 + b"\n\n"  # 1 KiB; 1,000 of them
    search = StreamSearch(searched, reach(pattern))  # type: ignore[arg-type]

    spans = search.spans(piece for _ in range(1000))

    assert spans == []
    assert max(searched.lengths) < streamsearch._WINDOW + len(piece) + 64


def test_a_pattern_only_the_whole_stream_settles_is_searched_once_whole() -> None:
    searched = _Searched(re.compile(rb"a.*b"))

    spans = StreamSearch(searched, None).spans([b"xa", b"y", b"bz"])  # type: ignore[arg-type]

    assert (spans, searched.lengths) == ([(1, 4)], [5])
