"""The generated suite's client (tests/reliability/test_parallel_suites.py copies it).

``chat`` streams one chat completion from ``PAR_BASE`` through plain httpx or httpx2 (the stack
of the openai 3.x SDK) and joins the deltas' text; ``report`` leaves a test's results in
``PAR_RESULTS/<name>.json`` for the outer test to compare with another run's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import httpx2

CLIENTS: dict[str, Any] = {"httpx": httpx.Client(timeout=30), "httpx2": httpx2.Client(timeout=30)}


def chat(prompt: str, *, stack: str) -> str:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": prompt}]}
    url = os.environ["PAR_BASE"] + "/chat/completions"
    parts = []
    with CLIENTS[stack].stream("POST", url, json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                for choice in json.loads(line[6:])["choices"]:
                    parts.append(choice["delta"].get("content") or "")
    return "".join(parts)


def report(name: str, **values: Any) -> None:
    Path(os.environ["PAR_RESULTS"], f"{name}.json").write_text(json.dumps(values))
