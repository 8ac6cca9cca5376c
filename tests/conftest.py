"""Shared fixtures: the loopback provider server; no test inherits the CI record-mode default."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fixtures.provider_server import ProviderServer


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    """A loopback provider on 127.0.0.1; tests stop it to prove replay needs no network."""
    with ProviderServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _no_ci_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose record modes explicitly; the suite's own CI variable (or a
    STREAMTEST_RECORD_MODE, as `streamtest record -- pytest` sets) must not change them."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("STREAMTEST_RECORD_MODE", raising=False)
