"""The recording process that tests/reliability/test_crash_safety.py kills with SIGKILL.

``python crash_child.py CONFIG_JSON``: until ``seconds`` have passed, runs short
``use_cassette`` blocks in a loop, each streaming ``requests`` chat completions (httpx2, as the
openai 3.x SDK does) with prompts no other block sends and recording one object stream, so
every block saves (rewrites) the cassette. After each block it also records a standalone object
stream into a second file (``record_stream(..., path=...)``, merged into that file). After each
save it appends ``{"file", "block", "sha256"}`` to the log and fsyncs it: the parent then knows
every version that was completely saved.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx2

import streamtest


def prompts(trial: int, block: int, requests: int) -> list[str]:
    """The prompts block ``block`` of trial ``trial`` sends (the parent computes them too)."""
    return [f"t{trial}-b{block}-r{r}" for r in range(requests)]


def items(key: str) -> list[Any]:
    """The items of the object streams keyed ``key`` (the parent computes them too)."""
    return [key, ("tuple", 1), {"n": len(key)}, None]


def chat(client: httpx2.Client, base: str, prompt: str) -> str:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": prompt}]}
    parts = []
    with client.stream("POST", f"{base}/chat/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                for choice in json.loads(line[6:])["choices"]:
                    parts.append(choice["delta"].get("content") or "")
    return "".join(parts)


def main() -> None:
    config = json.loads(sys.argv[1])
    trial, mode, base = config["trial"], config["mode"], config["base"]
    cassette, objects = Path(config["cassette"]), Path(config["objects"])
    deadline = time.monotonic() + config["seconds"]
    log = os.open(config["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def note(file: str, path: Path, block: int) -> None:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        line = json.dumps({"file": file, "block": block, "sha256": digest}) + "\n"
        os.write(log, line.encode())
        os.fsync(log)

    block = 0
    with httpx2.Client(timeout=10) as client:
        while block == 0 or time.monotonic() < deadline:
            key = f"t{trial}-b{block}"
            with streamtest.use_cassette(cassette, record_mode=mode):
                for prompt in prompts(trial, block, config["requests"]):
                    chat(client, base, prompt)
                list(streamtest.record_stream(iter(items(key)), name="words", key=key))
            note("cassette", cassette, block)
            solo = streamtest.record_stream(
                iter(items(key)), name="solo", key=key, path=objects, record_mode=mode
            )
            list(solo)
            note("objects", objects, block)
            block += 1
    os.close(log)


if __name__ == "__main__":
    main()
