"""`streamtest serve`: an HTTP server on 127.0.0.1 that replays cassettes, with their timing, to
apps in any process or language that speak the recorded APIs (OpenAI chat and Responses,
Anthropic messages, or any other HTTP API that was recorded).

    _router   which recorded interaction answers a request, across cassettes
    _handler  one connection: the recorded response, chunk by chunk, at the recorded offsets
    _server   ReplayServer: binding, threads, clean stop

Imported only by the CLI and by code that asks for it: `import streamtest` loads no HTTP server.
"""

from __future__ import annotations

from ._router import SERVE_MATCH_ON, cassette_paths
from ._server import ReplayServer

__all__ = ["SERVE_MATCH_ON", "ReplayServer", "cassette_paths"]
