"""Plain data, then YAML text: the snapshot file format, deterministic for equal values.

`to_plain` turns a value into dicts, lists, strings, numbers, booleans and ``None``:

==========================================  =====================================================
value                                       written as
==========================================  =====================================================
``None``, ``bool``, ``int``, ``float``,      itself (a ``str`` subclass as a plain ``str``)
``str``
``Enum`` member                             its ``.value``
mapping (``dict``, ...)                     a mapping, keys in insertion order; ``str``, ``int``,
                                            ``float``, ``bool`` and ``None`` keys stay, an
                                            ``Enum`` key becomes its value, any other key its
                                            ``repr()``
named tuple                                 a mapping of its fields, in order
object with a ``to_dict()`` method          what it returns (streamtest's ``Aggregate`` ...)
``list``, ``tuple``, ``deque``, generator   a list (a tuple is not told apart from a list)
``set``, ``frozenset``                      a sorted list (by value; mixed types by type name,
                                            then ``repr``), so the order never depends on hashing
``bytes``, ``bytearray``                    the string ``repr()`` shows: ``b'...'``
``datetime``, ``date``, ``time``            ISO 8601 text (``.isoformat()``)
``timedelta``, ``UUID``, ``Decimal``        ``str()``; a path: ``.as_posix()``, the same on
``PurePath``                                every OS
pydantic model                              ``model_dump(mode="json")``
msgspec ``Struct``                          ``msgspec.to_builtins``
dataclass instance                          a mapping of its fields, in declaration order
anything else                               a ``TypeError`` that says to convert it first
==========================================  =====================================================

A value is never written through its ``repr()`` (which may hold a memory address), so the same
value always gives the same text. `to_yaml` then writes it with PyYAML's pure-Python safe dumper
(never the libyaml one, whose output can differ): keys in insertion order, non-ASCII kept as is,
nested lists indented under their key, no line folding, no anchors, and a string with a line
break as a ``|`` block literal, unless YAML cannot hold it that way (trailing spaces before a
line break, a carriage return, control characters): then it is double-quoted with escapes.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import types
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

__all__ = ["Filter", "Matcher", "to_plain", "to_yaml"]

# syrupy's property filters and matcher, by keyword: filter(prop=..., path=...) -> bool and
# matcher(data=..., path=...) -> replacement; a path is a tuple of (key or index, type) pairs.
Filter = Callable[..., bool]
Matcher = Callable[..., Any]
_Path = tuple[tuple[Any, type], ...]

_SCALARS = (type(None), bool, int, float)


def to_plain(
    value: Any,
    *,
    exclude: Filter | None = None,
    include: Filter | None = None,
    matcher: Matcher | None = None,
) -> Any:
    """``value`` as plain data (see the module docstring for each type).

    ``exclude`` and ``include`` drop mapping keys (and fields); ``matcher`` may replace any
    value before it is converted. They follow syrupy's ``exclude=``/``include=``/``matcher=``
    contracts, so ``syrupy.filters.props`` and ``syrupy.matchers.path_type`` work.
    """
    return _Converter(exclude, include, matcher).convert(value, (), frozenset())


@dataclasses.dataclass(frozen=True, slots=True)
class _Converter:
    exclude: Filter | None
    include: Filter | None
    matcher: Matcher | None

    def convert(self, value: Any, path: _Path, seen: frozenset[int]) -> Any:
        if self.matcher is not None:
            value = self.matcher(data=value, path=path)
        if isinstance(value, enum.Enum):
            return self.convert(value.value, path, seen)
        if isinstance(value, _SCALARS):
            return value
        if isinstance(value, str):
            return str.__str__(value)
        if id(value) in seen:
            raise ValueError(
                f"The value at {_where(path)} contains itself; a snapshot must be a tree, "
                "so break the cycle before asserting it."
            )
        inner = seen | {id(value)}
        fields = _fields(value)
        if fields is not None:
            return self.mapping(fields, path, inner)
        if isinstance(value, list | tuple | deque | types.GeneratorType):
            return [
                self.convert(item, (*path, (index, type(item))), inner)
                for index, item in enumerate(value)
            ]
        if isinstance(value, set | frozenset):
            return _sorted([self.convert(item, path, inner) for item in value])
        return _leaf(value, path)

    def mapping(
        self, value: Mapping[Any, Any], path: _Path, seen: frozenset[int]
    ) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key, item in value.items():
            if self.exclude is not None and self.exclude(prop=key, path=path):
                continue
            if self.include is not None and not self.include(prop=key, path=path):
                continue
            result[_key(key)] = self.convert(item, (*path, (key, type(item))), seen)
        return result


def _fields(value: Any) -> Mapping[Any, Any] | None:
    """The keys and values of a mapping-like value, else ``None``."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
        return dict(zip(value._fields, value, strict=True))
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        converted = to_dict()
        if isinstance(converted, Mapping):
            return converted
    model_dump = getattr(type(value), "model_dump", None)
    if callable(model_dump) and not isinstance(value, type):  # pydantic
        dumped: Mapping[Any, Any] = value.model_dump(mode="json")
        return dumped
    if _is_struct(value):
        import msgspec

        built: Mapping[Any, Any] = msgspec.to_builtins(value)
        return built
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    return None


def _is_struct(value: Any) -> bool:
    return any(
        cls.__module__ == "msgspec" and cls.__name__ == "Struct" for cls in type(value).__mro__
    )


def _leaf(value: Any, path: _Path) -> Any:
    if isinstance(value, bytes | bytearray):
        return repr(bytes(value))
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, datetime.timedelta | uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, PurePath):
        return value.as_posix()
    raise TypeError(
        f"Cannot write a {type(value).__qualname__} at {_where(path)} to a YAML snapshot: "
        "convert it to plain data first (dicts, lists, strings, numbers), for example with a "
        "to_dict() method or syrupy's matcher=."
    )


def _key(key: Any) -> Any:
    if isinstance(key, enum.Enum):
        key = key.value
    if isinstance(key, str):
        return str.__str__(key)
    return key if isinstance(key, _SCALARS) else repr(key)


def _sorted(items: list[Any]) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=lambda item: (type(item).__name__, repr(item)))


def _where(path: _Path) -> str:
    return "the top level" if not path else "".join(f"[{key!r}]" for key, _ in path)


def to_yaml(
    value: Any,
    *,
    exclude: Filter | None = None,
    include: Filter | None = None,
    matcher: Matcher | None = None,
) -> str:
    """YAML text for ``value``, converted with `to_plain` (which takes the same options)
    first; equal values give equal text."""
    import_yaml()  # before converting: a missing PyYAML is the first thing to report
    return _dump(to_plain(value, exclude=exclude, include=include, matcher=matcher))


def import_yaml() -> None:
    """Load PyYAML, or raise an `ImportError` that names the package to install."""
    try:
        import yaml  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "streamtest's YAML snapshots need PyYAML, which is not installed; "
            "install it with: pip install pyyaml"
        ) from exc


def _dump(plain: Any) -> str:
    from ._dumper import dump  # PyYAML loads only when a snapshot is written

    return dump(plain)
