"""Unit tests of the openapi-core recorder against hand-made httpx exchanges (no server needed).

Why: test_zz_openapi_core_validation.py trusts this validator to catch a broken response. These tests show
it does, and that it does not cry wolf on the document's own examples.
"""

import asyncio
import copy
import json

import httpx
import pytest
import yaml
from openapi_core import OpenAPI

from support.openapi_examples import resolve_pointer
from support.openapi_recorder import (
    SPEC_PATH,
    Exchange,
    ExchangeRecorder,
    response_problems,
    validate_all,
    validate_exchange,
)

BASE = "http://127.0.0.1:8080"
CONTRACT = "/v1/accounts/ag_acme/messages/responses"
DOCUMENT = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
OPERATION = DOCUMENT["paths"]["/v1/accounts/{accountGroupId}/messages/responses"]["post"]
SUCCESS = OPERATION["responses"]["202"]["content"]["application/json"]["examples"]["queued"]["value"]
ERROR = {
    "success": False,
    "data": None,
    "error": {"code": "VALIDATION_ERROR", "message": "The request is not valid.", "details": None},
    "traceId": "t-1",
}


def post(body=None, path=CONTRACT, method="POST", **headers):
    body = {"prospectId": "prs_ada_lovelace", "message": "Hi"} if body is None else body
    headers = {"Authorization": "Bearer sk_test_acme_writer", **headers}
    return httpx.Request(method, BASE + path, json=body, headers=headers)


def answer(request, status, body, **headers):
    return httpx.Response(status, json=body, headers=headers, request=request)


def with_change(envelope, dotted, value):
    changed = copy.deepcopy(envelope)
    *parents, leaf = dotted.split(".")
    target = changed
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[leaf]
    else:
        target[leaf] = value
    return changed


def test_a_valid_202_has_no_problems():
    request = post()
    report = validate_exchange(request, answer(request, 202, SUCCESS, **{"Idempotent-Replayed": "true"}))
    assert report.skipped is None
    assert report.response_problems == []


@pytest.mark.parametrize(
    "status, envelope, where",
    [
        (202, with_change(SUCCESS, "traceId", KeyError), "traceId"),
        (202, with_change(SUCCESS, "traceId", ""), "traceId"),
        (202, with_change(SUCCESS, "success", "true"), "success"),
        (202, with_change(SUCCESS, "error", {"code": "X", "message": "m", "details": None}), "error"),
        (202, with_change(SUCCESS, "data.status", "pending"), "data.status"),
        (202, with_change(SUCCESS, "data.sentAt", "yesterday"), "data.sentAt"),
        (202, with_change(SUCCESS, "data.extra", 1), "extra"),
        (202, with_change(SUCCESS, "data.idempotencyKey", KeyError), "idempotencyKey"),
        (400, with_change(ERROR, "data", {}), "data"),
        (400, with_change(ERROR, "error.code", "BAD_REQUEST"), "error.code"),
        (400, with_change(ERROR, "error.details", 3), "error.details"),
        (400, with_change(ERROR, "error.message", ""), "error.message"),
        (401, ERROR, "error.code"),
        (202, ERROR, "success"),
    ],
    ids=lambda value: value if isinstance(value, str | int) else "",
)
def test_a_broken_envelope_is_caught(status, envelope, where):
    request = post()
    problems = response_problems(request, answer(request, status, envelope))
    assert problems, "the broken envelope passed"
    assert where in " ".join(problems), problems


def test_a_429_needs_a_valid_retry_after():
    request = post()
    rate_limited = with_change(ERROR, "error.code", "RATE_LIMITED")
    assert "Retry-After" in " ".join(response_problems(request, answer(request, 429, rate_limited)))
    assert response_problems(request, answer(request, 429, rate_limited, **{"Retry-After": "0"}))
    assert response_problems(request, answer(request, 429, rate_limited, **{"Retry-After": "5"})) == []


def test_undocumented_status_and_non_json_bodies_are_caught():
    request = post()
    assert "418" in " ".join(response_problems(request, answer(request, 418, ERROR)))
    html = httpx.Response(400, content=b"<h1>Bad</h1>", headers={"content-type": "text/html"}, request=request)
    assert response_problems(request, html)
    truncated = httpx.Response(400, content=b'{"success": fa', headers={"content-type": "application/json"})
    assert response_problems(request, truncated)


