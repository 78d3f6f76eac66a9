"""journal: newest first, bounded per session in entries and in bytes, filtered, and without secrets."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from mock_server.domain import journal

LONG_PATH = "/v1/accounts/" + "x" * 65_000
BEARER = "a-custom-secret-token-1234"


def entry(n, status=202, key=None, api_key="Acme key", path=None, code=None, request=None, response=None):
    return journal.JournalEntry(
        at=1_718_200_800.0 + n,
        method="POST",
        path=path or f"/v1/{n}",
        status=status,
        trace_id=f"t{n}",
        idempotency_key=key,
        api_key_name=api_key,
        code=code,
        duration_ms=1.25,
        mock_time=1_718_200_800.0 + n + 3600,
        request_body=None if request is None else body(request),
        response_body=None if response is None else body(response),
    )


def body(text: str, size: int | None = None) -> journal.Body:
    data = text.encode()
    return journal.Body(data, len(data) if size is None else size)


def test_entries_are_listed_newest_first(conn):
    for n in range(3):
        journal.record(conn, "s1", entry(n))
    assert [e["traceId"] for e in journal.newest(conn, "s1", 10)] == ["t2", "t1", "t0"]


def test_an_entry_shows_wall_and_mock_time_bodies_code_and_no_secret(conn):
    sent = {"prospectId": "prs_1", "message": "hi"}
    error = {"success": False, "error": {"code": "PROSPECT_NOT_CONNECTED"}}
    journal.record(
        conn,
        "s1",
        entry(
            0, status=409, key="k1", code="PROSPECT_NOT_CONNECTED", request=json.dumps(sent), response=json.dumps(error)
        ),
    )
    [shown] = journal.newest(conn, "s1", 10)
    assert shown == {
        "seq": shown["seq"],
        "at": "2024-06-12T14:00:00.000Z",
        "mockTime": "2024-06-12T15:00:00.000Z",
        "method": "POST",
        "path": "/v1/0",
        "status": 409,
        "code": "PROSPECT_NOT_CONNECTED",
        "fault": None,
        "durationMs": 1.25,
        "traceId": "t0",
        "idempotencyKey": "k1",
        "apiKey": "Acme key",
        "requestBody": sent,
        "responseBody": error,
    }
    assert isinstance(shown["seq"], int)


def test_a_body_that_is_not_json_is_shown_as_text_and_an_empty_one_as_null(conn):
    journal.record(conn, "s1", entry(0, request="message=hi&x=1", response=""))
    [shown] = journal.newest(conn, "s1", 1)
    assert shown["requestBody"] == "message=hi&x=1"
    assert shown["responseBody"] is None


def test_long_path_key_and_bodies_are_cut_with_a_marker_naming_what_was_cut(conn):
    big = json.dumps({"message": "m" * 100_000})
    journal.record(conn, "s1", entry(0, path=LONG_PATH, key="k" * 1000, request=big[:8448], response="r" * 20_000))
    stored = conn.execute("SELECT length(path), length(idempotency_key) FROM journal").fetchone()
    assert stored[0] <= journal.MAX_PATH_CHARS + 40 and stored[1] <= journal.MAX_KEY_CHARS + 40
    [shown] = journal.newest(conn, "s1", 1)
    assert shown["path"] == LONG_PATH[: journal.MAX_PATH_CHARS] + f"…[truncated {len(LONG_PATH) - 2048} chars]"
    assert shown["idempotencyKey"] == "k" * 256 + "…[truncated 744 chars]"
    assert shown["responseBody"] == "r" * 8192 + f"…[truncated {20_000 - 8192} bytes]"
    # Cut JSON is no longer JSON: it is shown as the text that was kept, marker included.
    assert isinstance(shown["requestBody"], str)
    assert shown["requestBody"].startswith('{"message": "mmm')
    assert shown["requestBody"].endswith(f"…[truncated {8448 - 8192} bytes]")


def test_the_marker_counts_the_bytes_the_recorder_never_kept(conn):
    head = "b" * 8448
    journal.record(conn, "s1", replace(entry(0), request_body=body(head, 1_000_000)))
    assert journal.newest(conn, "s1", 1)[0]["requestBody"].endswith(f"…[truncated {1_000_000 - 8192} bytes]")


def test_the_bearer_and_key_shaped_values_are_never_stored(conn):
    text = json.dumps({"message": f"my key is {BEARER}, also sk_live_abcDEF123 and sk_test_acme_writer"})
    journal.record(
        conn,
        "s1",
        entry(0, path=f"/v1/{BEARER}/sk_test_zzz", key=f"sk_live_{BEARER}", request=text, response=text),
        secrets=(BEARER,),
    )
    dump = "\n".join(str(row) for row in conn.execute("SELECT * FROM journal"))
    for secret in (BEARER, "sk_live_abc", "sk_test_acme", "sk_test_zzz"):
        assert secret not in dump
    [shown] = journal.newest(conn, "s1", 1)
    assert shown["requestBody"] == {"message": "my key is [redacted], also [redacted] and [redacted]"}
    assert shown["path"] == "/v1/[redacted]/[redacted]"


def test_the_limit_caps_how_many_are_listed(conn):
    for n in range(5):
        journal.record(conn, "s1", entry(n))
    assert [e["traceId"] for e in journal.newest(conn, "s1", 2)] == ["t4", "t3"]


def test_sessions_have_separate_journals(conn):
    journal.record(conn, "s1", entry(1))
    journal.record(conn, "s2", entry(2))
    assert [e["traceId"] for e in journal.newest(conn, "s1", 10)] == ["t1"]


def stored(conn, session, authenticated=None):
    query = "SELECT COUNT(*) FROM journal WHERE session = ?"
    if authenticated is None:
        return conn.execute(query, (session,)).fetchone()[0]
    return conn.execute(query + " AND authenticated = ?", (session, int(authenticated))).fetchone()[0]


def within_ring_bound(count: int, keep: int) -> bool:
    """A ring is trimmed back to `keep` every TRIM_EVERY entries, so it holds between the two."""
    return keep <= count < keep + journal.TRIM_EVERY


def test_a_busy_session_keeps_its_newest_entries_and_no_more_than_a_batch_beyond(conn):
    total = journal.KEEP_AUTHENTICATED + 350
    for n in range(total):
        journal.record(conn, "s1", entry(n))
        assert stored(conn, "s1") < journal.KEEP_AUTHENTICATED + journal.TRIM_EVERY
    assert within_ring_bound(stored(conn, "s1"), journal.KEEP_AUTHENTICATED)
    listed = journal.newest(conn, "s1", 1000)
    assert [e["traceId"] for e in listed] == [f"t{n}" for n in reversed(range(350, total))]


@pytest.mark.parametrize("pattern", [(1, 1), (1, 3), (31, 1), (32, 32)])
def test_sessions_interleaved_in_any_pattern_are_still_bounded(conn, pattern):
    """Trimming counts per ring: no interleaving of sessions (or rings) can dodge it."""
    s1_burst, s2_burst = pattern
    for n in range(journal.KEEP_AUTHENTICATED + 350):
        for _ in range(s1_burst):
            journal.record(conn, "s1", entry(n))
        for _ in range(s2_burst):
            journal.record(conn, "s2", entry(n))
            journal.record(conn, "s2", entry(n, api_key=None))
    assert within_ring_bound(stored(conn, "s1"), journal.KEEP_AUTHENTICATED)
    assert within_ring_bound(stored(conn, "s2", authenticated=True), journal.KEEP_AUTHENTICATED)
    assert within_ring_bound(stored(conn, "s2", authenticated=False), journal.KEEP_UNAUTHENTICATED)


def table_bytes(conn) -> int:
    """Live bytes of the journal's text (what the 64 MB measurement counted)."""
    return conn.execute(
        "SELECT COALESCE(SUM(length(path) + length(trace_id) + COALESCE(length(request_body), 0) "
        "+ COALESCE(length(response_body), 0) + COALESCE(length(idempotency_key), 0)), 0) FROM journal"
    ).fetchone()[0]


