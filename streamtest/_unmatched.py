"""The messages of `UnmatchedRequestError` and `UnmatchedStreamError`: what was asked, what is
closest, and how to fix it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._core.matching import NamedMatcher, closest, explain, failing, json_diff
from ._core.model import Interaction, ObjectStream, Request
from ._core.modes import RecordMode

_FIX_MODES = (
    'To record it, run once with record_mode="new_episodes" (pytest: '
    '--streamtest-record-mode=new_episodes) to add it to the cassette, or "all" to record the '
    "whole cassette again; if the difference does not matter, leave that field out of match_on "
    "or pass a custom matcher."
)


def unmatched_message(
    live: Request,
    recorded: Sequence[Interaction],
    matchers: Sequence[NamedMatcher],
    *,
    played: set[int],
    path: Path,
    mode: RecordMode,
    exists: bool,
) -> str:
    names = ", ".join(m.name for m in matchers)
    lines = [
        f"No recorded interaction in cassette {path} matches the request "
        f"{live.method} {live.url} (record mode {mode.value!r}, matching on {names}).",
    ]
    if not exists:
        lines.append(
            f"The cassette file does not exist, and record mode {mode.value!r} never records. "
            'Record it first with record_mode="once" (the default outside CI) or "all".'
        )
        return "\n".join(lines)
    if not recorded:
        lines.append("The cassette holds no interactions.")
        return "\n".join([*lines, _FIX_MODES])
    repeats = [i for i, it in enumerate(recorded) if not failing(live, it.request, matchers)]
    if repeats:
        lines.append(
            f"Interaction(s) {repeats} match it but were already played: identical requests "
            f"replay in recorded order, and this one was sent {len(repeats) + 1} or more times "
            "while the cassette holds fewer. Record it again, or pass allow_playback_repeats=True "
            "to replay the last match again."
        )
        return "\n".join(lines)
    best = closest(live, recorded, matchers)
    assert best is not None
    index, names_failing = best
    other = recorded[index].request
    lines.append(
        f"The closest recorded request is interaction {index}: {other.method} "
        f"{other.url}, which differs in {', '.join(names_failing)}:"
    )
    lines += [f"  - {line}" for line in explain(live, other, names_failing)]
    lines.append(_FIX_MODES)
    return "\n".join(lines)


def stream_miss_message(
    name: str,
    key: Any,
    recorded: Sequence[ObjectStream],
    *,
    played: list[int],
    path: Path,
    mode: RecordMode,
    exists: bool,
) -> str:
    """``played``: the recorded streams that match but were all replayed already."""
    with_key = "with no key" if key is None else f"with the key {json.dumps(key)}"
    lines = [
        f"No recorded object stream in cassette {path} matches the stream {name!r} "
        f"{with_key} (record mode {mode.value!r})."
    ]
    if not exists:
        lines.append(
            f"The cassette file does not exist, and record mode {mode.value!r} never records. "
            'Record it first with record_mode="once" (the default outside CI) or "all".'
        )
        return "\n".join(lines)
    if played:
        lines.append(
            f"Object stream(s) {played} match it but were already played: streams with the "
            "same name and key replay in recorded order, each once. Record it again, or pass "
            "allow_playback_repeats=True to replay the last match again."
        )
        return "\n".join(lines)
    same = [(i, s) for i, s in enumerate(recorded) if s.name == name]
    if same:
        diffs = [(json_diff(key, s.key), i) for i, s in same]
        differences, index = min(diffs, key=lambda pair: len(pair[0]))
        lines.append(f"The closest is object stream {index}, whose key differs:")
        lines += [f"  - key{where}: {what}" for where, what in differences[:6]]
    elif recorded:
        names = ", ".join(sorted({repr(s.name) for s in recorded}))
        lines.append(f"The cassette holds no object stream named {name!r}; it holds: {names}.")
    else:
        lines.append("The cassette holds no object streams.")
    lines.append(
        'To record it, run once with record_mode="new_episodes" (pytest: '
        '--streamtest-record-mode=new_episodes) to add it to the cassette, or "all" to '
        "record the whole cassette again."
    )
    return "\n".join(lines)
