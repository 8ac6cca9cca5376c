"""The ``streamtest`` marker without the ``cassette`` argument: where the cassette is set up among
a test's fixtures (before every function-scoped one, after wider scopes), and that an unmarked
test sets up nothing of streamtest's. Inner suites run by pytester in a subprocess."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest

ORDER = []

@pytest.fixture(scope="session")
def wide():
    ORDER.append("session fixture")

@pytest.fixture
def streamtest_config():  # the cassette fixture asks for it first: it marks the setup
    ORDER.append("cassette")
    return {"record_mode": "none"}

@pytest.fixture
def other():
    ORDER.append("other fixture")
"""


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("wide, other", id="marker-only"),
        pytest.param("wide, other, cassette", id="cassette-asked-for-last"),
    ],
)
def test_a_marked_test_sets_up_its_cassette_before_its_own_fixtures(
    pytester: pytest.Pytester, signature: str
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.path.joinpath("cassettes", "test_order").mkdir(parents=True)
    pytester.path.joinpath("cassettes", "test_order", "empty.jsonl").write_text(
        '{"streamtest":1}\n'
    )
    pytester.makepyfile(
        test_order=f"""
        import pytest
        from conftest import ORDER

        @pytest.mark.streamtest("empty.jsonl")
        def test_marked({signature}, request):
            assert ORDER == ["session fixture", "cassette", "other fixture"]
            assert "_streamtest_marker" not in request.fixturenames
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_an_unmarked_test_sets_up_nothing_of_streamtest(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_plain="""
        from conftest import ORDER

        def test_plain(other, request):
            assert ORDER == ["other fixture"]
            assert "_streamtest_marker" not in request.fixturenames
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_parametrized_copies_marked_one_by_one_get_their_own_cassettes(
    pytester: pytest.Pytester,
) -> None:
    pytester.path.joinpath("cassettes", "test_param").mkdir(parents=True)
    pytester.path.joinpath("cassettes", "test_param", "empty.jsonl").write_text(
        '{"streamtest":1}\n'
    )
    pytester.makepyfile(
        test_param="""
        import pytest

        ON = pytest.param(True, marks=pytest.mark.streamtest("empty.jsonl", record_mode="none"))

        @pytest.mark.parametrize("marked", [False, ON, False, ON])
        def test_copy(marked, request):
            assert ("cassette" in request.fixturenames) is marked
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=4)