def test_unauthenticated_noise_never_pushes_out_authenticated_entries(conn):
    """Issue 8's measurement: 1,200 keyless requests with a 65,000-character path added 64 MB and pushed a
    session's real entries out. Now they cycle their own small ring, each bounded."""
    for n in range(journal.KEEP_AUTHENTICATED):
        journal.record(conn, "s1", entry(n, key=f"real-{n}"))
    pages_before = pages(conn)
    noise = "x" * 2000
    for n in range(1500):
        journal.record(
            conn,
            "s1",
            entry(10_000 + n, status=401, api_key=None, path=LONG_PATH, code="UNAUTHORIZED", response=noise),
        )
    assert stored(conn, "s1", authenticated=True) == journal.KEEP_AUTHENTICATED
    assert within_ring_bound(stored(conn, "s1", authenticated=False), journal.KEEP_UNAUTHENTICATED)
    keys = {e["idempotencyKey"] for e in journal.newest(conn, "s1", 1000, journal.JournalFilter(status=(202, 202)))}
    assert keys == {f"real-{n}" for n in range(journal.KEEP_AUTHENTICATED)}
    per_noise_entry = journal.MAX_PATH_CHARS + 40 + len(noise) + 10
    noise_entries = journal.KEEP_UNAUTHENTICATED + journal.TRIM_EVERY
    assert table_bytes(conn) <= journal.KEEP_AUTHENTICATED * 100 + noise_entries * per_noise_entry
    if conn.engine == "sqlite":
        # Freed pages are reused at once: the noise costs about one ring's worth of pages, not 1,500 entries'
        # worth. (PostgreSQL reuses them after autovacuum, outside this one transaction: live bytes only.)
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        grown = (pages(conn) - pages_before) * page_size
        assert grown < 3 * 1024 * 1024, f"the journal grew by {grown} bytes"


