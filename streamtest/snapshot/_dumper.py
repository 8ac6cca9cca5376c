"""PyYAML's pure-Python safe dumper, set up for snapshot files (imported on first use)."""

from __future__ import annotations

from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]

__all__ = ["dump"]


class _Dumper(yaml.SafeDumper):  # type: ignore[misc, unused-ignore]
    """Never libyaml's ``CSafeDumper``: its output can differ, and a snapshot must not."""

    def ignore_aliases(self, data: Any) -> bool:
        return True  # plain data is a tree: never "&id001" / "*id001"

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)  # "key:\n  - item", not "key:\n- item"


def _represent_str(dumper: Any, data: str) -> Any:
    # A block literal where YAML allows one; else PyYAML falls back to a quoted scalar.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def dump(plain: Any) -> str:
    """YAML text for plain data (dicts, lists, str, int, float, bool, None)."""
    text: str = yaml.dump(
        plain,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        indent=2,
        width=2**31 - 1,  # never fold a long line: a changed word stays a one-line diff
    )
    # A lone top-level scalar ends with the optional document end marker; a reader needs none.
    return text.removesuffix("...\n") if text.endswith("\n...\n") else text
