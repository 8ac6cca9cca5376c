"""The syrupy extension: one readable YAML file per snapshot."""

from __future__ import annotations

from typing import Any

from syrupy.extensions.amber.serializer import Repr
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
from syrupy.types import PropertyFilter, PropertyMatcher, PropertyPath, SerializableData

from ._yaml import to_yaml

__all__ = ["YAMLSnapshotExtension"]


class YAMLSnapshotExtension(SingleFileSnapshotExtension):
    """Writes each snapshot to its own ``.yaml`` file, as `streamtest.snapshot.to_yaml` does.

    Files go where syrupy puts single-file snapshots: ``__snapshots__/<test module>/<test
    name>.yaml`` beside the test file (``--snapshot-dirname`` renames ``__snapshots__``); a
    second unnamed assertion in the same test writes ``<test name>.1.yaml``, a named one
    ``<test name>[<name>].yaml``. Use it with any syrupy snapshot::

        def test_x(snapshot):
            assert snapshot.use_extension(YAMLSnapshotExtension) == {"answer": 42}

    syrupy's ``exclude=``, ``include=`` and ``matcher=`` options apply as with its JSON
    extension. The comparison is of the text, so a failure shows syrupy's line diff.
    """

    file_extension = "yaml"
    _write_mode = WriteMode.TEXT

    def serialize(
        self,
        data: SerializableData,
        *,
        exclude: PropertyFilter | None = None,
        include: PropertyFilter | None = None,
        matcher: PropertyMatcher | None = None,
    ) -> str:
        def unwrap(*, data: Any, path: PropertyPath) -> Any:
            if matcher is not None:
                data = matcher(data=data, path=path)
            # syrupy's placeholder for a snapshot nested in the data: written as its text
            return repr(data) if isinstance(data, Repr) else data

        return to_yaml(data, exclude=exclude, include=include, matcher=unwrap)
