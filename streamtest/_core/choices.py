"""Parsing an option that must be one of an enum's values, with an error that lists them."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)


def parse_choice(cls: type[E], value: E | str, option: str) -> E:
    """``cls(value)``; a ValueError naming ``option`` and every choice when it is not one."""
    try:
        return cls(value)
    except ValueError:
        choices = ", ".join(member.value for member in cls)
        raise ValueError(f"{option} {value!r} is not one of: {choices}.") from None
