"""One module of the generated suite (copied as ``test_par_<m>.py``): ``PAR_TESTS`` tests.

Test ``n`` sends 1 to 3 streaming requests with prompts no other test sends, records one object
stream, and reports what it got. Its cassette, by ``n % 5``: 0-2, one of three cassettes shared
by the module's tests (``shared/g<k>.jsonl``, relative to the module's cassette folder); 3, one
cassette shared by every module (``PAR_COMMON``, an absolute path); 4, its own. Shared
cassettes record in mode ``new_episodes`` (each test adds its interactions), own ones in
``once``; ``--streamtest-record-mode none`` replays them all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from par_client import chat, report

import streamtest

MODULE = Path(__file__).stem
COUNT = int(os.environ["PAR_TESTS"])


def marks(n: int) -> Any:
    kind = n % 5
    if kind < 3:
        return pytest.mark.streamtest(f"shared/g{kind}.jsonl", record_mode="new_episodes")
    if kind == 3:
        return pytest.mark.streamtest(os.environ["PAR_COMMON"], record_mode="new_episodes")
    return pytest.mark.streamtest(record_mode="once")


@pytest.mark.parametrize("n", [pytest.param(n, id=f"n{n}", marks=marks(n)) for n in range(COUNT)])
def test_stream(n: int, cassette: streamtest.Cassette) -> None:
    name = f"{MODULE}-n{n}"
    prompts = [f"{name}-r{r}" for r in range(1 + n % 3)]
    texts = [
        chat(prompt, stack="httpx2" if (n + r) % 2 else "httpx") for r, prompt in enumerate(prompts)
    ]
    assert texts == [f"Answer [{prompt}]" for prompt in prompts]
    items = list(streamtest.record_stream(iter(prompts), name="prompts", key=name))
    report(name, cassette=str(cassette.path), prompts=prompts, texts=texts, items=items)
