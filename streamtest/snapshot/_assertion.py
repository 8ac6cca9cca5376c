"""`StreamSnapshot`: syrupy's snapshot assertion, writing YAML, with stream-aware helpers."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from syrupy.assertion import AssertionResult, DiffMode, SnapshotAssertion
from syrupy.terminal import disable_color

from .._core.errors import StreamtestError
from ._extension import YAMLSnapshotExtension
from ._kinds import AGGREGATE, APP, EVENTS, GRAPH, STATE, EventRule, SnapshotKind

__all__ = ["SnapshotMismatchError", "StreamSnapshot", "stream_snapshot_from"]


class SnapshotMismatchError(StreamtestError, AssertionError):
    """A value differs from its stored snapshot, or has none; the message holds the diff."""


@dataclasses.dataclass(eq=False, repr=False)
class StreamSnapshot(SnapshotAssertion):
    """A syrupy ``SnapshotAssertion`` whose snapshots are YAML files (`YAMLSnapshotExtension`).

    ``assert stream_snapshot == value`` and ``stream_snapshot(name=...)`` work as with syrupy's
    ``snapshot``; the methods below assert and raise `SnapshotMismatchError` with syrupy's diff.
    A method's ``name`` picks the file, ``<test name>[<name>].yaml``; a kind's method defaults
    it to the kind's name, so ``aggregate()`` writes ``<test name>[aggregate].yaml``.
    """

    _default_names: set[str] = dataclasses.field(init=False, default_factory=set)

    def aggregate(self, value: object, /, *, name: str | None = None) -> None:
        """Snapshot what a stream added up to: `streamtest.langchain.summarize` of a LangChain
        message or stream, or ``to_dict()`` of a streamtest `Aggregate` (an `Interaction` is
        aggregated first)."""
        __tracebackhide__ = True
        self.match(AGGREGATE, value, name=name)

    def events(
        self,
        events: Iterable[Mapping[str, Any]],
        /,
        *,
        rules: Sequence[EventRule] = (),
        name: str | None = None,
    ) -> None:
        """Snapshot ``astream_events(version="v2")`` events, after
        `streamtest.langchain.normalize_events` (``rules`` are its rules)."""
        __tracebackhide__ = True
        self.match(EVENTS, events, name=name, rules=rules)

    def graph(self, parts: Iterable[Any], /, *, name: str | None = None, **options: Any) -> None:
        """Snapshot a LangGraph stream's parts after `streamtest.langgraph.normalize_parts`
        (``options``: its ``stream_mode``, ``subgraphs``, ``order`` and ``rules``)."""
        __tracebackhide__ = True
        self.match(GRAPH, parts, name=name, **options)

    def state(self, state: object, /, *, name: str | None = None) -> None:
        """Snapshot a LangGraph state (``graph.get_state(config).values``, a
        ``StateSnapshot``, ``invoke``'s result) after `streamtest.langgraph.normalize_state`."""
        __tracebackhide__ = True
        self.match(STATE, state, name=name)

    def app(self, run: object, /, *, name: str | None = None) -> None:
        """Snapshot what a Streamlit app showed: the `streamtest.streamlit.AppRun` of
        ``capture_app`` or ``run_app`` (``write_stream`` values, frames, final elements)."""
        __tracebackhide__ = True
        self.match(APP, run, name=name)

    def match(
        self, kind: SnapshotKind, value: object, /, *, name: str | None = None, **options: Any
    ) -> None:
        """Snapshot ``kind.to_data(value, **options)``, named ``name`` or else the kind's name.

        Two calls of one kind in a test need a ``name`` each: they would share a file.
        """
        __tracebackhide__ = True
        if name is None:
            if kind.name in self._default_names:
                raise ValueError(
                    f"This test already asserted an unnamed {kind.name!r} snapshot; pass "
                    f"name=... to each {kind.name} snapshot so that each gets its own file."
                )
            self._default_names.add(kind.name)
        self.value(kind.to_data(value, **options), name=name or kind.name)

    def value(self, value: object, /, *, name: str | None = None) -> None:
        """Snapshot any value (converted as `streamtest.snapshot.to_plain` describes); without a
        ``name``, syrupy numbers the test's snapshots (``<test>.yaml``, ``<test>.1.yaml``)."""
        __tracebackhide__ = True
        assertion = self(name=name) if name else self
        matched = assertion == value
        result = self.executions[self.num_executions - 1]
        if result.exception is not None:
            raise result.exception  # e.g. a value that cannot be written: not a mismatch
        if not matched:
            raise SnapshotMismatchError(self._failure(result))

    def _failure(self, result: AssertionResult) -> str:
        config = getattr(self.session.pytest_session, "config", None)
        diff_mode = getattr(getattr(config, "option", None), "diff_mode", DiffMode.DETAILED)
        with disable_color():  # an exception message: no terminal codes
            diff = self.get_assert_diff(diff_mode=diff_mode)
        where = f"{result.snapshot_name} ({_shown_path(result.snapshot_location, config)})"
        if result.recalled_data is None:
            head = (
                f"Snapshot {where} does not exist; run pytest with --snapshot-update to write it."
            )
            diff = [
                line
                for line in diff
                if line != f"Snapshot '{result.snapshot_name}' does not exist!"
            ]
        else:
            head = (
                f"Snapshot {where} differs from the received value; if the change is intended, "
                "run pytest with --snapshot-update to accept it."
            )
        return "\n".join([head, "[- snapshot] [+ received]", *diff])


def _shown_path(location: str, config: Any) -> str:
    """``location`` relative to the rootdir when it is inside it."""
    path = Path(location)
    root = getattr(config, "rootpath", None)
    return str(path.relative_to(root)) if root and path.is_relative_to(root) else location


def stream_snapshot_from(snapshot: SnapshotAssertion) -> StreamSnapshot:
    """A `StreamSnapshot` for the test of syrupy's ``snapshot`` fixture value, with its options
    (``include``, ``exclude``, ``matcher``, update flags) and YAML files."""
    return StreamSnapshot(
        session=snapshot.session,
        extension_class=YAMLSnapshotExtension,
        test_location=snapshot.test_location,
        update_snapshots=snapshot.update_snapshots,
        update_new_snapshots_only=snapshot.update_new_snapshots_only,
        include=snapshot.include,
        exclude=snapshot.exclude,
        matcher=snapshot.matcher,
    )
