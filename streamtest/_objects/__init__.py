"""Object streams: record and replay the items of any iterator, with timing, without pickle.

A layer above the session: it imports ``_core``, ``_session`` and ``_wire.patch`` (to find the
active cassette); nothing below imports it, and adapters reach it only through their codecs.
"""

from __future__ import annotations

from .record import file_options, record_stream
from .registry import Codec, register_codec, register_type
from .replay import StreamPlayback, replay_stream

__all__ = [
    "Codec",
    "StreamPlayback",
    "file_options",
    "record_stream",
    "register_codec",
    "register_type",
    "replay_stream",
]
