"""Codecs: how objects that are not plain JSON are stored in an object stream, and found again.

A codec stores objects of exactly the classes in its ``types`` (not their subclasses: a subclass
would come back as its base class) under a ``tag``. The process keeps one registry, `REGISTRY`;
registration is rare (import time), lookups are many. Its lock guards every change, and lookups
read its dicts without it (a single dict read is atomic in CPython).

Adapters register their codecs when their module is imported, and that import happens lazily, by
name only, so the core never imports an adapter: an object whose class lives in ``langchain_core``
loads ``streamtest.langchain._codec`` (to encode it), and so does a tag ``langchain.<...>`` (to
decode it). A tag of a class registered with `register_type` reads ``type:<module>.<qualname>``
and is decoded by that registered class only, never by importing a name found in a file.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

Encode = Callable[[Any], Any]
"""Turns any object a codec holds into JSON (recursively, through every codec)."""
Decode = Callable[[Any], Any]
"""The reverse of `Encode`."""

BUILTIN_TAGS = frozenset({"tuple", "bytes", "float", "dict", "set", "frozenset"})
ADAPTERS = {"langchain_core": "langchain", "langgraph": "langgraph", "pandas": "streamlit"}
"""The top-level module of a class -> the streamtest adapter whose ``_codec`` module encodes it;
that adapter's name is also the prefix (before the first ".") of its tags."""

T = TypeVar("T", bound=type)


class Codec(Protocol):
    """Stores objects of exactly the classes in ``types`` as JSON, tagged with ``tag``.

    ``encode(obj, encode)`` returns a JSON value (dicts with str keys, lists, str, int, float,
    bool, None); call ``encode`` on anything nested that is not plain JSON. ``decode(data,
    decode)`` rebuilds the object from that value, calling ``decode`` where ``encode`` was used.
    """

    @property
    def tag(self) -> str: ...

    @property
    def types(self) -> tuple[type, ...]: ...

    def encode(self, obj: Any, encode: Encode) -> Any: ...

    def decode(self, data: Any, decode: Decode) -> Any: ...


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_tag: dict[str, Codec] = {}
        self._by_type: dict[type, Codec] = {}

    def add(self, codec: Codec) -> None:
        tag, types = codec.tag, tuple(codec.types)
        if not isinstance(tag, str) or not tag or tag in BUILTIN_TAGS:
            raise ValueError(
                f"A codec's tag must be a non-empty string other than the built-in tags "
                f"{sorted(BUILTIN_TAGS)}; {codec!r} has {tag!r}."
            )
        if not types or not all(isinstance(cls, type) for cls in types):
            raise ValueError(
                f"A codec's types must be a non-empty tuple of classes; {codec!r} has {types!r}."
            )
        with self._lock:
            # Registering a tag again replaces the old codec (a reloaded module, a test).
            old = self._by_tag.pop(tag, None)
            if old is not None:
                for cls in old.types:
                    if self._by_type.get(cls) is old:
                        del self._by_type[cls]
            self._by_tag[tag] = codec
            self._by_type.update(dict.fromkeys(types, codec))

    def for_type(self, cls: type) -> tuple[Codec | None, str]:
        """The codec of ``cls``, or None and why the adapter that would know it did not load."""
        return self._find(self._by_type, cls, ADAPTERS.get(cls.__module__.partition(".")[0]))

    def for_tag(self, tag: str) -> tuple[Codec | None, str]:
        """The codec of ``tag``, or None and why the adapter that would know it did not load."""
        adapter = tag.partition(".")[0]
        return self._find(self._by_tag, tag, adapter if adapter in ADAPTERS.values() else None)

    def _find(
        self, table: dict[Any, Codec], wanted: Any, adapter: str | None
    ) -> tuple[Codec | None, str]:
        codec = table.get(wanted)
        if codec is not None or adapter is None:
            return codec, ""
        # Importing the adapter's codecs registers them. (The import system serializes
        # concurrent imports of one module, so no lock is needed here.)
        module = f"streamtest.{adapter}._codec"
        try:
            importlib.import_module(module)
        except ImportError as exc:  # the adapter or its library is not installed: no codec
            return None, f"{module} could not be imported: {exc}"
        return table.get(wanted), ""


REGISTRY = _Registry()


def register_codec(codec: Codec) -> None:
    """Store objects of ``codec.types`` in object streams with ``codec`` (replacing an earlier
    codec with the same tag)."""
    REGISTRY.add(codec)


@dataclasses.dataclass(frozen=True, slots=True)
class _TypeCodec:
    """A dataclass (its init fields), a pydantic model (``model_dump``) or an enum (its value)."""

    cls: type
    tag: str
    kind: str  # "dataclass", "pydantic" or "enum"
    by_name: bool = False  # pydantic >= 2.11 can validate by field name even where aliases exist

    @property
    def types(self) -> tuple[type, ...]:
        return (self.cls,)

    def encode(self, obj: Any, encode: Encode) -> Any:
        if self.kind == "enum":
            return encode(obj.value)
        if self.kind == "pydantic":
            return encode(obj.model_dump(mode="python", round_trip=True))
        fields = dataclasses.fields(obj)
        return encode({f.name: getattr(obj, f.name) for f in fields if f.init})

    def decode(self, data: Any, decode: Decode) -> Any:
        value = decode(data)
        if self.kind == "enum":
            return self.cls(value)
        if not isinstance(value, dict):
            raise TypeError(f"expected an object of fields, got {type(value).__name__}")
        if self.kind == "pydantic":
            extra = {"by_name": True} if self.by_name else {}
            return self.cls.model_validate(value, **extra)  # type: ignore[attr-defined]
        return self.cls(**value)


def register_type(cls: T) -> T:
    """Store instances of the dataclass, pydantic model or enum ``cls`` in object streams, under
    the tag ``type:<module>.<qualname>``; replay rebuilds them by calling ``cls`` (or its
    ``model_validate``). Returns ``cls``, so it also works as a class decorator."""
    tag = f"type:{cls.__module__}.{cls.__qualname__}"
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        codec = _TypeCodec(cls, tag, "enum")
    elif hasattr(cls, "model_dump") and hasattr(cls, "model_validate"):
        by_name = "by_name" in inspect.signature(cls.model_validate).parameters
        codec = _TypeCodec(cls, tag, "pydantic", by_name)
    elif dataclasses.is_dataclass(cls) and isinstance(cls, type):
        codec = _TypeCodec(cls, tag, "dataclass")
    else:
        raise TypeError(
            f"register_type takes a dataclass, a pydantic model or an enum class, not {cls!r}. "
            "For any other class, write a codec and pass it to streamtest.register_codec."
        )
    REGISTRY.add(codec)
    return cls
