"""CORS for browser clients, routing errors, odd paths and the mock's own pages."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from helpers import add_fault, assert_error, assert_ok, bearer, group_path, post

from support.mock_fixtures import API_KEY, RESPONSES_PATH
from support.mock_process import MockProcess

ORIGIN = "http://localhost:3000"
REQUESTED_HEADERS = ["authorization", "content-type", "idempotency-key", "x-mock-session"]
EXPOSED = {"idempotent-replayed", "retry-after", "x-trace-id"}


def header_set(response: httpx.Response, name: str) -> set[str]:
    return {item.strip().lower() for item in response.headers.get(name, "").split(",") if item.strip()}


def preflight(client: httpx.Client, origin: str = ORIGIN, path: str = RESPONSES_PATH) -> httpx.Response:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ",".join(REQUESTED_HEADERS),
        },
    )


def test_preflight_allows_post_and_the_four_headers(bare):
    response = preflight(bare)
    assert response.status_code == 200, response.text
    assert response.headers.get("access-control-allow-origin") in ("*", ORIGIN)
    assert "POST" in {m.upper() for m in header_set(response, "access-control-allow-methods")}
    assert set(REQUESTED_HEADERS) <= header_set(response, "access-control-allow-headers")


def test_preflight_of_the_control_api(bare):
    response = preflight(bare, path="/__mock/clock")
    assert response.status_code == 200
    assert "x-mock-session" in header_set(response, "access-control-allow-headers")


def test_responses_expose_replay_retry_and_trace_headers(api):
    response = post(api, headers={"Origin": ORIGIN}, key="cors-key")
    assert response.status_code == 202
    assert response.headers.get("access-control-allow-origin") in ("*", ORIGIN)
    assert EXPOSED <= header_set(response, "access-control-expose-headers")
    replay = post(api, headers={"Origin": ORIGIN}, key="cors-key")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert EXPOSED <= header_set(replay, "access-control-expose-headers")


def test_error_responses_are_readable_by_the_browser(bare, api, control):
    unauthorized = post(bare, headers={"Origin": ORIGIN})
    assert_error(unauthorized, 401, "UNAUTHORIZED")
    assert unauthorized.headers.get("access-control-allow-origin") in ("*", ORIGIN)
    add_fault(control, status=429)
    limited = post(api, headers={"Origin": ORIGIN})
    assert_error(limited, 429, "RATE_LIMITED")
    assert limited.headers.get("access-control-allow-origin") in ("*", ORIGIN)
    assert "retry-after" in header_set(limited, "access-control-expose-headers")


@pytest.fixture(scope="module")
def app_only_url() -> Iterator[str]:
    with MockProcess("--rate-limit", "off", "--cors-origin", "http://app.example") as server:
        yield server.base_url


def test_configured_origin_is_the_only_one_allowed(app_only_url, new_session):
    api, _ = new_session(app_only_url)
    allowed = preflight(api, origin="http://app.example")
    assert allowed.status_code == 200
    assert allowed.headers.get("access-control-allow-origin") == "http://app.example"
    denied = preflight(api, origin=ORIGIN)
    assert "access-control-allow-origin" not in denied.headers
    assert denied.status_code != 200
    response = post(api, headers={"Origin": "http://app.example"})
    assert response.status_code == 202
    assert response.headers.get("access-control-allow-origin") == "http://app.example"
    assert "access-control-allow-origin" not in post(api, headers={"Origin": ORIGIN}).headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nope"),
        ("POST", "/v1/accounts/ag_acme/messages"),
        ("POST", "/v1/accounts/ag_acme/messages/responses/extra"),
        ("POST", "/v2/accounts/ag_acme/messages/responses"),
        ("GET", "/__mock/nope"),
        ("GET", "/"),
    ],
)
def test_unknown_route_is_404_envelope(api, method, path):
    assert_error(api.request(method, path), 404, "NOT_FOUND")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_wrong_method_is_405_envelope_with_allow(api, method):
    response = api.request(method, RESPONSES_PATH)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    allowed = header_set(response, "allow")
    assert "post" in allowed, response.headers
    assert method.lower() not in allowed


def test_wrong_method_on_the_control_api_lists_every_method(control):
    response = control.patch("/clock")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert {"get", "put"} <= header_set(response, "allow")


ODD_GROUPS = [
    pytest.param("ag%0Aacme", id="line_feed"),
    pytest.param("ag_acme%0A", id="trailing_line_feed"),
    pytest.param("ag%0D%0Aacme", id="crlf"),
    pytest.param("ag%00acme", id="nul"),
    pytest.param("ag%09acme", id="tab"),
    pytest.param("ag%7Facme", id="delete"),
    pytest.param("ag%FFacme", id="byte_ff"),
    pytest.param("%FF%FE", id="bytes_only"),
    pytest.param("ag%C3%28", id="invalid_utf8_sequence"),
    pytest.param("ag_%C3%A9", id="valid_non_ascii"),
    pytest.param("ag%2Facme", id="encoded_slash"),
    pytest.param("%20", id="space"),
]


@pytest.mark.parametrize("group", ODD_GROUPS)
def test_odd_bytes_in_group_are_401_without_key(bare, group):
    assert_error(post(bare, path=group_path(group)), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("group", ODD_GROUPS)
def test_odd_bytes_in_group_are_403_with_key(api, group):
    assert_error(post(api, path=group_path(group)), 403, "FORBIDDEN")


def test_healthz(bare):
    assert assert_ok(bare.get("/healthz")) == {"status": "ok"}


@pytest.mark.parametrize("path", ["/ui/", "/__mock/ui/"])
def test_swagger_ui_pages(bare, path):
    response = bare.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger" in response.text.lower()


def test_openapi_json_serves_the_contract(bare):
    response = bare.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.0.3"
    operation = document["paths"]["/v1/accounts/{accountGroupId}/messages/responses"]["post"]
    assert operation["operationId"] == "queueScheduledMessageResponse"
    assert {"202", "400", "401", "403", "409", "422", "429", "500", "502"} <= set(operation["responses"])


def test_control_openapi_json(bare):
    response = bare.get("/__mock/openapi.json")
    assert response.status_code == 200
    assert "/clock/advance" in response.json()["paths"]


def test_authorization_header_on_health_and_docs_is_ignored(bare):
    assert bare.get("/healthz", headers=bearer(API_KEY)).status_code == 200
    assert bare.get("/healthz", headers=bearer("sk_test_unknown")).status_code == 200
