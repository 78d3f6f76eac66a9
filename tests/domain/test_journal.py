"""journal: newest first, bounded per session."""

from __future__ import annotations

from mock_server.domain import journal


def entry(n, status=202, key=None):
    return journal.JournalEntry(
        at=1_718_200_800.0 + n,
        method="POST",
        path=f"/v1/{n}",
        status=status,
        trace_id=f"t{n}",
        idempotency_key=key,
        api_key_name="Acme key",
    )


def test_entries_are_listed_newest_first(conn):
    for n in range(3):
        journal.record(conn, "s1", entry(n))
    assert [e["traceId"] for e in journal.newest(conn, "s1", 10)] == ["t2", "t1", "t0"]


def test_an_entry_shows_time_in_the_contracts_format_and_no_secret(conn):
    journal.record(conn, "s1", entry(0, status=409, key="k1"))
    [shown] = journal.newest(conn, "s1", 10)
    assert shown == {
        "at": "2024-06-12T14:00:00.000Z",
        "method": "POST",
        "path": "/v1/0",
        "status": 409,
        "traceId": "t0",
        "idempotencyKey": "k1",
        "apiKey": "Acme key",
    }


def test_the_limit_caps_how_many_are_listed(conn):
    for n in range(5):
        journal.record(conn, "s1", entry(n))
    assert [e["traceId"] for e in journal.newest(conn, "s1", 2)] == ["t4", "t3"]


def test_sessions_have_separate_journals(conn):
    journal.record(conn, "s1", entry(1))
    journal.record(conn, "s2", entry(2))
    assert [e["traceId"] for e in journal.newest(conn, "s1", 10)] == ["t1"]


# record() prunes in batches, so a session may briefly hold up to one batch more than KEEP_PER_SESSION.
PRUNE_SLACK = 100


def stored(conn, session):
    return conn.execute("SELECT COUNT(*) FROM journal WHERE session = ?", (session,)).fetchone()[0]


def test_a_busy_session_keeps_only_about_its_newest_entries(conn):
    total = journal.KEEP_PER_SESSION + 3 * PRUNE_SLACK + 50
    for n in range(total):
        journal.record(conn, "s1", entry(n))
    assert stored(conn, "s1") <= journal.KEEP_PER_SESSION + PRUNE_SLACK
    assert journal.newest(conn, "s1", 1)[0]["traceId"] == f"t{total - 1}"


def test_a_session_interleaved_with_another_is_still_bounded(conn):
    for n in range(journal.KEEP_PER_SESSION + 3 * PRUNE_SLACK + 50):
        journal.record(conn, "s1", entry(n))
        journal.record(conn, "s2", entry(n))
    assert stored(conn, "s1") <= journal.KEEP_PER_SESSION + PRUNE_SLACK
