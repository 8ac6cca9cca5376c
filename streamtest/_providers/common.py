"""Small helpers every API's aggregator shares."""

from __future__ import annotations

import json
from typing import Any

from .._core.errors import StreamtestError

REASONING_BLOCK_SEPARATOR = "\n\n"
"""Between separate reasoning blocks (summary parts, thinking blocks); fragments of one block
that arrive as deltas are concatenated as they are."""


def parse_arguments(value: Any) -> Any:
    """Tool arguments as JSON values: a JSON string parsed, an invalid one kept as the string,
    anything already parsed (Anthropic's ``input``, Gemini's ``args``) as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one: real streams put nulls, and
    sometimes other types, where an object usually is."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def add_reasoning_block(parts: list[str], text: str) -> None:
    """Append a whole reasoning block, separated from the previous one."""
    if not text:
        return
    if parts:
        parts.append(REASONING_BLOCK_SEPARATOR)
    parts.append(text)


def missing_sdk(what: str, package: str, extra: str) -> StreamtestError:
    return StreamtestError(
        f"Aggregating {what} needs the {package} SDK, which is not installed; install it "
        f'with pip install "streamtest[{extra}]".'
    )
