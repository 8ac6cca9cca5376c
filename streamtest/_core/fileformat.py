"""Chunk cassette format v1: JSON Lines, one record per line (see docs/cassette-format.md).

    {"streamtest":1,"recorded_with":"streamtest 0.1.0"}           header, first line
    {"request":{...},"response":{"status":200,"t":0.08,...}}       an interaction begins
    {"t":0.081234,"text":"data: {...}\\n\\n"}                       a chunk that is valid UTF-8
    {"t":0.092001,"b64":"8J+Y"}                                     any other chunk, base64
    {"end":"completed","chunks":2}                                  it ends: completed/failed/closed
    {"stream":{"name":"answer","key":["q",1]}}                      an object stream begins
    {"t":0.012345,"item":{"text":"Hel"}}                           one item, as encoded JSON
    {"end":"completed","items":1}                                   it ends, like an interaction

Reading (`fileread`) decodes each line into one typed msgspec Struct (`filerecords`: fast, and
unknown keys are errors) and checks the order of records and every offset, so a truncated or
hand-broken file is reported with its line. Writing (`filewrite`) is atomic: a temporary file in
the same folder, fsynced, then renamed over the target. This module is where the rest of
streamtest imports them from.
"""

from __future__ import annotations

from .fileread import MAX_OFFSET, load, loads
from .filerecords import FORMAT_VERSION
from .filewrite import dumps, save

__all__ = ["FORMAT_VERSION", "MAX_OFFSET", "dumps", "load", "loads", "save"]
