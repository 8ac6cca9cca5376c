"""Object-stream codecs for what Streamlit apps stream besides text: pandas DataFrames.

Loaded by the object-stream registry for any class from ``pandas`` (see
``streamtest._objects.registry.ADAPTERS``), and when ``streamtest.streamlit`` is imported.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._objects.registry import Decode, Encode, register_codec


class DataFrameCodec:
    """A DataFrame as its columns, index, rows and column dtypes; it comes back ``equals`` the
    original (values, labels and dtypes; not attributes such as ``attrs`` or ``flags``)."""

    tag = "streamlit.pandas.DataFrame"
    types: tuple[type, ...] = (pd.DataFrame,)

    def encode(self, obj: Any, encode: Encode) -> Any:
        split = obj.to_dict(orient="split")
        return {
            "columns": encode(list(split["columns"])),
            "index": encode(list(split["index"])),
            "data": encode([list(row) for row in split["data"]]),
            "dtypes": [str(dtype) for dtype in obj.dtypes],
        }

    def decode(self, data: Any, decode: Decode) -> Any:
        frame = pd.DataFrame(
            decode(data["data"]), index=decode(data["index"]), columns=decode(data["columns"])
        )
        return frame.astype(dict(zip(frame.columns, data["dtypes"], strict=True)))


register_codec(DataFrameCodec())
