"""LangChain adapter: compare ``astream_events`` output across runs and replays.

``import streamtest`` never loads this module; importing it needs ``langchain-core``::

    from streamtest.langchain import normalize_events

    events = [event async for event in chain.astream_events(inputs, version="v2")]
    assert normalize_events(events) == expected
"""

from __future__ import annotations

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "streamtest.langchain needs langchain-core, which is not installed; "
        'install it with: pip install "streamtest[langchain]"'
    ) from exc

from ._model import CassetteChatModel
from ._normalize import NormalizeRule, normalize, normalize_events
from ._summary import summarize

__all__ = ["CassetteChatModel", "NormalizeRule", "normalize", "normalize_events", "summarize"]
