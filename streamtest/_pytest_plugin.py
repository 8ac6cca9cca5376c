"""pytest plugin: the ``cassette`` fixture, the ``streamtest`` marker and command-line options.

Precedence of options, highest first: command line (--streamtest-record-mode/--streamtest-timing)
> the marker's keywords > the ``streamtest_config`` fixture (override it in a conftest.py) >
the ``STREAMTEST_RECORD_MODE`` environment variable (``streamtest record -- pytest`` sets it) >
built-in defaults (record mode ``once``, or ``none`` when the ``CI`` environment variable is set).

Default cassette path of a test: ``<dir of the test file>/cassettes/<module>/<test name>.jsonl``;
with the ini option ``streamtest_cassette_dir`` set, ``<rootdir>/<that dir>/<module>/<test
name>.jsonl``. A marker's ``path`` is taken relative to the test's cassette folder.

A request no cassette answers fails the test once, with `UnmatchedRequestError`; a miss the test
swallowed (or replaced with an exception that hides it) is raised again at teardown.

Under pytest-xdist every save goes through a private temporary file renamed into place, so
workers never see each other's half-written files; workers sharing a cassette save it in turn,
each adding to what the others saved (see ``Session.finish``).

The ``stream_snapshot`` fixture (syrupy snapshots as readable YAML files, with helpers for
streams) is described in `streamtest.snapshot`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._core.clock import Timing
from ._core.errors import UnmatchedRequestError, UnmatchedStreamError
from ._core.faulttext import FAULT_HELP, FAULTS_VARIABLE, faults_of
from ._core.model import Cassette
from ._core.modes import RecordMode
from ._session import use_cassette

if TYPE_CHECKING:
    from .snapshot import StreamSnapshot

_MARKER_HELP = (
    "streamtest(path=None, *, record_mode=None, timing='instant', speed=1.0, untimed_gap=0.0, "
    "match_on=..., redact=None, allow_playback_repeats=False, faults=()): replay (or record) "
    "the test's HTTP streams from a chunk cassette (see the README's pytest section)."
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("streamtest", "record and replay streaming HTTP in chunk cassettes")
    group.addoption(
        "--streamtest-record-mode",
        choices=[m.value for m in RecordMode],
        default=None,
        help="record mode for every cassette (overrides markers).",
    )
    group.addoption(
        "--streamtest-timing",
        choices=[t.value for t in Timing],
        default=None,
        help="replay timing for every cassette (overrides markers).",
    )
    group.addoption(
        "--streamtest-fault",
        action="append",
        default=[],
        metavar="FAULT",
        help=FAULT_HELP
        + ", added to the faults of every cassette of the run (through STREAMTEST_FAULTS).",
    )
    parser.addini(
        "streamtest_cassette_dir",
        default="",
        help="folder (relative to rootdir) holding cassettes; default: a 'cassettes' "
        "folder beside each test file.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_HELP)
    if specs := config.getoption("streamtest_fault", default=None):
        try:  # a bad fault stops the run at once, not once per test
            faults_of(specs)
        except ValueError as exc:
            raise pytest.UsageError(f"--streamtest-fault: {exc}") from None
        _add_suite_faults(config, specs)


def _add_suite_faults(config: pytest.Config, specs: list[str]) -> None:
    """Every `use_cassette` of the run adds the faults in ``STREAMTEST_FAULTS`` (the fixture,
    the marker, and blocks in the tests and the code under test); the variable is restored at
    the end of the run. pytest-xdist workers inherit it."""
    saved = os.environ.get(FAULTS_VARIABLE)
    os.environ[FAULTS_VARIABLE] = ";".join([*filter(None, [saved]), *specs])

    def restore() -> None:
        if saved is None:
            os.environ.pop(FAULTS_VARIABLE, None)
        else:
            os.environ[FAULTS_VARIABLE] = saved

    config.add_cleanup(restore)


def _test_name(item: pytest.Item) -> str:
    """``test_x``, ``TestA.TestInner.test_x[param]``: every class on the way, so nested classes
    of the same name in different outer classes get different cassettes."""
    parts = item.nodeid.split("::")[1:] or [item.name]
    return re.sub(r"[^\w.\-\[\]]", "_", ".".join(parts))


def cassette_dir(item: pytest.Item) -> Path:
    """The folder holding the cassettes of ``item``'s module."""
    configured = str(item.config.getini("streamtest_cassette_dir"))
    module = item.path.stem
    if configured:
        return Path(item.config.rootpath, configured, module)
    return item.path.parent / "cassettes" / module


_CALL_EXCEPTION = pytest.StashKey["BaseException | None"]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Keep the exception the test body raised, for the ``cassette`` fixture's teardown."""
    item.stash[_CALL_EXCEPTION] = None  # a rerun of the same item starts clean
    try:
        return (yield)
    except BaseException as exc:
        item.stash[_CALL_EXCEPTION] = exc
        raise


