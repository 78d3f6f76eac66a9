"""The dashboard in a real browser, as a frontend developer uses it next to their own API calls.

The clock is frozen at a known instant inside ag_acme's sending window (Tuesday 3 March 2026, 10:00 in New York,
15:00 UTC), so what is queued, scheduled or sent never depends on the hour the suite runs.
"""

from __future__ import annotations

import json
import re
import struct
import time
from pathlib import Path

import yaml

from support.mock_fixtures import API_KEY, GLOBEX_KEY, GROUP, OTHER_GROUP, PROSPECT, RESPONSES_PATH
from support.mock_process import MockProcess

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (or fails them in CI) with the reason
    expect = None

FROZEN_AT = "2026-03-03T15:00:00Z"  # Tue 10:00 America/New_York, 16:00 Europe/Berlin: both windows open
APPEARS_WITHIN_MS = 2000
# Written on every run, next to the suite's other reports (git-ignored): docs/dashboard.png, which the README
# shows, is a copy of one run's, so a test run never dirties the checkout.
SCREENSHOT = Path(__file__).resolve().parents[2] / "reports" / "dashboard.png"


def freeze(control, at: str = FROZEN_AT) -> None:
    response = control.put("/clock", json={"now": at, "frozen": True})
    assert response.status_code == 200, response.text


def timeline_mark(page, message_id: str):
    return page.locator(f'#timeline-groups [data-group="{GROUP}"] [data-id="{message_id}"]')


def journal_row(page, text: str):
    return page.locator("#journal-table tbody tr", has_text=text)


def test_a_message_is_followed_from_the_api_to_sent_and_a_fault_from_the_page(
    tab, dashboard_mock, session_name, control, api_for
):
    freeze(control)
    acme = api_for(API_KEY)
    # An InMail first takes the slot at "now" (sent at once), so the direct message below waits a minute, queued.
    warm_up = {"prospectId": "prs_katherine_johnson", "channel": "inmail", "subject": "Hi", "message": "Hello"}
    assert acme.post(RESPONSES_PATH, json=warm_up).status_code == 202
    page = tab.open(dashboard_mock, session_name)
    expect(page.locator("#clock-now")).to_have_text("2026-03-03 15:00:00 UTC")
    expect(page.locator("#clock-state")).to_have_text("frozen")

    created = acme.post(
        RESPONSES_PATH,
        json={"prospectId": PROSPECT, "message": "From the test"},
        headers={"Idempotency-Key": "dash-e2e-1"},
    )
    assert created.status_code == 202, created.text
    message = created.json()["data"]
    assert message["status"] == "queued"
    mark = timeline_mark(page, message["id"])
    expect(mark).to_have_attribute("data-status", "queued", timeout=APPEARS_WITHIN_MS)
    row = journal_row(page, "dash-e2e-1")
    expect(row).to_contain_text("202", timeout=APPEARS_WITHIN_MS)
    expect(row).to_contain_text(f"POST /v1/accounts/{GROUP}/messages/responses")

    mark.click()
    details = page.get_by_role("region", name=re.compile(r"Selected message, .*ag_acme"))
    expect(details).to_contain_text("dash-e2e-1")
    expect(details).to_contain_text(PROSPECT)
    row.get_by_role("button").click()
    dialog = page.locator("#entry-dialog")
    expect(dialog.locator("#entry-request")).to_contain_text("From the test")
    expect(dialog.locator("#entry-response")).to_contain_text(message["id"])
    dialog.get_by_role("button", name="Close").click()

    page.get_by_role("button", name="Next slot").click()
    expect(page.locator("#clock-now")).to_have_text("2026-03-03 15:01:00 UTC")
    expect(page.get_by_label("Set to (UTC)")).to_have_value("2026-03-03T15:01:00Z")
    expect(mark).to_have_attribute("data-status", "sent")
    listed = control.get(f"/accounts/{GROUP}/messages").json()["data"]["messages"]
    assert [m["status"] for m in listed if m["id"] == message["id"]] == ["sent"]

    page.get_by_label("Template").select_option(label="Next N requests answer 503")
    page.get_by_label("N", exact=True).fill("2")
    page.get_by_role("button", name="Add fault").click()
    fault_row = page.locator("#faults-table tbody tr[data-fault]")
    expect(fault_row).to_have_count(1)
    expect(fault_row).to_contain_text("503")
    refused = acme.post(
        RESPONSES_PATH, json={"prospectId": PROSPECT, "message": "Refused"}, headers={"Idempotency-Key": "dash-e2e-503"}
    )
    assert refused.status_code == 503, refused.text
    expect(journal_row(page, "dash-e2e-503")).to_contain_text("503", timeout=APPEARS_WITHIN_MS)
    expect(journal_row(page, "dash-e2e-503")).to_contain_text("SERVICE_UNAVAILABLE")
    page.get_by_label("Status").fill("5xx")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#journal-table tbody tr")).to_have_count(1)
    expect(page.locator("#journal-table tbody tr")).to_contain_text("dash-e2e-503")

    fault_row.get_by_role("button", name=re.compile("Delete fault")).click()
    expect(page.locator("#faults-table tbody")).to_contain_text("No pending fault")
    assert control.get("/faults").json()["data"]["faults"] == []
    again = acme.post(RESPONSES_PATH, json={"prospectId": PROSPECT, "message": "Accepted again"})
    assert again.status_code == 202, again.text
    assert tab.errors == []