def pages(conn) -> int:
    return conn.execute("PRAGMA page_count").fetchone()[0] if conn.engine == "sqlite" else 0


def filtered(conn, **query):
    return [
        e["traceId"]
        for e in journal.newest(conn, "s1", query.pop("limit", 100), journal.JournalFilter.from_query(**query))
    ]


@pytest.fixture
def varied(conn):
    journal.record(conn, "s1", entry(0, status=202, key="a", path="/v1/accounts/ag_acme/messages/responses"))
    journal.record(conn, "s1", entry(1, status=409, key="b", code="IDEMPOTENCY_KEY_REUSED"))
    journal.record(conn, "s1", entry(2, status=400, code="VALIDATION_ERROR", path="/v1/accounts/ag_acme/x"))
    journal.record(conn, "s1", entry(3, status=503, key="b", code="SERVICE_UNAVAILABLE"))
    journal.record(conn, "s2", entry(4, status=409, key="b", code="IDEMPOTENCY_KEY_REUSED"))
    return conn


def test_filters_by_status_code_path_prefix_and_idempotency_key(varied):
    assert filtered(varied, status="409") == ["t1"]
    assert filtered(varied, status="4xx") == ["t2", "t1"]
    assert filtered(varied, status="2xx") == ["t0"]
    assert filtered(varied, status="4XX") == ["t2", "t1"]
    assert filtered(varied, code="VALIDATION_ERROR") == ["t2"]
    assert filtered(varied, path="/v1/accounts/ag_acme/") == ["t2", "t0"]
    assert filtered(varied, path="/v1/accounts/ag_acme/%") == []  # a prefix, not a LIKE pattern
    assert filtered(varied, idempotency_key="b") == ["t3", "t1"]
    assert filtered(varied, idempotency_key="b", status="5xx") == ["t3"]


def test_since_a_seq_gives_the_entries_right_after_it_so_polling_misses_none(varied):
    seqs = [e["seq"] for e in journal.newest(varied, "s1", 10)]
    assert seqs == sorted(seqs, reverse=True)
    first = seqs[-1]
    assert filtered(varied, since=str(first)) == ["t3", "t2", "t1"]
    assert filtered(varied, since=str(first), limit=2) == ["t2", "t1"]  # the two right after, newest first
    assert filtered(varied, since=str(seqs[0])) == []
    assert filtered(varied, since="9" * 64) == []  # past SQLite's integers: after everything, not a crash


def test_since_a_time_gives_the_entries_at_or_after_it(varied):
    assert filtered(varied, since="2024-06-12T14:00:02Z") == ["t3", "t2"]
    assert filtered(varied, since="2024-06-12T16:00:02+02:00") == ["t3", "t2"]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"status": "4x"}, "status"),
        ({"status": "600"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"since": "²"}, "since"),
    ],
)
def test_a_filter_that_means_nothing_is_refused_naming_it(query, named):
    with pytest.raises(ValueError, match=f"^{named}: "):
        journal.JournalFilter.from_query(**query)
