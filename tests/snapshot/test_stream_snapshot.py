"""The ``stream_snapshot`` fixture, end to end: inner test suites run by pytester in a subprocess.

Subprocesses, because syrupy keeps its session in a module global that an in-process inner run
would take over from the outer one.
"""

from __future__ import annotations

import re

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]

pytest_plugins = ["pytester"]

# Installed plugins the inner runs do not need (langsmith's alone costs ~1 s of start-up).
UNNEEDED_PLUGINS = ("cacheprovider", "langsmith_plugin", "anyio", "respx")

INNER = """
from langchain_core.messages import AIMessageChunk

RUN = "019a0000-0000-7000-8000-000000000001"


def test_answer(stream_snapshot):
    chunks = [
        AIMessageChunk(content="Bonjour", id="chatcmpl-1"),
        AIMessageChunk(
            content=" à tous,\\nhello",
            response_metadata={{"finish_reason": "stop", "model_name": "{model}"}},
            usage_metadata={{"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}},
        ),
        AIMessageChunk(content="", chunk_position="last", id="lc_run--" + RUN),
    ]
    stream_snapshot.aggregate(chunks)


def test_events(stream_snapshot):
    base = {{"run_id": RUN, "name": "model", "tags": ["t"], "metadata": {{"ls_provider": "x"}}}}
    events = [
        {{**base, "event": "on_chat_model_start", "data": {{"input": "hi"}}}},
        {{**base, "event": "on_chat_model_end", "data": {{"output": "Bonjour"}}}},
    ]
    stream_snapshot.events(events, rules=[lambda event: {{**event, "tags": []}}])


def test_plain(stream_snapshot):
    assert stream_snapshot == {{"n": 1, "pair": (1, 2)}}
    stream_snapshot.value("second", name="other")
"""

ANSWER_YAML = """\
type: ai
content: |-
  Bonjour à tous,
  hello
usage_metadata:
  input_tokens: 3
  output_tokens: 4
  total_tokens: 7
finish_reason: stop
model_name: gpt-4o-mini
id: chatcmpl-1
"""

EVENTS_YAML = """\
- event: on_chat_model_start
  name: model
  run: run1
  parent: null
  tags: []
  metadata: {}
  data:
    input: hi
- event: on_chat_model_end
  name: model
  run: run1
  parent: null
  tags: []
  metadata: {}
  data:
    output: Bonjour
"""


@pytest.fixture(autouse=True)
def _top_level_inner_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under ``-n``, this process is an xdist worker, and its environment says so: an inner
    run would inherit that and syrupy would act as a worker (no report, no own session)."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


def shows(*texts: str) -> list[str]:
    """fnmatch patterns for lines holding each text (``[``, ``]``, ``*``, ``?`` taken literally)."""
    return ["*" + re.sub(r"[][*?]", lambda found: f"[{found.group()}]", text) for text in texts]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    blocked = [arg for name in UNNEEDED_PLUGINS for arg in ("-p", f"no:{name}")]
    return pytester.runpytest_subprocess(*blocked, *args, timeout=120)


def write_tests(pytester: pytest.Pytester, *, model: str = "gpt-4o-mini") -> None:
    pytester.makepyfile(test_chat=INNER.format(model=model))


def snapshots(pytester: pytest.Pytester) -> dict[str, str]:
    folder = pytester.path / "__snapshots__" / "test_chat"
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*"))}


