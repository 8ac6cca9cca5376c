"""Object-stream items as JSON values and back, exactly, without pickle.

None, bool, int, str, finite floats, lists and dicts with str keys (none of them ``"$type"``) are
stored as they are. Everything else becomes a tagged object ``{"$type": TAG, "value": ...}``:
``tuple`` (a list), ``bytes`` (base64), ``float`` (``"nan"``, ``"inf"``, ``"-inf"``), ``dict``
(a list of ``[key, value]`` pairs: non-str keys, or a ``"$type"`` key), ``set`` / ``frozenset``
(a list, sorted when the members sort), or the tag of a registered codec (see ``registry``).
Types are checked exactly (``type(x) is tuple``), so a subclass is never stored as its base.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from .._core.redaction import Scrubber
from .registry import REGISTRY

TAG = "$type"
_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class Unencodable(Exception):
    """No codec stores ``obj`` (found somewhere inside an item); ``why_not`` says why the adapter
    that would have one did not load, when there is one."""

    def __init__(self, obj: Any, why_not: str) -> None:
        super().__init__(obj)
        self.obj, self.why_not = obj, why_not


class Undecodable(Exception):
    """A stored value cannot be rebuilt; the message says why."""


def _tagged(tag: str, value: Any) -> dict[str, Any]:
    return {TAG: tag, "value": value}


def encode(obj: Any) -> Any:
    """``obj`` as a JSON value; raises `Unencodable` for an object no codec stores."""
    cls = type(obj)
    if cls is str or cls is int or cls is bool or obj is None:
        return obj
    if cls is float:
        if math.isfinite(obj):
            return obj
        return _tagged("float", "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf"))
    if cls is list:
        return [encode(item) for item in obj]
    if cls is dict:
        if TAG not in obj and all(type(key) is str for key in obj):
            return {key: encode(value) for key, value in obj.items()}
        return _tagged("dict", [[encode(key), encode(value)] for key, value in obj.items()])
    if cls is tuple:
        return _tagged("tuple", [encode(item) for item in obj])
    if cls is bytes:
        return _tagged("bytes", base64.b64encode(obj).decode("ascii"))
    if cls is set or cls is frozenset:
        try:
            members = sorted(obj)
        except TypeError:  # members that do not sort keep their iteration order
            members = list(obj)
        return _tagged(cls.__name__, [encode(member) for member in members])
    codec, why_not = REGISTRY.for_type(cls)
    if codec is None:
        raise Unencodable(obj, why_not)
    return _tagged(codec.tag, codec.encode(obj, encode))


def decode(data: Any) -> Any:
    """The object ``encode`` stored as ``data``; raises `Undecodable` saying what is wrong."""
    if type(data) is list:
        return [decode(item) for item in data]
    if type(data) is dict:
        if TAG in data:
            return _decode_tagged(data)
        return {key: decode(value) for key, value in data.items()}
    return data


def _decode_tagged(data: dict[str, Any]) -> Any:
    if set(data) != {TAG, "value"} or not isinstance(data[TAG], str):
        raise Undecodable(
            'a tagged value has exactly the keys "$type" (a string) and "value", '
            f"not {sorted(data)}"
        )
    tag: str = data[TAG]
    value: Any = data["value"]
    try:
        if tag in ("tuple", "set", "frozenset", "dict") and type(value) is not list:
            raise Undecodable(f"a {tag!r} value is a list, not {type(value).__name__}")
        if tag == "tuple":
            return tuple(decode(item) for item in value)
        if tag == "set" or tag == "frozenset":
            return (set if tag == "set" else frozenset)(decode(item) for item in value)
        if tag == "dict":
            return dict(_pair(decode(pair)) for pair in value)
        if tag == "bytes":
            return base64.b64decode(value, validate=True)
        if tag == "float":
            return _FLOATS[value]
    except (TypeError, KeyError, binascii.Error) as exc:
        raise Undecodable(f"a {tag!r} value is malformed ({type(exc).__name__}: {exc})") from exc
    return _decode_registered(tag, value)


def _pair(pair: Any) -> tuple[Any, Any]:
    if type(pair) is not list or len(pair) != 2:
        raise TypeError(f"a dict entry is a [key, value] pair, not {pair!r}")
    return pair[0], pair[1]


def _decode_registered(tag: str, value: Any) -> Any:
    codec, why_not = REGISTRY.for_tag(tag)
    if codec is None:
        raise Undecodable(
            f"no codec is registered for the tag {tag!r}"
            + (f" ({why_not})" if why_not else "")
            + ". Register the class before replaying: streamtest.register_type(TheClass) for a "
            "dataclass, pydantic model or enum, streamtest.register_codec(...) for others"
        )
    try:
        return codec.decode(value, decode)
    except Undecodable:
        raise
    except Exception as exc:
        raise Undecodable(
            f"the codec for {tag!r} cannot rebuild it ({type(exc).__name__}: {exc})"
        ) from exc


def find(root: Any, target: Any, where: str = "") -> str | None:
    """Where ``target`` sits inside ``root`` (``[0]['text']``), by identity; for error messages
    only, so the encoding itself never pays for tracking paths."""
    if root is target:
        return where
    if type(root) is dict:
        for key, value in root.items():
            found = find(key, target, f"{where}[{key!r}] (the key)")
            found = found if found is not None else find(value, target, f"{where}[{key!r}]")
            if found is not None:
                return found
    elif type(root) in (list, tuple, set, frozenset):
        for index, item in enumerate(root):
            found = find(item, target, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def scrub(value: Any, scrubber: Scrubber) -> Any:
    """An encoded value with secrets removed from every string (tags are kept as they are)."""
    strings: list[str] = []
    _strings(value, strings)
    # Most items hold no secret: one search over all their strings, joined by a character no
    # secret or key shape contains, says so ~3x faster than searching each string on its own.
    joined = "\x00".join(strings)
    return value if scrubber.text(joined) == joined else _scrub(value, scrubber)


def _strings(value: Any, out: list[str]) -> None:
    if type(value) is str:
        out.append(value)
    elif type(value) is list:
        for item in value:
            _strings(item, out)
    elif type(value) is dict:
        for key, item in value.items():
            out.append(key)
            if key != TAG:
                _strings(item, out)


def _scrub(value: Any, scrubber: Scrubber) -> Any:
    if type(value) is str:
        return scrubber.text(value)
    if type(value) is list:
        return [_scrub(item, scrubber) for item in value]
    if type(value) is dict:
        return {
            scrubber.text(key): item if key == TAG else _scrub(item, scrubber)
            for key, item in value.items()
        }
    return value
