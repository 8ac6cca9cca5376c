"""Record modes: what a session may do, and the default on a laptop versus in CI."""

from __future__ import annotations

import pytest

from streamtest import RecordMode
from streamtest._core.modes import Plan, default_record_mode


@pytest.mark.parametrize(
    ("mode", "exists", "replays", "records"),
    [
        pytest.param(RecordMode.NONE, True, True, False, id="none-existing"),
        pytest.param(RecordMode.NONE, False, False, False, id="none-missing"),
        pytest.param(RecordMode.ONCE, True, True, False, id="once-existing"),
        pytest.param(RecordMode.ONCE, False, False, True, id="once-missing"),
        pytest.param(RecordMode.NEW_EPISODES, True, True, True, id="new_episodes-existing"),
        pytest.param(RecordMode.NEW_EPISODES, False, False, True, id="new_episodes-missing"),
        pytest.param(RecordMode.ALL, True, False, True, id="all-existing"),
        pytest.param(RecordMode.ALL, False, False, True, id="all-missing"),
    ],
)
def test_plan(mode: RecordMode, exists: bool, replays: bool, records: bool) -> None:
    plan = Plan(mode, exists=exists)

    assert (plan.mode, plan.replays, plan.records) == (mode, replays, records)


@pytest.mark.parametrize(
    ("ci", "mode"),
    [
        pytest.param(None, RecordMode.ONCE, id="unset"),
        pytest.param("", RecordMode.ONCE, id="empty"),
        pytest.param("0", RecordMode.ONCE, id="zero"),
        pytest.param("false", RecordMode.ONCE, id="false"),
        pytest.param("False", RecordMode.ONCE, id="False"),
        pytest.param("no", RecordMode.ONCE, id="no"),
        pytest.param("true", RecordMode.NONE, id="true"),
        pytest.param("1", RecordMode.NONE, id="one"),
        pytest.param(" TRUE ", RecordMode.NONE, id="padded-upper"),
    ],
)
def test_default_record_mode_follows_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str | None, mode: RecordMode
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)

    assert default_record_mode() is mode


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        pytest.param("none", RecordMode.NONE, id="none"),
        pytest.param("once", RecordMode.ONCE, id="once"),
        pytest.param("new_episodes", RecordMode.NEW_EPISODES, id="new_episodes"),
        pytest.param("all", RecordMode.ALL, id="all"),
        pytest.param(RecordMode.ALL, RecordMode.ALL, id="already-a-mode"),
    ],
)
def test_parse(value: str, mode: RecordMode) -> None:
    assert RecordMode.parse(value) is mode


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("always", id="unknown"),
        pytest.param("new-episodes", id="dash"),
        pytest.param("", id="empty"),
    ],
)
def test_parse_error_lists_the_choices(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        RecordMode.parse(value)

    assert str(caught.value) == (
        f"record_mode {value!r} is not one of: none, once, new_episodes, all."
    )
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    ("value", "ci", "mode"),
    [
        pytest.param("all", None, RecordMode.ALL, id="all"),
        pytest.param("new_episodes", None, RecordMode.NEW_EPISODES, id="new_episodes"),
        pytest.param(" none ", None, RecordMode.NONE, id="padded"),
        pytest.param("all", "true", RecordMode.ALL, id="wins-over-ci"),
        pytest.param("once", "true", RecordMode.ONCE, id="once-wins-over-ci"),
        pytest.param("", "true", RecordMode.NONE, id="empty-falls-back-to-ci"),
        pytest.param("  ", None, RecordMode.ONCE, id="blank-falls-back"),
    ],
)
def test_default_record_mode_follows_streamtest_record_mode(
    monkeypatch: pytest.MonkeyPatch, value: str, ci: str | None, mode: RecordMode
) -> None:
    monkeypatch.setenv("STREAMTEST_RECORD_MODE", value)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)

    assert default_record_mode() is mode


def test_bad_streamtest_record_mode_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMTEST_RECORD_MODE", "always")

    with pytest.raises(ValueError) as caught:
        default_record_mode()

    assert str(caught.value) == (
        "STREAMTEST_RECORD_MODE 'always' is not one of: none, once, new_episodes, all."
    )
