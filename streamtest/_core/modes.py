"""Record modes: when a cassette is replayed from and when the network is used to record."""

from __future__ import annotations

import os
from enum import StrEnum

from .choices import parse_choice


class RecordMode(StrEnum):
    """``none``: replay only, never the network. ``once``: record when the cassette file does not
    exist, else behave as ``none``. ``new_episodes``: replay what matches, record the rest.
    ``all``: record every request again and overwrite the cassette."""

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"

    @classmethod
    def parse(cls, value: RecordMode | str) -> RecordMode:
        return parse_choice(cls, value, "record_mode")


RECORD_MODE_VARIABLE = "STREAMTEST_RECORD_MODE"
"""The environment variable that sets the default record mode (``streamtest record`` sets it for
the command it runs, so the pytest plugin's cassettes record too)."""


def default_record_mode() -> RecordMode:
    """The record mode a cassette gets when nothing else chooses one: ``STREAMTEST_RECORD_MODE``
    when it is set (a bad value is a ValueError naming it), else ``once`` on a developer
    machine and ``none`` when the ``CI`` environment variable is set."""
    chosen = os.environ.get(RECORD_MODE_VARIABLE, "").strip()
    if chosen:
        return parse_choice(RecordMode, chosen, RECORD_MODE_VARIABLE)
    ci = os.environ.get("CI", "").strip().lower()
    return RecordMode.NONE if ci not in ("", "0", "false", "no") else RecordMode.ONCE


class Plan:
    """What a session may do, given the mode and whether the cassette file existed at start."""

    def __init__(self, mode: RecordMode, *, exists: bool) -> None:
        self.mode = mode
        effective = RecordMode.NONE if (mode is RecordMode.ONCE and exists) else mode
        self.replays = effective is not RecordMode.ALL and exists
        self.records = effective is not RecordMode.NONE
