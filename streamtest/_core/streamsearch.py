"""A regular expression's matches in a stream of byte pieces, found without joining them.

`StreamSearch` gives exactly the spans ``pattern.finditer`` gives on the joined stream, while
holding only a window of it (the last ``_WINDOW`` bytes fed, plus the text a match may still
need). `re` has no partial matching, so a search of the window cannot say whether a match was
cut short by the window's end. `reach` answers that once per pattern, from `re`'s own parse of
it: the bytes after a position that decide whether a match begins there (``ahead``), and how far
before it lookbehinds and ``\\b`` look (``behind``). Positions more than ``ahead`` bytes before
the window's end are settled: a match found there begins exactly there, in the joined stream too.

Its end is settled as well, unless it reaches the window's end: only a greedy repeat of single
bytes with no upper bound, such as the ``[A-Za-z0-9_-]{16,}`` of a key shape, can grow with more
data, and `reach` accepts one only as the last thing the pattern matches. Such a match is kept
in the window (which then grows by doubling, so a long one costs linear time) until a byte ends
it. A pattern with anything else that could look past the window (``$``, lookahead, a repeat
without bound elsewhere, a backreference) is settled on the whole stream at the end: exact, only
not lighter.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from typing import Any

Span = tuple[int, int]

_WINDOW = 1 << 16  # bytes gathered between searches: one search (and one join) per 64 KiB fed
_ONE_BYTE = frozenset({"LITERAL", "NOT_LITERAL", "IN", "ANY"})
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})
_BOUNDARIES = frozenset({"AT_BOUNDARY", "AT_NON_BOUNDARY"})


class _Unsupported(Exception):
    """The pattern holds something the window reasoning does not cover."""


def reach(pattern: re.Pattern[bytes]) -> tuple[int, int] | None:
    """``(ahead, behind)`` for ``pattern`` (see the module's docstring), or None when only the
    whole stream settles its matches."""
    try:
        parser: Any = importlib.import_module("re._parser")
        tree = parser.parse(pattern.pattern, pattern.flags)
        if tree.getwidth()[0] == 0:  # it can match empty: finditer's rules for those differ
            return None
        behind = [0]
        ahead = _ahead(tree.data, parser.MAXREPEAT, last=True, behind=behind)
    except Exception:  # `re._parser` is private: anything unexpected from it means "unknown"
        return None
    return ahead, behind[0]


def _ahead(items: list[Any], unbounded: int, *, last: bool, behind: list[int]) -> int:
    """The most bytes ``items`` inspect from where they start (a repeat without upper bound,
    allowed only ``last``, counts with its minimum); raises `_Unsupported`. Raises
    ``behind[0]`` to how far before their start they look."""
    total = 0
    for index, (op, av) in enumerate(items):
        name, tail = op.name, last and index == len(items) - 1
        if name in _ONE_BYTE:
            total += 1
        elif name == "SUBPATTERN":  # a group: (number, flags added, flags removed, content)
            total += _ahead(av[3].data, unbounded, last=tail, behind=behind)
        elif name == "ATOMIC_GROUP":
            total += _ahead(av.data, unbounded, last=False, behind=behind)
        elif name == "BRANCH":
            total += max(_ahead(a.data, unbounded, last=tail, behind=behind) for a in av[1])
        elif name in _REPEATS:
            low, high, item = av
            width = _ahead(item.data, unbounded, last=False, behind=behind)
            if high < unbounded:
                total += high * width
            elif tail and name != "MIN_REPEAT" and item.getwidth() == (1, 1):
                total += low  # its end is settled by the first byte it refuses (see above)
            else:
                raise _Unsupported(name)
        elif name in ("ASSERT", "ASSERT_NOT") and av[0] == -1:  # a lookbehind, of fixed width
            inner = [0]
            width = _ahead(av[1].data, unbounded, last=False, behind=inner)
            behind[0] = max(behind[0], width + inner[0])
        elif name == "AT" and av.name in _BOUNDARIES:  # \b, \B: the byte before and the one at
            behind[0] = max(behind[0], 1)
        else:
            raise _Unsupported(name)
    return total


class StreamSearch:
    """``pattern.finditer`` over the concatenation of byte pieces: `spans` gives the spans
    (offsets in the stream), in order."""

    def __init__(self, pattern: re.Pattern[bytes], reach: tuple[int, int] | None) -> None:
        self._search, self._finditer = pattern.search, pattern.finditer
        # ahead None: nothing is settled before the stream ends, so never search before that.
        self._ahead: int | None = None if reach is None else reach[0]
        self._behind = 0 if reach is None else reach[1]
        self._kept = b""  # the window's bytes kept from the last search
        self._kept_at = 0  # the stream offset of _kept[0]
        self._next = 0  # the stream offset where the next search begins
        self._window = _WINDOW
        self._spans: list[Span] = []

    def spans(self, pieces: Iterable[bytes]) -> list[Span]:
        """The spans of the matches in the concatenation of ``pieces``, read once, in order."""
        batch: list[bytes] = []
        size = 0
        never = self._ahead is None
        for piece in pieces:
            batch.append(piece)
            size += len(piece)
            # max(..., kept): a window held open by a growing match is searched again only once
            # it has doubled, so a long match is not searched from its start for every piece.
            if size >= self._window and size >= len(self._kept) and not never:
                self._settle(batch, final=False)
                batch, size = [], 0
        self._settle(batch, final=True)
        return self._spans

    def _settle(self, batch: list[bytes], *, final: bool) -> None:
        window = self._kept + b"".join(batch) if self._kept else b"".join(batch)
        if self._ahead is None:  # the whole stream, once (and finditer's rules for empty matches)
            self._spans = [match.span() for match in self._finditer(window)]
            return
        at, size = self._kept_at, len(window)
        pos = self._next - at
        # Where a match may begin on bytes still to come, it is not settled: stop there.
        limit = size if final else size - self._ahead - 1
        while True:
            match = self._search(window, pos)
            if match is None or match.start() >= limit:
                pos = max(pos, limit)
                break
            start, end = match.span()
            if end == size and not final:  # a match still growing at the window's end
                pos = start
                break
            self._spans.append((at + start, at + end))
            pos = end
        keep = max(pos - self._behind, 0)
        self._kept, self._kept_at, self._next = window[keep:], at + keep, at + pos