def _shown_miss(raised: BaseException | None) -> BaseException | None:
    """The miss in the failure's displayed exception chain (pytest prints it), else ``raised``.

    Handing it to the cassette's exit tells it the miss was already reported; a miss that was
    swallowed, or replaced ``from None``, is still raised again at teardown.
    """
    seen: set[int] = set()
    current = raised
    while current is not None and id(current) not in seen:
        if isinstance(current, UnmatchedRequestError | UnmatchedStreamError):
            return current
        seen.add(id(current))
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return raised


@pytest.fixture
def streamtest_config() -> dict[str, Any]:
    """Default `use_cassette` options for a test; override this fixture to change them."""
    return {}


def _options(request: pytest.FixtureRequest, config: dict[str, Any]) -> dict[str, Any]:
    options = dict(config)
    marker = request.node.get_closest_marker("streamtest")
    path_arg: Any = None
    if marker is not None:
        if len(marker.args) > 1:
            raise pytest.UsageError(
                "@pytest.mark.streamtest takes at most one positional "
                "argument, the cassette path; pass the rest by keyword."
            )
        path_arg = marker.args[0] if marker.args else marker.kwargs.get("path")
        options.update({k: v for k, v in marker.kwargs.items() if k != "path"})
    for flag, key in (("streamtest_record_mode", "record_mode"), ("streamtest_timing", "timing")):
        value = request.config.getoption(flag)
        if value is not None:
            options[key] = value
    folder = cassette_dir(request.node)
    options["path"] = folder / (path_arg or f"{_test_name(request.node)}.jsonl")
    return options


@pytest.fixture
def cassette(
    request: pytest.FixtureRequest, streamtest_config: dict[str, Any]
) -> Iterator[Cassette]:
    """The test's cassette, active for the whole test: its HTTP streams replay or record."""
    try:
        options = _options(request, streamtest_config)
        path = options.pop("path")
        context = use_cassette(path, **options)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"Bad streamtest options for {request.node.nodeid}: {exc}") from exc
    loaded = context.__enter__()
    try:
        yield loaded
    finally:
        # pytest does not throw the test's exception into fixtures: hand it to the context
        # ourselves, so a miss that already failed the test is not reported again at teardown.
        raised = _shown_miss(request.node.stash.get(_CALL_EXCEPTION, None))
        context.__exit__(type(raised) if raised else None, raised, None)


@pytest.fixture(autouse=True)
def _streamtest_marker(request: pytest.FixtureRequest) -> None:
    """A test with the marker gets its cassette even when it does not ask for the fixture.

    Only a placeholder once collection is over: `pytest_collection_modifyitems` puts ``cassette``
    in its place in each marked test's fixtures and drops it from every other test, since running
    an autouse fixture costs each test of a suite ~0.2 ms (docs/benchmarks.md)."""
    if request.node.get_closest_marker("streamtest") is not None:
        request.getfixturevalue("cassette")


@pytest.hookimpl(trylast=True)  # last: markers other plugins add while collecting count too
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Where the autouse ``_streamtest_marker`` stands in a test's fixtures (after the fixtures
    of wider scope, before the test's own), a marked test sets up ``cassette``, so its cassette
    is active for every function-scoped fixture as before; an unmarked test sets up nothing.
    Each test gets a list of its own: the parametrized copies of a test share one, and
    ``pytest.param(..., marks=...)`` can mark some of them only."""
    for item in items:
        if not isinstance(item, pytest.Function) or "_streamtest_marker" not in item.fixturenames:
            continue
        names = list(item.fixturenames)
        if item.get_closest_marker("streamtest") is None:
            names.remove("_streamtest_marker")
        else:
            if "cassette" in names:
                names.remove("cassette")
            names[names.index("_streamtest_marker")] = "cassette"
        item.fixturenames = names


@pytest.fixture
def stream_snapshot(request: pytest.FixtureRequest) -> StreamSnapshot:
    """syrupy's ``snapshot``, writing one readable YAML file per snapshot, plus
    ``.aggregate(value)`` and ``.events(events)`` for streams (see `streamtest.snapshot`)."""
    try:  # here, not at the top: the plugin loads in every pytest run and must stay light
        from .snapshot import stream_snapshot_from
        from .snapshot._yaml import import_yaml

        import_yaml()
    except ImportError as exc:
        pytest.fail(f"The stream_snapshot fixture cannot run: {exc}", pytrace=False)
    try:
        snapshot = request.getfixturevalue("snapshot")
    except pytest.FixtureLookupError:
        pytest.fail(
            "The stream_snapshot fixture builds on syrupy's snapshot fixture, which this run "
            "does not have; enable the syrupy plugin (remove -p no:syrupy).",
            pytrace=False,
        )
    return stream_snapshot_from(snapshot)
