"""Value-level comparison for ``streamtest diff``: JSON normalized for comparison (volatile
fields dropped, UUIDs numbered), differences by JSON path, and word-level text differences."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from .._core.matching import canonical_json

VOLATILE_KEYS = frozenset(
    {
        # ids the provider (or the previous turn's answer) makes up anew on every call
        "id",
        "call_id",
        "item_id",
        "response_id",
        "responseId",
        "tool_call_id",
        "tool_use_id",
        "system_fingerprint",
        "obfuscation",
        "signature",
        "encrypted_content",
        # timestamps
        "created",
        "created_at",
        "createTime",
        "timestamp",
        # durations measured by the provider (Ollama, Groq)
        "total_duration",
        "load_duration",
        "prompt_eval_duration",
        "eval_duration",
        "queue_time",
        "prompt_time",
        "completion_time",
        "total_time",
    }
)
"""Keys left out of request bodies, events, usage and object stream items, at any depth: they
change on every call, so they say nothing about what changed between two recordings."""

KEEPALIVE_EVENTS = frozenset({"comment", "ping"})
"""Events left out of the event sequence: keep-alives sent on a timer, not part of the answer."""

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()
"""One side of a `PathChange` that has no value at the path."""


class Normalizer:
    """Normalizes the JSON values of one compared unit (an interaction's events, an object
    stream's items): volatile keys dropped, each UUID replaced by ``<uuid1>``, ``<uuid2>``...
    in order of first appearance, so two runs' fresh UUIDs compare equal."""

    def __init__(self) -> None:
        self.uuids: dict[str, str] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items() if k not in VOLATILE_KEYS}
        if isinstance(value, list):
            return [self(item) for item in value]
        if isinstance(value, str) and _UUID.search(value):
            return _UUID.sub(self._ordinal, value)
        return value

    def _ordinal(self, found: re.Match[str]) -> str:
        key = found.group().lower()
        return self.uuids.setdefault(key, f"<uuid{len(self.uuids) + 1}>")


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values (``True`` is not ``1``; key order never matters)."""
    return bool(canonical_json(a) == canonical_json(b))


@dataclass(frozen=True, slots=True)
class PathChange:
    """Where two JSON values differ: ``path`` (``.choices[0].delta.content``) and both sides,
    `MISSING` where a side has no value."""

    path: str
    a: Any
    b: Any

    def describe(self, prefix: str = "") -> str:
        where = f"{prefix}{self.path}".lstrip(".") or "value"
        if self.b is MISSING:
            return f"{where}: only in A ({short(self.a)})"
        if self.a is MISSING:
            return f"{where}: only in B ({short(self.b)})"
        return f"{where}: A {short(self.a)} != B {short(self.b)}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.a is not MISSING:
            out["a"] = self.a
        if self.b is not MISSING:
            out["b"] = self.b
        return out


def path_changes(a: Any, b: Any, path: str = "") -> list[PathChange]:
    """Every path where ``a`` and ``b`` differ; lists compare element by element, and the
    elements one list has beyond the other's end are each a change."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[PathChange] = []
        for key in sorted(set(a) | set(b), key=str):
            out += path_changes(a.get(key, MISSING), b.get(key, MISSING), f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        for index in range(max(len(a), len(b))):
            left = a[index] if index < len(a) else MISSING
            right = b[index] if index < len(b) else MISSING
            out += path_changes(left, right, f"{path}[{index}]")
        return out
    if (a is MISSING and b is MISSING) or (a is not MISSING and b is not MISSING and same(a, b)):
        return []
    return [PathChange(path, a, b)]


def short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class WordChange:
    """One changed run of words: ``removed`` (from A) became ``added`` (in B), between the
    context words ``before`` and ``after``; ``at`` is the word position in A."""

    at: int
    before: str
    removed: str
    added: str
    after: str

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "removed": self.removed, "added": self.added}


_TOKEN = re.compile(r"\w+|[^\w\s]|\s+")


def word_changes(a: str, b: str, *, context: int = 3) -> list[WordChange]:
    """The changed runs of words between two texts, each with ``context`` words either side.
    Changes separated only by whitespace are one change; texts that share less than half their
    words are one change of the whole text."""
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    if matcher.ratio() < 0.5:
        return [WordChange(0, "", a, b, "")]
    runs: list[list[int]] = []  # [i1, i2, j1, j2] of each change, merged over whitespace
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if runs and all(token.isspace() for token in ta[runs[-1][1] : i1]):
            runs[-1][1:] = [i2, runs[-1][2], j2]
        else:
            runs.append([i1, i2, j1, j2])
    changes = []
    for i1, i2, j1, j2 in runs:
        start, end = _back(ta, i1, context), _forward(ta, i2, context)
        changes.append(
            WordChange(
                at=sum(1 for token in ta[:i1] if not token.isspace()),
                before=("…" if start > 0 else "") + "".join(ta[start:i1]),
                removed="".join(ta[i1:i2]),
                added="".join(tb[j1:j2]),
                after="".join(ta[i2:end]) + ("…" if end < len(ta) else ""),
            )
        )
    return changes


def _back(tokens: list[str], index: int, words: int) -> int:
    while index > 0 and words > 0:
        index -= 1
        words -= not tokens[index].isspace()
    return index


def _forward(tokens: list[str], index: int, words: int) -> int:
    while index < len(tokens) and words > 0:
        words -= not tokens[index].isspace()
        index += 1
    return index


def visible(text: str, limit: int = 80) -> str:
    """``text`` on one line (newlines and tabs shown escaped), cut at ``limit`` characters."""
    text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return text if len(text) <= limit else text[: limit - 1] + "…"


SHOWN_PATHS = 3


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference: ``where`` (``#0``, ``A#1 B#2``, ``stream 'answer'``), ``aspect``
    (``request``, ``text``, ``events``...), a one-line ``message``, word ``changes`` for
    texts, and ``data`` for ``--json``."""

    where: str
    aspect: str
    message: str
    changes: tuple[WordChange, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"where": self.where, "aspect": self.aspect}
        out["message"] = self.message
        if self.changes:
            out["changes"] = [change.to_dict() for change in self.changes]
        return {**out, **self.data}


def paths_difference(where: str, aspect: str, changes: list[PathChange], prefix: str) -> Difference:
    """The difference of ``aspect`` at ``where`` made of JSON path changes: the first few
    described, all of them in ``data``."""
    shown = "; ".join(change.describe(prefix) for change in changes[:SHOWN_PATHS])
    more = len(changes) - SHOWN_PATHS
    message = shown + (f"; and {more} more" if more > 0 else "")
    return Difference(where, aspect, message, data={"paths": [c.to_dict() for c in changes]})
