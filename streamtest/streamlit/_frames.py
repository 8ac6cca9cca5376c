"""Frames: what one Streamlit delta showed, reduced to what is stable between runs.

A frame is the new state of one element (or container) of the page: its place (the delta path,
``(0, 1, 0)`` is the first child of the main area's second element), its kind and its value.
Markdown is its text without ``write_stream``'s cursor; a dataframe its columns, index and rows;
an exception its type and message (no stack trace: it holds paths); any other element its
protobuf fields, minus ids and layout flags.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

STREAM_NAME = "st.write_stream"
"""The name of the object streams that ``streams="objects"`` records, one per call."""

EMPTY = "empty"
"""The kind of a placeholder (``st.empty()``, and write_stream's before its first text)."""

_DROPPED = frozenset(
    {"id", "element_id", "form_id", "wrap", "unterminated_parsing", "help", "width_config"}
)


@dataclass(frozen=True, slots=True)
class Frame:
    """One element's new state. ``run``: which run of the app (0 for the first ``at.run()``);
    ``stream``: which ``st.write_stream`` call drew it (0 for the first of the capture), or None;
    ``path``: the element's place; ``kind``: ``markdown``, ``caption``, ``dataframe``, ``json``,
    ``exception``, ``block:chat_message``, ...; ``value``: plain data (see the module doc)."""

    run: int
    stream: int | None
    path: tuple[int, ...]
    kind: str
    value: Any

    @property
    def text(self) -> str | None:
        """The text of a markdown-like frame, else None."""
        return self.value if isinstance(self.value, str) else None

    def to_data(self) -> dict[str, Any]:
        """The frame as plain data, its path written ``"0.1.0"``."""
        data: dict[str, Any] = {"run": self.run}
        if self.stream is not None:
            data["stream"] = self.stream
        data |= {"path": ".".join(map(str, self.path)), "kind": self.kind, "value": self.value}
        return data


def delta_of(msg: Any) -> tuple[tuple[int, ...], str, Any] | None:
    """``(path, kind, value)`` of a ForwardMsg that changes the page, or None."""
    if msg.WhichOneof("type") != "delta":
        return None
    delta, path = msg.delta, tuple(msg.metadata.delta_path)
    which = delta.WhichOneof("type")
    if which == "new_element":
        kind = delta.new_element.WhichOneof("type")
        return path, *_element(kind, getattr(delta.new_element, kind))
    if which == "add_block":
        kind = delta.add_block.WhichOneof("type") or "container"
        value = getattr(delta.add_block, kind) if delta.add_block.HasField(kind) else None
        return path, f"block:{kind}", _fields(value) if value is not None else {}
    if which == "arrow_add_rows":
        return path, "add_rows", _dataframe(delta.arrow_add_rows.data.data)
    return None


def strip_cursor(value: Any, cursor: str) -> Any:
    """A markdown text without ``write_stream``'s cursor at its end."""
    if cursor and isinstance(value, str) and value.endswith(cursor):
        return value[: -len(cursor)]
    return value


def _element(kind: str, proto: Any) -> tuple[str, Any]:
    if kind == "markdown":
        flavour = _enum_name(proto, "element_type").lower()
        return ("markdown" if flavour in ("", "native") else flavour), proto.body
    if kind in ("arrow_data_frame", "dataframe"):
        return "dataframe", _dataframe(proto.arrow_data.data if kind == "dataframe" else proto.data)
    if kind == "exception":
        return kind, {"type": proto.type, "message": proto.message}
    if kind == "json":
        return kind, json.loads(proto.body)
    if kind == "empty":
        return EMPTY, None
    return kind, _fields(proto)


def _enum_name(proto: Any, field: str) -> str:
    descriptor = proto.DESCRIPTOR.fields_by_name.get(field)
    if descriptor is None or descriptor.enum_type is None:
        return ""
    return str(descriptor.enum_type.values_by_number[getattr(proto, field)].name)


def _fields(proto: Any) -> Any:
    from google.protobuf.json_format import MessageToDict

    data = MessageToDict(proto, preserving_proto_field_name=True)
    return {key: value for key, value in sorted(data.items()) if key not in _DROPPED}


def _dataframe(arrow: bytes) -> dict[str, Any]:
    """A dataframe sent as Arrow IPC bytes, as plain columns, index and rows."""
    from streamlit import dataframe_util

    frame = dataframe_util.convert_arrow_bytes_to_pandas_df(arrow)
    return dataframe_data(frame)


def dataframe_data(frame: Any) -> dict[str, Any]:
    """A pandas DataFrame as ``{"columns", "index", "data"}`` of plain values."""
    split = frame.to_dict(orient="split")
    return {
        "columns": [_plain(c) for c in split["columns"]],
        "index": [_plain(i) for i in split["index"]],
        "data": [[_plain(v) for v in row] for row in split["data"]],
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) else str(value)


def plain_value(value: Any) -> Any:
    """A ``write_stream`` return value (text, or a list of what it wrote) as plain data."""
    if isinstance(value, list):
        return [plain_value(item) for item in value]
    if type(value).__name__ == "DataFrame" and hasattr(value, "to_dict"):
        return {"dataframe": dataframe_data(value)}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return {"repr": type(value).__qualname__}
