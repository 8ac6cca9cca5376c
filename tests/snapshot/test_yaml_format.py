"""The snapshot file format: `to_plain` and `to_yaml`, and the syrupy extension's serializer."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import subprocess
import sys
import uuid
from collections import namedtuple
from decimal import Decimal
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

import msgspec
import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]
from syrupy.filters import props
from syrupy.matchers import path_type

import streamtest
from streamtest.snapshot import YAMLSnapshotExtension, to_plain, to_yaml


class Color(enum.Enum):
    RED = "red"


Point = namedtuple("Point", "x y")


@dataclasses.dataclass
class Call:
    name: str
    args: dict[str, Any]


class Struct(msgspec.Struct):
    a: int
    b: tuple[int, ...]


def test_a_stream_summary_reads_as_written() -> None:
    value = {
        "type": "ai",
        "content": "Bonjour à tous,\nhello\n",
        "tool_calls": [{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}],
        "usage": None,
        "tags": [],
        "extra": {},
    }
    assert to_yaml(value) == (
        "type: ai\n"
        "content: |\n"
        "  Bonjour à tous,\n"
        "  hello\n"
        "tool_calls:\n"
        "  - name: get_weather\n"
        "    args:\n"
        "      city: Paris\n"
        "    id: call_1\n"
        "usage: null\n"
        "tags: []\n"
        "extra: {}\n"
    )


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        pytest.param((1, (2, 3)), [1, [2, 3]], id="tuples are lists"),
        pytest.param({3, 1, 2}, [1, 2, 3], id="sets sorted"),
        pytest.param(frozenset({"b", 1}), [1, "b"], id="mixed sets by type name"),
        pytest.param(Color.RED, "red", id="enum"),
        pytest.param({Color.RED: 1, 2: 3, (4, 5): 6}, {"red": 1, 2: 3, "(4, 5)": 6}, id="keys"),
        pytest.param(Point(1, 2), {"x": 1, "y": 2}, id="named tuple"),
        pytest.param(Call("f", {"a": (1,)}), {"name": "f", "args": {"a": [1]}}, id="dataclass"),
        pytest.param(Struct(a=1, b=(2,)), {"a": 1, "b": [2]}, id="msgspec struct"),
        pytest.param(b"\x00ab", "b'\\x00ab'", id="bytes"),
        pytest.param(datetime.date(2024, 1, 2), "2024-01-02", id="date"),
        pytest.param(
            datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
            "2024-01-02T03:04:05+00:00",
            id="datetime",
        ),
        pytest.param(uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001", id="uuid"),
        pytest.param(Decimal("1.10"), "1.10", id="decimal"),
        pytest.param(PureWindowsPath("a\\b.txt"), "a/b.txt", id="windows path"),
        pytest.param(PurePosixPath("a/b.txt"), "a/b.txt", id="posix path"),
        pytest.param(
            streamtest.ToolCall(name="f", arguments={"a": 1}, id="call_1"),
            streamtest.ToolCall(name="f", arguments={"a": 1}, id="call_1").to_dict(),
            id="to_dict",
        ),
    ],
)
def test_values_become_plain_data(value: Any, plain: Any) -> None:
    assert to_plain(value) == plain


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("one\ntwo", id="no final newline"),
        pytest.param("one\ntwo\n\n", id="final newlines"),
        pytest.param("  indented\nsecond", id="leading spaces"),
        pytest.param("trailing  \nspaces", id="trailing spaces: quoted"),
        pytest.param("carriage\r\nreturn", id="CR: quoted"),
        pytest.param("yes", id="looks like a boolean"),
        pytest.param("1.0", id="looks like a number"),
        pytest.param("- not a list", id="looks like a list"),
        pytest.param("word " * 60 + "end", id="long: never folded"),
        pytest.param("emoji \U0001f600 and \u00e9", id="unicode"),
    ],
)
def test_strings_round_trip_through_a_yaml_reader(text: str) -> None:
    written = to_yaml({"text": text})
    assert yaml.safe_load(written) == {"text": text}
    if "\n" in text and "\r" not in text and "  \n" not in text:
        assert written.startswith("text: |")
    if "\n" not in text:
        assert written.count("\n") == 1  # one line, however long


def test_equal_values_give_equal_text() -> None:
    first = {"s": {"b", "a", "c"}, "n": [1.5, float("inf")], "d": {"z": 1, "a": 2}}
    second = {"s": {"c", "a", "b"}, "n": [1.5, float("inf")], "d": {"z": 1, "a": 2}}
    assert to_yaml(first) == to_yaml(second)
    assert to_yaml(first).index("z:") < to_yaml(first).index("a:")  # insertion order kept


def test_a_shared_object_is_written_twice_not_as_an_alias() -> None:
    shared = {"a": 1}
    assert to_yaml([shared, shared]) == "- a: 1\n- a: 1\n"


def test_an_unknown_type_is_refused_with_its_place() -> None:
    with pytest.raises(TypeError, match=r"Cannot write a object at \['calls'\]\[0\] to a YAML"):
        to_plain({"calls": [object()]})


def test_a_cycle_is_refused() -> None:
    looped: list[Any] = []
    looped.append(looped)
    with pytest.raises(ValueError, match=r"The value at \[0\] contains itself"):
        to_plain(looped)


def test_syrupy_filters_and_matchers_apply() -> None:
    extension = YAMLSnapshotExtension()
    value = {"id": "x", "at": datetime.datetime(2024, 1, 2), "keep": {"id": "y"}}

    text = extension.serialize(
        value,
        exclude=props("keep"),
        matcher=path_type({"at": (datetime.datetime,)}, replacer=lambda data, _: "<time>"),
    )

    assert text == "id: x\nat: <time>\n"


def test_importing_the_plugin_or_the_package_stays_light() -> None:
    code = (
        "import sys, streamtest._pytest_plugin; a = sorted(m for m in ('syrupy', 'yaml', "
        "'langchain_core') if m in sys.modules); import streamtest.snapshot; b = sorted(m for m "
        "in ('yaml', 'langchain_core') if m in sys.modules); print(a, b)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[] []", result.stderr


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param("answer", "answer\n", id="string"),
        pytest.param(None, "null\n", id="none"),
        pytest.param("...", "'...'\n", id="the end marker itself"),
        pytest.param([1, [2, 3]], "- 1\n- - 2\n  - 3\n", id="list"),
    ],
)
def test_top_level_values(value: Any, text: str) -> None:
    assert to_yaml(value) == text
    assert yaml.safe_load(text) == value
