"""Turn ``astream_events(version="v2")`` events into plain, stable dicts for comparison.

What changes between two replays of one cassette (measured with a prompt | ChatOpenAI | parser
chain, langchain-core 1.7): only ``run_id``, ``parent_ids`` and the ``lc_run--<run id>`` ids
that langchain-core gives messages whose provider sent no id. Everything else (metadata, tags,
``response_metadata``, provider ids such as ``chatcmpl-...`` and ``call_...``) comes from the
code or the cassette and is equal in every replay, so it is kept. ``metadata["lc_versions"]`` and
the LangSmith ``ls_*`` keys (provider, model name, temperature, ...) are also dropped: they are
equal between runs but change with package upgrades and say nothing about what was streamed.

``astream_events(version="v3")`` / ``stream_events(version="v3")`` yield protocol events
(``message-start``, ``content-block-delta``, ...) that carry no run ids: they are shown as they
are, with the ``lc_run--`` message id stabilized like any other UUID.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol

from langchain_core.messages import BaseMessage
from pydantic import BaseModel

from ._order import tree_order

__all__ = ["NormalizeRule", "normalize", "normalize_events"]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_RUN_ID_PREFIX = "lc_run--"
_VOLATILE_METADATA = frozenset({"lc_versions"})
_VOLATILE_PREFIX = "ls_"


class NormalizeRule(Protocol):
    """A user rule: takes one normalized event and returns it (changed or a new dict).

    Rules run in order after the built-in normalization, each on the previous one's result.
    """

    def __call__(self, event: dict[str, Any], /) -> dict[str, Any]: ...


class _Names:
    """Ordinal names for run ids ("run1", ...) and other UUIDs ("<uuid1>", ...)."""

    def __init__(self) -> None:
        self.runs: dict[str, str] = {}
        self.others: dict[str, str] = {}

    def run(self, run_id: object) -> str:
        key = str(run_id).lower()
        if key not in self.runs:
            self.runs[key] = f"run{len(self.runs) + 1}"
        return self.runs[key]

    def uuid(self, found: str) -> str:
        key = found.lower()
        if key in self.runs:
            return f"<{self.runs[key]}>"
        if key not in self.others:
            self.others[key] = f"<uuid{len(self.others) + 1}>"
        return self.others[key]

    def text(self, value: str) -> str:
        return _UUID.sub(lambda match: self.uuid(match.group(0)), value)


def normalize_events(
    events: Iterable[Mapping[str, Any]],
    *,
    rules: Sequence[NormalizeRule] = (),
    order: Literal["arrival", "tree"] = "arrival",
) -> list[dict[str, Any]]:
    """Return one plain JSON-able dict per event, in order, equal for equal behaviour.

    Each dict has ``event``, ``name``, ``run`` and ``parent`` (ordinal names of the run and of
    its direct parent, ``None`` for a root; the names keep the tree), ``tags``, ``metadata``
    (without ``lc_versions`` and ``ls_*``) and ``data`` with messages and other objects shown by
    their fields. UUIDs inside strings become ``<runN>`` when they are a run's id, else
    ``<uuidN>``. A v3 protocol event (no run id, a hyphenated name such as
    ``content-block-delta``) is shown whole, with its UUIDs stabilized. Then each rule in
    ``rules`` is applied in order.

    ``order="tree"`` lists the events run by run (see `streamtest.langchain._order`) and sorts
    the keys of the dicts in ``data`` (a parallel step's output has its keys in the order its
    branches answered): use it when parallel branches make the arrival order differ from run
    to run.
    """
    if order not in ("arrival", "tree"):
        raise ValueError(f'order must be "arrival" or "tree", not {order!r}.')
    events = list(events)
    if order == "tree":
        events = tree_order(events)
    names = _Names()
    normalized: list[dict[str, Any]] = []
    for index, event in enumerate(events):
        if "run_id" not in event and "-" in str(event.get("event", "")):
            normalized.append(apply_rules(rules, _plain(dict(event), names)))
            continue
        missing = [key for key in ("event", "run_id") if key not in event]
        if missing:
            raise ValueError(
                f"Event {index} has no {missing[0]!r} key; normalize_events expects the dicts "
                'that astream_events(..., version="v2") yields.'
            )
        parent_ids = [names.run(parent) for parent in event.get("parent_ids") or ()]
        run = names.run(event["run_id"])
        metadata = {
            key: value
            for key, value in (event.get("metadata") or {}).items()
            if key not in _VOLATILE_METADATA and not str(key).startswith(_VOLATILE_PREFIX)
        }
        result: dict[str, Any] = {
            "event": event["event"],
            "name": _plain(event.get("name"), names),
            "run": run,
            # parent_ids runs from the root to the direct parent (langchain_core's
            # _AstreamEventsCallbackHandler._get_parent_ids), so the last one is the parent.
            "parent": parent_ids[-1] if parent_ids else None,
            "tags": _plain(list(event.get("tags") or ()), names),
            "metadata": _plain(metadata, names),
            "data": _plain(event.get("data", {}), names),
        }
        if order == "tree":
            result["data"] = _sorted_keys(result["data"])
        normalized.append(apply_rules(rules, result))
    return normalized


def normalize(value: Any) -> Any:
    """A plain, JSON-able picture of any value, equal for equal behaviour across runs.

    For what `normalize_events` does not cover: the chunks of ``model.stream()``, a chain's
    output, a message. Messages and other pydantic models and dataclasses become dicts of their
    fields (with ``type`` = the class name), ``lc_run--`` message ids are dropped, UUIDs become
    ``<uuidN>`` in order of appearance, tuples become lists.
    """
    return _plain(value, _Names())


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


def apply_rules(rules: Sequence[Callable[[Any], Any]], result: dict[str, Any]) -> dict[str, Any]:
    """``result`` through each rule in turn (a rule returns the dict it got or a new one)."""
    for rule in rules:
        changed = rule(result)
        if not isinstance(changed, dict):
            raise TypeError(
                f"The normalize rule {rule!r} returned {type(changed).__name__}; a rule "
                "must return the dict it was given or a new one."
            )
        result = changed
    return result


def _plain(value: Any, names: _Names) -> Any:
    """A JSON-able, run-independent picture of ``value``."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return names.text(value)
    if isinstance(value, uuid.UUID):
        return names.uuid(str(value))
    if isinstance(value, enum.Enum):
        return _plain(value.value, names)
    if isinstance(value, Mapping):
        return {str(_plain(key, names)): _plain(item, names) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, names) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(item, names) for item in value), key=repr)
    if isinstance(value, BaseModel):
        return _fields(value, type(value).model_fields, names)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value, [field.name for field in dataclasses.fields(value)], names)
    if isinstance(value, bytes):
        return names.text(repr(value))
    return names.text(_ADDRESS.sub("", repr(value)))


def _fields(value: object, fields: Iterable[str], names: _Names) -> dict[str, Any]:
    """An object as ``{"type": class name, field: value, ...}``.

    A message's ``type`` field ("ai", "human", ...) is replaced by its class name, which also
    tells a chunk from a whole message; an ``lc_run--`` message id names a run, not the
    message, so it is dropped (provider ids such as ``chatcmpl-...`` come from the cassette
    and are kept).
    """
    shown: dict[str, Any] = {"type": type(value).__name__}
    for name in fields:
        if name == "type" and isinstance(value, BaseMessage):
            continue
        item = getattr(value, name)
        if name == "id" and isinstance(value, BaseMessage) and _is_run_id(item):
            continue
        shown[name] = _plain(item, names)
    return shown


def _is_run_id(value: object) -> bool:
    return isinstance(value, str) and value.startswith(_RUN_ID_PREFIX)