def test_paths_and_methods_outside_the_document_are_skipped():
    control = post({}, path="/__mock/reset")
    assert validate_exchange(control, answer(control, 404, {"anything": True})).skipped
    wrong_method = post(method="GET")
    assert validate_exchange(wrong_method, answer(wrong_method, 405, {"anything": True})).skipped


def test_invalid_requests_are_reported_but_do_not_fail_the_response():
    request = post({"prospectId": "prs_ada_lovelace", "extra": 1}, **{"Idempotency-Key": "has space"})
    report = validate_exchange(request, answer(request, 400, ERROR))
    assert report.response_problems == []
    assert any("Idempotency-Key" in problem for problem in report.request_problems), report.request_problems
    assert any("extra" in problem for problem in report.request_problems), report.request_problems


def test_odd_bytes_in_the_path_still_reach_the_contract_operation():
    request = post(path="/v1/accounts/ag%0Aacme/messages/responses")
    report = validate_exchange(request, answer(request, 400, with_change(ERROR, "error.code", "NOPE")))
    assert report.skipped is None
    assert report.response_problems


def _documented_examples():
    for status, response in OPERATION["responses"].items():
        media = resolve_pointer(DOCUMENT, response["$ref"]) if "$ref" in response else response
        media = media["content"]["application/json"]
        values = [media["example"]] if "example" in media else [item["value"] for item in media["examples"].values()]
        for index, value in enumerate(values):
            yield pytest.param(int(status), value, id=f"{status}-{index}")


@pytest.mark.parametrize("status, envelope", list(_documented_examples()))
def test_every_documented_example_passes_as_a_response(status, envelope):
    request = post()
    headers = {"Retry-After": "1"} if status == 429 else {}
    assert response_problems(request, answer(request, status, envelope, **headers)) == []


def _canned(request):
    if request.url.path.startswith("/__mock/"):
        return httpx.Response(200, json={"ok": True})
    return httpx.Response(202, json=SUCCESS)


def test_recorder_records_every_exchange_of_a_sync_client_with_its_body_and_test():
    recorder = ExchangeRecorder()
    with recorder.client(base_url=BASE, transport=httpx.MockTransport(_canned)) as client:
        client.post(CONTRACT, json={"prospectId": "prs_ada_lovelace", "message": "Hi"})
        client.post("/__mock/reset")
    assert [exchange.response.status_code for exchange in recorder.exchanges] == [202, 200]
    first = recorder.exchanges[0]
    assert json.loads(first.request.content)["prospectId"] == "prs_ada_lovelace"
    assert first.response.json()["traceId"] == SUCCESS["traceId"]
    assert "test_recorder_records_every_exchange" in first.describe()


def test_recorder_records_an_async_client_too():
    recorder = ExchangeRecorder()

    async def run():
        client = recorder.install(httpx.AsyncClient(base_url=BASE, transport=httpx.MockTransport(_canned)))
        async with client:
            await client.post(CONTRACT, json={"prospectId": "prs_ada_lovelace", "message": "Hi"})

    asyncio.run(run())
    assert len(recorder) == 1
    assert recorder.exchanges[0].response.json()["success"] is True


def test_validate_all_counts_skips_and_reports_failures():
    good, bad, control = post(), post(), post({}, path="/__mock/clock")
    verdict = validate_all(
        [
            Exchange(good, answer(good, 202, SUCCESS)),
            Exchange(bad, answer(bad, 202, with_change(SUCCESS, "data.status", "pending"))),
            Exchange(control, answer(control, 200, {})),
        ]
    )
    assert (verdict.checked, verdict.skipped) == (2, 1)
    assert len(verdict.failures) == 1 and "data.status" in verdict.failures[0]


def test_a_contract_post_the_matcher_misses_is_a_failure_not_a_skip():
    """With the document's own `servers`, 127.0.0.1 matches no server: that must fail loudly, never skip."""
    as_written = OpenAPI.from_file_path(str(SPEC_PATH))
    request = post()
    verdict = validate_all([Exchange(request, answer(request, 202, SUCCESS))], as_written)
    assert verdict.checked == 1 and verdict.failures
