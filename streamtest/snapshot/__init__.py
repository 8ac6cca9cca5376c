"""Snapshots with syrupy, one readable YAML file each.

``import streamtest`` never loads this module; importing it needs syrupy, and writing a
snapshot needs PyYAML (imported on first use). The pytest plugin's ``stream_snapshot`` fixture
is a `StreamSnapshot` for the running test::

    def test_chat(stream_snapshot):
        chunks = list(model.stream("Hi"))
        stream_snapshot.aggregate(chunks)   # __snapshots__/test_x/test_chat[aggregate].yaml
        stream_snapshot.events(events)      # __snapshots__/test_x/test_chat[events].yaml
        stream_snapshot.graph(parts)        # a LangGraph stream: test_chat[graph].yaml
        stream_snapshot.state(values)       # a LangGraph state: test_chat[state].yaml
        assert stream_snapshot == {"any": "value"}   # __snapshots__/test_x/test_chat.yaml

``pytest --snapshot-update`` writes the files; a difference fails with syrupy's line diff.
`YAMLSnapshotExtension` also works with syrupy's own ``snapshot.use_extension(...)``; `to_yaml`
and `to_plain` document how values are written.
"""

from __future__ import annotations

try:
    import syrupy  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "streamtest.snapshot needs syrupy, which is not installed; "
        "install it with: pip install syrupy pyyaml"
    ) from exc

from ._assertion import SnapshotMismatchError, StreamSnapshot, stream_snapshot_from
from ._extension import YAMLSnapshotExtension
from ._kinds import AGGREGATE, APP, EVENTS, GRAPH, STATE, SnapshotKind
from ._yaml import to_plain, to_yaml

__all__ = [
    "AGGREGATE",
    "APP",
    "EVENTS",
    "GRAPH",
    "STATE",
    "SnapshotKind",
    "SnapshotMismatchError",
    "StreamSnapshot",
    "YAMLSnapshotExtension",
    "stream_snapshot_from",
    "to_plain",
    "to_yaml",
]