def busy_day(api_for) -> int:
    """Several hundred messages over both demo groups: a day's cap and more, so some wait for the next day."""
    plan = [(api_for(API_KEY), GROUP, PROSPECT, 260), (api_for(GLOBEX_KEY), OTHER_GROUP, "prs_linus_torvalds", 140)]
    sent = 0
    for client, group, prospect, count in plan:
        path = f"/v1/accounts/{group}/messages/responses"
        for n in range(count):
            response = client.post(path, json={"prospectId": prospect, "message": f"Busy {n}"})
            assert response.status_code == 202, response.text
            sent += 1
    return sent


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def test_a_busy_day_is_drawn_and_saved_as_the_readme_screenshot(tab, dashboard_mock, session_name, control, api_for):
    started = time.monotonic()
    freeze(control)
    total = busy_day(api_for)
    assert control.post("/clock/advance", json={"seconds": 30 * 60}).status_code == 200
    page = tab.open(dashboard_mock, session_name)

    acme = page.locator(f'#timeline-groups [data-group="{GROUP}"]')
    globex = page.locator(f'#timeline-groups [data-group="{OTHER_GROUP}"]')
    expect(acme.locator("figcaption")).to_contain_text("260 messages")
    expect(globex.locator("figcaption")).to_contain_text("140 messages")
    for figure in (acme, globex):
        for status in ("sent", "queued", "scheduled"):
            expect(figure.locator(f'.mark[data-status="{status}"]').first).to_be_visible()
    assert total == 400
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert png_size(SCREENSHOT) == (1280, 800)
    assert tab.errors == []
    print(f"busy-day screenshot {SCREENSHOT} in {time.monotonic() - started:.1f}s")


def test_the_fixtures_show_keys_masked_and_download_as_yaml_that_reads_back(tab, dashboard_mock, session_name, control):
    page = tab.open(dashboard_mock, session_name)
    fixtures = page.locator("#fixtures-body")
    expect(fixtures.get_by_role("table").nth(2)).to_contain_text("Acme integration key (messages:write)")
    expect(fixtures).to_contain_text("sk_test_••••••••")
    assert API_KEY not in fixtures.inner_text()
    expect(page.get_by_role("button", name="Copy the key Acme integration key (messages:write)")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as YAML").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename == f"fixtures-{session_name}.yaml"
    assert yaml.safe_load(text) == control.get("/fixtures").json()["data"]
    assert tab.errors == []


def test_fixtures_downloaded_as_json_edited_and_uploaded_replace_them(tab, dashboard_mock, session_name, control):
    page = tab.open(dashboard_mock, session_name)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as JSON").click()
    document = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert document == control.get("/fixtures").json()["data"]
    document["accountGroups"][0]["name"] = "Renamed from the dashboard"
    edited = Path(download.value.path()).with_name("edited.json")
    edited.write_text(json.dumps(document), encoding="utf-8")
    page.get_by_label("Replace with a JSON file").set_input_files(str(edited))
    page.get_by_role("button", name="Upload fixtures").click()
    expect(page.locator("#fixtures-body")).to_contain_text("Renamed from the dashboard")
    assert control.get("/fixtures").json()["data"]["accountGroups"][0]["name"] == "Renamed from the dashboard"
    assert tab.errors == []


def test_with_a_control_token_the_page_asks_once_per_tab(tab):
    with MockProcess("--control-token", "dash-secret") as server:
        page = tab.page
        page.goto(f"{server.base_url}/__mock/")
        dialog = page.get_by_role("dialog", name="Control token")
        token = dialog.get_by_label("Control token")
        expect(token).to_be_visible()
        token.fill("dash-secret")
        page.get_by_role("button", name="Use token").click()
        expect(page.locator("#clock-state")).to_have_text(re.compile("running|frozen"))
        expect(dialog).not_to_be_visible()  # the calls refused at the same moment asked once, not once each
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        expect(dialog).not_to_be_visible()
        expect(page.locator("#fixtures-body")).to_contain_text("ag_acme")