@pytest.mark.parametrize(
    "workers", [pytest.param((), id="plain"), pytest.param(("-n", "2"), id="xdist")]
)
def test_update_writes_yaml_the_next_run_passes_a_change_fails_with_a_diff(
    pytester: pytest.Pytester, workers: tuple[str, ...]
) -> None:
    write_tests(pytester)

    written = run(pytester, *workers, "--snapshot-update")

    written.assert_outcomes(passed=3)
    assert "4 snapshots generated" in written.stdout.str()
    assert snapshots(pytester) == {
        "test_answer[aggregate].yaml": ANSWER_YAML,
        "test_events[events].yaml": EVENTS_YAML,
        "test_plain.yaml": "n: 1\npair:\n  - 1\n  - 2\n",
        "test_plain[other].yaml": "second\n",
    }
    # What a reviewer reads is what a YAML reader loads.
    loaded = yaml.safe_load(snapshots(pytester)["test_answer[aggregate].yaml"])
    assert loaded["content"] == "Bonjour à tous,\nhello"

    again = run(pytester, *workers)

    again.assert_outcomes(passed=3)
    assert "4 snapshots passed" in again.stdout.str()

    write_tests(pytester, model="gpt-5")
    changed = run(pytester, *workers)

    changed.assert_outcomes(passed=2, failed=1)
    changed.stdout.fnmatch_lines(
        shows(
            "SnapshotMismatchError: Snapshot test_answer[aggregate] "
            "(__snapshots__/test_chat/test_answer[aggregate].yaml) differs from the received "
            "value; if the change is intended, run pytest with --snapshot-update to accept it.",
            "[- snapshot] [+ received]",
            "  finish_reason: stop",
            "- model_name: gpt-4o-mini",
            "+ model_name: gpt-5",
            "  id: chatcmpl-1",
        )
    )
    assert snapshots(pytester)["test_answer[aggregate].yaml"] == ANSWER_YAML  # not rewritten


def test_a_missing_snapshot_fails_and_names_the_fix(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_new="""
        def test_plain(stream_snapshot):
            stream_snapshot.value("second", name="other")
        """
    )

    result = run(pytester)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        shows(
            "Snapshot test_plain[other] (__snapshots__/test_new/test_plain[other].yaml) does "
            "not exist; run pytest with --snapshot-update to write it.",
            "[- snapshot] [+ received]",
            "+ second",
        )
    )
    assert not (pytester.path / "__snapshots__").exists()


def test_assert_with_equals_shows_syrupys_diff(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_eq="""
        import os

        def test_eq(stream_snapshot):
            assert stream_snapshot == {"text": os.environ.get("INNER_TEXT", "one\\ntwo\\n")}
        """
    )
    run(pytester, "--snapshot-update").assert_outcomes(passed=1)
    written = pytester.path / "__snapshots__" / "test_eq" / "test_eq.yaml"
    assert written.read_text() == "text: |\n  one\n  two\n"

    monkeypatch.setenv("INNER_TEXT", "one\nTWO\n")  # the inner run inherits it
    result = run(pytester)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(shows("-   two", "+   TWO"))


def test_one_kind_twice_needs_names(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_twice="""
        def test_unnamed(stream_snapshot):
            stream_snapshot.aggregate("a")
            stream_snapshot.aggregate("b")

        def test_named(stream_snapshot):
            stream_snapshot.aggregate("a", name="first")
            stream_snapshot.aggregate("b", name="second")
        """
    )
    result = run(pytester, "--snapshot-update")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        shows(
            "ValueError: This test already asserted an unnamed 'aggregate' snapshot; pass "
            "name=... to each aggregate snapshot so that each gets its own file."
        )
    )
    folder = pytester.path / "__snapshots__" / "test_twice"
    assert sorted(path.name for path in folder.iterdir()) == [
        "test_named[first].yaml",
        "test_named[second].yaml",
        "test_unnamed[aggregate].yaml",
    ]


MISSING = {
    "syrupy": "streamtest.snapshot needs syrupy, which is not installed; install it with: pip "
    "install syrupy pyyaml",
    "yaml": "streamtest's YAML snapshots need PyYAML, which is not installed; install it with: "
    "pip install pyyaml",
}


@pytest.mark.parametrize("module", sorted(MISSING))
def test_a_missing_package_is_named(pytester: pytest.Pytester, module: str) -> None:
    # The syrupy plugin itself stays off when syrupy "is not installed".
    pytester.makeconftest(f"import sys\nsys.modules[{module!r}] = None\n")
    pytester.makepyfile(test_x="def test_x(stream_snapshot):\n    pass\n")

    result = run(pytester, *(["-p", "no:syrupy"] if module == "syrupy" else []))

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(shows(f"The stream_snapshot fixture cannot run: {MISSING[module]}"))


def test_without_the_syrupy_plugin_the_fix_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x(stream_snapshot):\n    pass\n")

    result = run(pytester, "-p", "no:syrupy")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        shows(
            "The stream_snapshot fixture builds on syrupy's snapshot fixture, which this run "
            "does not have; enable the syrupy plugin (remove -p no:syrupy)."
        )
    )
