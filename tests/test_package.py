"""The package surface: what `import streamtest` loads, what it exports, and its CLI."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

import streamtest

ROOT = Path(__file__).resolve().parents[1]


def test_import_loads_no_http_stack_sdk_or_test_framework() -> None:
    heavy = [
        "httpx",
        "httpx2",
        "pytest",
        "openai",
        "anthropic",
        "langchain_core",
        "langgraph",
        "streamlit",
        "vcr",
        "respx",
        "syrupy",
        "yaml",
        "http.server",  # streamtest.ReplayServer loads it on first use
    ]
    code = f"import sys, streamtest; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_the_replay_server_is_loaded_on_first_use() -> None:
    code = "import sys, streamtest; streamtest.ReplayServer; print('http.server' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.stdout.strip() == "True", loaded.stderr
    with pytest.raises(AttributeError, match="no attribute 'ReplaySever'"):
        _ = streamtest.ReplaySever  # type: ignore[attr-defined]


def test_all_is_sorted_and_complete() -> None:
    # Sorted as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert streamtest.__all__ == sorted(streamtest.__all__, key=kind)
    for name in streamtest.__all__:
        assert hasattr(streamtest, name), name
    # (names starting with "@" are pytest's assertion rewriting, which covers plugin packages)
    # Submodules (the adapters, e.g. streamtest.langchain) appear once imported: not names.
    public = {
        name
        for name, value in vars(streamtest).items()
        if not name.startswith(("_", "@")) and not isinstance(value, types.ModuleType)
    } - {"annotations"}
    assert public <= set(streamtest.__all__)


def test_unmatched_request_error_reads_as_a_test_failure() -> None:
    assert issubclass(streamtest.UnmatchedRequestError, AssertionError)
    assert issubclass(streamtest.UnmatchedRequestError, streamtest.StreamtestError)
    assert issubclass(streamtest.CassetteError, streamtest.StreamtestError)


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "streamtest"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.stdout.strip() == f"streamtest {streamtest.__version__}"


def test_quickstart_demo_replays_the_shipped_cassette(capsys: pytest.CaptureFixture[str]) -> None:
    from fixtures.apps.quickstart import main as demo
    from fixtures.record_examples import ANSWER

    assert demo(["--speed", "100"]) == 0
    out = capsys.readouterr().out
    assert ANSWER in out
    assert f"{len(ANSWER)} characters" in out


def _imports(path: Path) -> list[tuple[str, bool]]:
    """Every module ``path`` imports, relative imports resolved, each with whether it is
    imported at module level (lazy imports inside functions are the adapters' way to reach
    their library)."""
    import ast

    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.append((module, id(node) in top))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, id(node) in top) for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("layer", "below", "libraries"),
    [
        pytest.param("_core", (), (), id="core: stdlib and msgspec only"),
        pytest.param("_wire", ("_core",), (), id="wire: core only"),
        pytest.param(
            "_providers", ("_core",), ("openai", "anthropic"), id="providers: core, SDKs lazily"
        ),
        pytest.param(
            "_objects",
            ("_core", "_session", "_wire", "_version"),
            (),
            id="objects: core, session and the patch's active cassette; adapters by name only",
        ),
    ],
)
def test_layers_import_only_what_is_below_them(
    layer: str, below: tuple[str, ...], libraries: tuple[str, ...]
) -> None:
    stdlib = set(sys.stdlib_module_names) | {"__future__", "msgspec"}
    allowed = {f"streamtest.{name}" for name in (layer, *below)}
    files = sorted((ROOT / "streamtest" / layer).rglob("*.py"))
    assert files
    for path in files:
        for module, at_top in _imports(path):
            root = module.split(".")[0]
            if root == "streamtest":
                assert ".".join(module.split(".")[:2]) in allowed, (path, module)
            elif root not in stdlib:
                assert root in libraries and not at_top, (path, module)


def test_the_session_imports_neither_object_streams_nor_adapters() -> None:
    # Object streams sit above the session and reach adapters' codecs by module name only.
    for module, _ in _imports(ROOT / "streamtest" / "_session.py"):
        assert not module.startswith(("streamtest._objects", "streamtest.langchain")), module


def test_the_langgraph_adapter_builds_only_on_the_langchain_adapter_and_object_streams() -> None:
    # Graph parts hold LangChain messages: they are stored and shown as the LangChain adapter
    # stores and shows them. No other adapter, and not the snapshot front end, is reached.
    allowed = {"streamtest._core", "streamtest._objects", "streamtest.langchain"}
    files = sorted((ROOT / "streamtest" / "langgraph").glob("*.py"))
    assert files
    for path in files:
        for module, _ in _imports(path):
            if module.startswith("streamtest.") and not module.startswith("streamtest.langgraph"):
                assert ".".join(module.split(".")[:2]) in allowed, (path, module)


def test_the_streamlit_adapter_builds_only_on_the_session_and_object_streams() -> None:
    # It opens cassettes (the session) and records write_stream's input (object streams); it
    # reaches no other adapter.
    allowed = {"streamtest._core", "streamtest._objects", "streamtest._session"}
    files = sorted((ROOT / "streamtest" / "streamlit").glob("*.py"))
    assert files
    for path in files:
        for module, _ in _imports(path):
            if module.startswith("streamtest.") and not module.startswith("streamtest.streamlit"):
                assert ".".join(module.split(".")[:2]) in allowed, (path, module)
