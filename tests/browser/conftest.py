"""A real browser on the dashboard: Debian's chromium driven by Playwright's sync API, and a mock of its own.

Why Debian's chromium and not Playwright's download: CI and the developers' machines reach package registries
only, so `playwright install` cannot fetch a browser; `apt-get install chromium` can (.ci/run does it).
Locally a missing browser or Playwright skips these tests with the reason; in CI (`CI` set) it fails them,
because there a missing browser is a broken pipeline, not a choice.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.mock_process import MockProcess
from support.services import skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if importlib.util.find_spec("playwright") is None:
        skip_or_fail("Playwright", "Playwright for Python is not installed")
    if not CHROMIUM.exists():
        skip_or_fail("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def dashboard_mock() -> Iterator[str]:
    """A mock for the browser tests only: no rate limit, so a test can fill a busy day in a second."""
    with MockProcess("--rate-limit", "off") as server:
        yield server.base_url


@pytest.fixture
def session_name() -> str:
    return f"dash-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def control(dashboard_mock: str, session_name: str) -> Iterator[httpx.Client]:
    """The control API in the test's session: the same session the page is opened on."""
    headers = {"X-Mock-Session": session_name}
    with httpx.Client(base_url=f"{dashboard_mock}/__mock", headers=headers, timeout=30.0) as client:
        yield client


@pytest.fixture
def api_for(dashboard_mock: str, session_name: str) -> Iterator[Any]:
    """`api_for(key)`: a client of the Sonarly API with that key, in the test's session."""
    clients: list[httpx.Client] = []

    def make(key: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}", "X-Mock-Session": session_name}
        clients.append(httpx.Client(base_url=dashboard_mock, headers=headers, timeout=30.0))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


class Page:
    """A dashboard tab and what its console said: errors and uncaught exceptions fail the test at the end."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def open(self, base_url: str, session: str) -> Any:
        self.page.goto(f"{base_url}/__mock/?session={session}")
        self.page.wait_for_selector("body[data-ready=true]", timeout=10000)
        return self.page


@pytest.fixture
def tab(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, color_scheme="light")
    try:
        yield Page(context.new_page())
    finally:
        context.close()
