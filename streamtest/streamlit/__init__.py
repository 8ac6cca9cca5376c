"""Streamlit adapter: run an app under ``streamlit.testing.v1.AppTest`` while a cassette replays
underneath, and see what it showed, frame by frame.

``import streamtest`` never loads this module; importing it needs ``streamlit``::

    from streamlit.testing.v1 import AppTest
    from streamtest.streamlit import capture_app

    at = AppTest.from_file("app.py")
    with capture_app(at, cassette="cassettes/chat.jsonl") as shown:
        at.run()
        at.chat_input[0].set_value("Tell me a joke").run()
    assert shown.value == "Why did the ..."      # what st.write_stream returned
    assert len(shown.texts()) > 2                # the answer being typed out
    stream_snapshot.app(shown)                   # frames, values and final elements

HTTP made by SDKs inside the app replays at the wire (``streams="wire"``, the default); with
``streams="objects"`` the items each ``st.write_stream`` receives from a generator are recorded
and replayed as an object stream named ``"st.write_stream"``, and the generator does not run.
"""

from __future__ import annotations

try:
    import streamlit  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "streamtest.streamlit needs streamlit, which is not installed; "
        'install it with: pip install "streamtest[streamlit]"'
    ) from exc

from . import _codec  # noqa: F401  (registers the DataFrame codec for object streams)
from ._capture import AppRun, capture_app, run_app
from ._frames import STREAM_NAME, Frame

__all__ = ["STREAM_NAME", "AppRun", "Frame", "capture_app", "run_app"]
