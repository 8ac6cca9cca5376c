"""LangGraph adapter: stable, readable graph streams, and graph streams replayed without a graph.

``import streamtest`` never loads this module; importing it needs ``langgraph``::

    from streamtest.langgraph import normalize_parts

    parts = list(graph.stream(inputs, config, stream_mode=["updates", "messages", "custom"]))
    assert normalize_parts(parts) == expected
"""

from __future__ import annotations

try:
    import langgraph  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "streamtest.langgraph needs langgraph, which is not installed; "
        'install it with: pip install "streamtest[langgraph]"'
    ) from exc

from ._graph import CassetteGraph
from ._normalize import PartRule, normalize_parts, normalize_state

__all__ = ["CassetteGraph", "PartRule", "normalize_parts", "normalize_state"]
