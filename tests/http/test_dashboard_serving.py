"""The dashboard's page and files: served by the mock at /__mock/, public like the docs, locked down by CSP.

What the page does in a browser is tests/browser's job; here: that it is served, what it may load, that it needs
no token while every data call still does, and that no path outside its files can be reached through it.
"""

from __future__ import annotations

import httpx
import pytest
from helpers import assert_error, assert_ok

from mock_server.http.dashboard import FILES
from support.mock_process import MockProcess

CSP_SOURCES = ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'")


def assert_locked_down(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert all(source in csp for source in CSP_SOURCES), csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_dashboard_is_served_at_the_control_api_root(bare):
    page = bare.get("/__mock/")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert_locked_down(page)
    assert "<title>" in page.text and "/__mock/dashboard/app.js" in page.text
    assert bare.get("/__mock", follow_redirects=False).headers["location"] == "/__mock/"


@pytest.mark.parametrize("name", sorted(p.name for p in FILES.iterdir() if p.suffix in (".js", ".css")))
def test_every_asset_is_served_with_its_type(bare, name):
    asset = bare.get(f"/__mock/dashboard/{name}")
    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith("text/javascript" if name.endswith(".js") else "text/css")
    assert_locked_down(asset)
    assert asset.content == (FILES / name).read_bytes()
    head = bare.head(f"/__mock/dashboard/{name}")
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/__mock/dashboard/missing.js",
        "/__mock/dashboard/..%2f..%2fconfig.py",
        "/__mock/dashboard/../http/app.py",
        "/__mock/dashboard/",
        "/__mock/dashboard/APP.JS",
    ],
)
def test_nothing_else_is_reachable_through_the_dashboard(bare, path):
    response = bare.get(path)
    assert response.status_code == 404, f"{path}: {response.status_code} {response.text[:200]}"
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_with_a_control_token_the_page_loads_but_its_data_needs_the_token():
    with MockProcess("--control-token", "ctl-dash-7") as server:
        page = httpx.get(f"{server.base_url}/__mock/", timeout=10)
        assert page.status_code == 200
        assert "ctl-dash-7" not in page.text
        assert_error(httpx.get(f"{server.base_url}/__mock/sessions", timeout=10), 401, "UNAUTHORIZED")
        with_token = httpx.get(f"{server.base_url}/__mock/sessions", headers={"Authorization": "Bearer ctl-dash-7"})
        assert_ok(with_token)


def test_the_timeline_can_read_ten_thousand_messages_in_one_call(control):
    assert assert_ok(control.get("/accounts/ag_acme/messages", params={"limit": 10000}))["messages"] == []
    assert_error(control.get("/accounts/ag_acme/messages", params={"limit": 10001}), 400, "VALIDATION_ERROR")
