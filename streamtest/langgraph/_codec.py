"""Codecs for LangGraph values in object streams: interrupts, commands, sends, snapshots, errors.

streamtest imports this module by name, lazily, when an object stream meets an object whose
class lives in ``langgraph`` or a tag that begins with ``langgraph.``; importing it registers the
codecs (`CassetteGraph` imports it too). Each value is stored as the fields its constructor
takes, every field encoded again by streamtest, so tuples, messages and nested LangGraph values
inside it survive. Decoding builds only the fixed classes named here: a tag never makes
streamtest import a name found in a file.

The NamedTuples `StateSnapshot` and `PregelTask` have codecs of their own: the encoder checks
``type(x) is tuple`` exactly, so a NamedTuple reaches the registry and comes back as its class.

Exceptions: LangGraph's ``"tasks"`` and ``"debug"`` stream modes put the exception a node raised
into the part (``{"name": ..., "error": ValueError("bad"), ...}``), so a failing run could not
be recorded without a codec for it. `ErrorCodec` stores the builtin exceptions and
``langgraph.errors``' own as their class name and ``args``; replay builds a new exception of
the same class (exceptions compare by identity, so compare ``type`` and ``str``). A builtin
class does not make streamtest load this module: these codecs hold once it is imported (by
`CassetteGraph`, ``import streamtest.langgraph``, or any LangGraph value met earlier).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from langgraph import errors as lg_errors
from langgraph.types import (
    Command,
    GraphOutput,
    Interrupt,
    Overwrite,
    PregelTask,
    Send,
    StateSnapshot,
    TimeoutPolicy,
)

from .._objects.codecs import Unencodable
from .._objects.registry import Decode, Encode, register_codec
from ..langchain._codec import FieldsCodec  # LangGraph values are LangChain-style: by fields


@dataclass(frozen=True, slots=True)
class InterruptCodec:
    """An `Interrupt`. Its ``response_schema`` is stored when it is JSON Schema (a dict, as in
    every interrupt a graph surfaces) or None; a class there (an Interrupt built by hand) is not
    stored, since replay would have to import it by name."""

    tag: str = "langgraph.interrupt"
    types: tuple[type, ...] = (Interrupt,)

    def encode(self, obj: Any, encode: Encode) -> Any:
        schema = obj.response_schema
        if schema is not None and type(schema) is not dict:
            raise Unencodable(
                obj,
                f"its response_schema is {schema!r}; streamtest stores an Interrupt whose "
                "response_schema is a JSON Schema dict or None, which is what a graph streams. "
                "Record the interrupt LangGraph yields, or pass the schema as a dict",
            )
        return {
            "value": encode(obj.value),
            "id": encode(obj.id),
            "response_schema": encode(schema),
        }

    def decode(self, data: Any, decode: Decode) -> Any:
        fields = decode(data)
        return Interrupt(fields["value"], fields["id"], response_schema=fields["response_schema"])


def _exception_classes() -> dict[str, type[Exception]]:
    """Every builtin exception by its name, and ``langgraph.errors``' by ``langgraph.errors.X``:
    the only classes `ErrorCodec` stores and builds."""
    found: dict[str, type[Exception]] = {}
    for module, prefix in ((builtins, ""), (lg_errors, "langgraph.errors.")):
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, Exception)
                and value.__module__ == module.__name__
            ):
                found[prefix + name] = value
    return found


EXCEPTIONS = _exception_classes()
_EXCEPTION_NAMES = {cls: name for name, cls in EXCEPTIONS.items()}


@dataclass(frozen=True, slots=True)
class ErrorCodec:
    """An exception as its class name, ``args`` and attributes (those a codec stores; args that
    hold a value none stores become ``[str(exc)]``), without traceback or cause.

    A builtin exception is rebuilt as ``cls(*args)``, which also restores the fields its
    constructor derives (``OSError.errno``, ``UnicodeError.start``). LangGraph's take other
    constructor arguments than their ``args`` (``NodeTimeoutError(node, elapsed, kind=...)``),
    so they are rebuilt without calling ``__init__``: ``args`` and the attributes are set back.
    """

    tag: str = "langgraph.error"
    types: tuple[type, ...] = tuple(EXCEPTIONS.values())

    def encode(self, obj: Any, encode: Encode) -> Any:
        try:
            args = encode(list(obj.args))
        except Unencodable:
            args = [str(obj)]
        attributes = {}
        for name, value in vars(obj).items():
            try:
                attributes[name] = encode(value)
            except Unencodable:
                continue
        return {"type": _EXCEPTION_NAMES[type(obj)], "args": args, "attributes": attributes}

    def decode(self, data: Any, decode: Decode) -> Any:
        name = data["type"]
        cls = EXCEPTIONS.get(name)
        if cls is None:
            raise ValueError(f"{name!r} is not an exception class this codec builds")
        args = decode(data["args"])
        if cls.__module__ == "builtins":
            exc = cls(*args)
        else:
            exc = cls.__new__(cls)
            exc.args = tuple(args)
        vars(exc).update(decode(data["attributes"]))
        return exc


def _named_tuple(tag: str, cls: type) -> FieldsCodec:
    fields: tuple[str, ...] = cls._fields  # type: ignore[attr-defined]
    return FieldsCodec(tag, cls, fields)


CODECS = (
    InterruptCodec(),
    FieldsCodec("langgraph.send", Send, ("node", "arg", "timeout")),
    FieldsCodec("langgraph.command", Command, ("graph", "update", "resume", "goto")),
    FieldsCodec("langgraph.overwrite", Overwrite, ("value",)),
    FieldsCodec("langgraph.graph_output", GraphOutput, ("value", "interrupts")),
    FieldsCodec(
        "langgraph.timeout_policy", TimeoutPolicy, ("run_timeout", "idle_timeout", "refresh_on")
    ),
    _named_tuple("langgraph.state_snapshot", StateSnapshot),
    _named_tuple("langgraph.pregel_task", PregelTask),
    ErrorCodec(),
)
for _codec in CODECS:
    register_codec(_codec)
