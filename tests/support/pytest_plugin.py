"""Session-wide recording of HTTP exchanges, registered from tests/conftest.py.

Why a session fixture: tests/test_zz_openapi_core_validation.py validates, at the end of the run, every
response that any HTTP test received. That only works if all of them record into one shared recorder.
"""

from __future__ import annotations

import pytest

from support.openapi_recorder import ExchangeRecorder

RECORDER_FIXTURE = "recorded_exchanges"
FINAL_MODULE = "test_zz_openapi_core_validation.py"


@pytest.fixture(scope="session")
def recorded_exchanges() -> ExchangeRecorder:
    """The session's one recorder. Install it on every httpx client that talks to a server under test."""
    return ExchangeRecorder()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the final validation module last even if a test directory sorts after `test_zz`."""
    items.sort(key=lambda item: item.path.name == FINAL_MODULE)


def items_using_recorder(session: pytest.Session, exclude: pytest.Item) -> list[pytest.Item]:
    """Collected tests that (directly or through other fixtures) send HTTP through the session recorder."""
    return [
        item for item in session.items if item is not exclude and RECORDER_FIXTURE in getattr(item, "fixturenames", ())
    ]
