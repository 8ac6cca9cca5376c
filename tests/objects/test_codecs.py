"""Item codecs: every value comes back exactly (tuples stay tuples, wherever they sit), registered
classes round-trip, and anything unknown fails with a message that names the fix."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import sys
from pathlib import Path
from typing import Any

import msgspec
import pydantic
import pytest

import streamtest
from streamtest._objects.codecs import Undecodable, decode, encode


def types_of(value: Any) -> Any:
    """The exact type of every node, so ``1``, ``1.0`` and ``True`` (all equal) tell apart."""
    if type(value) in (list, tuple):
        return (type(value).__name__, [types_of(item) for item in value])
    if type(value) is dict:
        return ("dict", [(types_of(k), types_of(v)) for k, v in value.items()])
    if type(value) in (set, frozenset):
        return (type(value).__name__, sorted(repr(types_of(item)) for item in value))
    return type(value).__name__


def through_a_file(value: Any) -> Any:
    """Encode, write as JSON, read back, decode: what a cassette does to an item."""
    return decode(msgspec.json.decode(msgspec.json.encode(encode(value))))


@pytest.mark.parametrize(
    "value",
    [
        pytest.param([{"a": (1, (2, "x"), [3.5, (None,)])}, ()], id="tuples-in-dicts-in-lists"),
        pytest.param({"blob": b"\x00\xff\xfe binary", "empty": b""}, id="bytes"),
        pytest.param({1: "one", (2, 3): "pair", None: 0, False: "f", 2.5: "x"}, id="non-str-keys"),
        pytest.param({"$type": "tuple", "value": [1, 2]}, id="a-dict-that-looks-tagged"),
        pytest.param({"$type": 1, 2: 3}, id="type-key-and-int-key"),
        pytest.param([{"$type": {"$type": "x"}}], id="nested-type-collision"),
        pytest.param([math.inf, -math.inf, -0.0, 1e308, 5e-324], id="floats"),
        pytest.param({3, 1, 2}, id="set"),
        pytest.param(frozenset({"b", "a"}), id="frozenset"),
        pytest.param({1, "a", (2,)}, id="set-of-unsortables"),
        pytest.param([True, 1, 1.0, False, 0], id="bool-int-float"),
        pytest.param(2**100, id="big-int"),
        pytest.param("héllo 😀 \u2028", id="unicode"),
        pytest.param(None, id="none"),
        pytest.param({"": [], "nested": {"deep": {"tuple": (1,)}}}, id="deep"),
    ],
)
def test_values_come_back_exactly_through_a_file(value: Any) -> None:
    back = through_a_file(value)

    assert back == value
    assert types_of(back) == types_of(value)


def test_nan_comes_back_as_nan() -> None:
    back = through_a_file({"x": (math.nan,)})

    assert math.isnan(back["x"][0])
    assert types_of(back) == ("dict", [("str", ("tuple", ["float"]))])


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        pytest.param((1, "a"), {"$type": "tuple", "value": [1, "a"]}, id="tuple"),
        pytest.param(b"hi", {"$type": "bytes", "value": "aGk="}, id="bytes"),
        pytest.param(math.nan, {"$type": "float", "value": "nan"}, id="nan"),
        pytest.param(-math.inf, {"$type": "float", "value": "-inf"}, id="minus-inf"),
        pytest.param({1: 2}, {"$type": "dict", "value": [[1, 2]]}, id="int-key"),
        pytest.param({"$type": 1}, {"$type": "dict", "value": [["$type", 1]]}, id="type-key"),
        pytest.param({3, 1, 2}, {"$type": "set", "value": [1, 2, 3]}, id="set-sorted"),
        pytest.param({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}, id="plain-json-as-is"),
    ],
)
def test_the_stored_form_is_readable_json(value: Any, encoded: Any) -> None:
    assert encode(value) == encoded


# Registered classes: module level, as a user's would be.


@streamtest.register_type
@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float
    labels: tuple[str, ...] = ()
    cached: int = dataclasses.field(default=0, init=False)


@streamtest.register_type
@dataclasses.dataclass
class Shape:
    points: list[Point]
    meta: dict[Any, Any]


class Color(enum.Enum):
    RED = "red"
    BLUE = (0, 0, 255)


streamtest.register_type(Color)


class Step(pydantic.BaseModel):
    name: str
    args: tuple[int, ...]
    nested: Point | None = None
    shown_as: str = pydantic.Field(default="", alias="shownAs")


streamtest.register_type(Step)


def test_a_registered_dataclass_round_trips_with_its_nested_values() -> None:
    shape = Shape([Point(1.0, 2.5, ("a", "b")), Point(0.0, -1.0)], {(1, 2): b"\x00"})

    back = through_a_file([shape])

    assert back == [shape]
    assert type(back[0].points[0]) is Point
    assert back[0].points[0].labels == ("a", "b")
    assert encode(Point(1.0, 2.0))["$type"] == f"type:{__name__}.Point"


def test_a_registered_pydantic_model_round_trips() -> None:
    step = Step(name="search", args=(1, 2), nested=Point(3.0, 4.0), shownAs="Search")

    back = through_a_file({"step": step})["step"]

    assert back == step
    assert type(back) is Step and back.args == (1, 2) and back.shown_as == "Search"


def test_a_registered_enum_round_trips() -> None:
    assert through_a_file([Color.RED, Color.BLUE]) == [Color.RED, Color.BLUE]


def test_register_type_refuses_a_plain_class_and_names_the_alternative() -> None:
    class Plain:
        pass

    with pytest.raises(TypeError, match=r"register_codec"):
        streamtest.register_type(Plain)


def test_a_subclass_of_a_registered_class_is_not_stored_as_its_base() -> None:
    @dataclasses.dataclass(frozen=True)
    class Point3(Point):
        z: float = 0.0

    with pytest.raises(Exception, match="Point3"):
        encode(Point3(1.0, 2.0, z=3.0))


class Span:
    """A class with no dataclass or pydantic machinery: it needs a codec of its own."""

    def __init__(self, start: int, end: int, tags: tuple[str, ...]) -> None:
        self.start, self.end, self.tags = start, end, tags

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Span) and vars(self) == vars(other)


@dataclasses.dataclass(frozen=True)
class SpanCodec:
    tag: str = "tests.span"
    types: tuple[type, ...] = (Span,)

    def encode(self, obj: Any, encode: Any) -> Any:
        return {"range": encode((obj.start, obj.end)), "tags": encode(obj.tags)}

    def decode(self, data: Any, decode: Any) -> Any:
        start, end = decode(data["range"])
        return Span(start, end, decode(data["tags"]))


streamtest.register_codec(SpanCodec())


def test_a_custom_codec_nests_through_the_recursive_encoder() -> None:
    value = {"spans": [Span(0, 4, ("noun",)), Span(5, 9, ())]}

    back = through_a_file(value)

    assert back == value
    assert type(back["spans"][0].tags) is tuple
    assert encode(Span(0, 1, ()))["value"] == {
        "range": {"$type": "tuple", "value": [0, 1]},
        "tags": {"$type": "tuple", "value": []},
    }


@pytest.mark.parametrize("tag", ["tuple", "bytes", "", "dict"])
def test_a_codec_cannot_take_a_builtin_or_empty_tag(tag: str) -> None:
    with pytest.raises(ValueError, match="built-in tags"):
        streamtest.register_codec(SpanCodec(tag=tag))


# Failures: unknown objects when recording, unknown or broken tags when replaying.


class Unregistered:
    pass


def test_an_unregistered_item_fails_at_that_item_naming_type_index_stream_and_fix(
    tmp_path: Path,
) -> None:
    items = [{"ok": 1}, {"p": [0, Unregistered()]}]
    seen = []

    with pytest.raises(streamtest.UnencodableItemError) as caught:
        seen.extend(streamtest.record_stream(items, name="tokens", path=tmp_path / "c.jsonl"))

    message = str(caught.value)
    assert message.startswith("Item 1 of the object stream 'tokens' cannot be recorded")
    assert f"{__name__}.Unregistered at ['p'][1]" in message
    assert "streamtest.register_type(Unregistered)" in message
    assert "streamtest.register_codec" in message
    assert isinstance(caught.value, TypeError)
    assert seen == [{"ok": 1}]  # the first item passed live; the failure came at the second
    assert not (tmp_path / "c.jsonl").exists()  # a stream with a hole is not kept


def write_stream(path: Path, *items: Any) -> Path:
    lines = [
        {"streamtest": 1},
        {"stream": {"name": "answer"}},
        *({"t": 0.1 * i, "item": item} for i, item in enumerate(items)),
        {"end": "completed", "items": len(items)},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.mark.parametrize(
    ("stored", "fragments"),
    [
        pytest.param(
            {"$type": "type:collections.OrderedDict", "value": {}},
            ["no codec is registered for the tag 'type:collections.OrderedDict'", "register_type"],
            id="unregistered-type-tag",
        ),
        pytest.param(
            {"$type": "mystery", "value": 1},
            ["no codec is registered for the tag 'mystery'"],
            id="unknown-tag",
        ),
        pytest.param(
            {"$type": "langgraph.state", "value": 1},
            ["'langgraph.state'", "streamtest.langgraph._codec could not be imported"],
            id="adapter-that-is-not-there",
        ),
        pytest.param({"$type": "tuple", "value": 5}, ["a 'tuple' value is a list"], id="tuple"),
        pytest.param({"$type": "bytes", "value": "!!"}, ["a 'bytes' value is malformed"], id="b64"),
        pytest.param(
            {"$type": "float", "value": "big"}, ["'float' value is malformed"], id="float"
        ),
        pytest.param({"$type": "dict", "value": [[1]]}, ["a [key, value] pair"], id="dict-pair"),
        pytest.param({"$type": "dict", "value": [[[1], 2]]}, ["unhashable"], id="list-as-key"),
        pytest.param({"$type": "tuple"}, ['exactly the keys "$type"'], id="no-value"),
        pytest.param({"$type": "tuple", "value": [], "x": 1}, ["exactly the keys"], id="extra"),
        pytest.param({"$type": 7, "value": 1}, ['"$type" (a string)'], id="tag-not-a-string"),
        pytest.param(
            {"$type": f"type:{__name__}.Point", "value": {"x": 1.0}},
            [f"the codec for 'type:{__name__}.Point' cannot rebuild it", "TypeError", "'y'"],
            id="registered-class-missing-a-field",
        ),
    ],
)
def test_an_item_that_cannot_be_decoded_names_the_cassette_stream_and_index(
    tmp_path: Path, stored: Any, fragments: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # as if langgraph were not installed, whether or not another test loaded its codecs
    monkeypatch.setitem(sys.modules, "streamtest.langgraph._codec", None)
    path = write_stream(tmp_path / "odd.jsonl", "fine", [stored])
    replayed = []

    with pytest.raises(streamtest.CassetteError) as caught:
        replayed.extend(streamtest.replay_stream(path, name="answer"))

    message = str(caught.value)
    assert message.startswith(f"Cassette {path} is invalid: item 1 of the object stream 'answer'")
    for fragment in fragments:
        assert fragment in message
    assert replayed == ["fine"]  # the items before the bad one replayed


def test_an_unknown_type_tag_imports_nothing(tmp_path: Path) -> None:
    assert "this_module_does_not_exist_yet" not in sys.modules
    path = write_stream(
        tmp_path / "evil.jsonl", {"$type": "type:this_module_does_not_exist_yet.Thing", "value": {}}
    )

    with pytest.raises(streamtest.CassetteError, match="no codec is registered"):
        list(streamtest.replay_stream(path, name="answer"))

    assert "this_module_does_not_exist_yet" not in sys.modules


def test_undecodable_is_internal_to_the_codecs() -> None:
    with pytest.raises(Undecodable):
        decode({"$type": "float", "value": "huge"})


def test_an_object_from_an_adapter_library_says_why_no_codec_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A class of the langgraph library, in a process where its adapter cannot be imported.
    monkeypatch.setitem(sys.modules, "streamtest.langgraph._codec", None)
    Thing = type("Thing", (), {"__module__": "langgraph.not_a_module"})

    with pytest.raises(streamtest.UnencodableItemError) as caught:
        list(streamtest.record_stream([Thing()], path=tmp_path / "lg.jsonl"))

    message = str(caught.value)
    assert "holds a langgraph.not_a_module.Thing, which no codec stores" in message
    assert "(streamtest.langgraph._codec could not be imported: " in message
