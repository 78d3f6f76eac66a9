"""idempotency: the body fingerprint, and keys bound per (session, account group) for 24 hours."""

from __future__ import annotations

import pytest

from mock_server.domain.errors import IdempotencyConflict
from mock_server.domain.idempotency import RETENTION_SECONDS, IdempotencyStore, fingerprint

BODY = {"prospectId": "prs_ada_lovelace", "message": "Hi", "channel": "direct_message"}
DATA = {"id": "a" * 24, "status": "queued"}
NOW = 1_718_200_800.0


def test_member_order_does_not_change_the_fingerprint():
    reordered = dict(reversed(list(BODY.items())))
    assert fingerprint(reordered) == fingerprint(BODY)


def test_an_omitted_channel_fingerprints_as_direct_message():
    omitted = {k: v for k, v in BODY.items() if k != "channel"}
    assert fingerprint(omitted) == fingerprint(BODY)


@pytest.mark.parametrize(
    "other",
    [
        {**BODY, "message": "Hi!"},
        {**BODY, "prospectId": "prs_alan_turing"},
        {**BODY, "channel": "inmail", "subject": "Hi"},
        {**BODY, "conversationId": "cnv_ada_lovelace"},
    ],
    ids=["message", "prospect", "channel", "extra-member"],
)
def test_a_different_body_has_a_different_fingerprint(other):
    assert fingerprint(other) != fingerprint(BODY)


def keys(conn, group="ag_acme", session="s1"):
    return IdempotencyStore(conn, session, group)


def test_an_unbound_key_has_nothing_to_replay(conn):
    assert keys(conn).lookup("k1", fingerprint(BODY), NOW) is None


def test_a_bound_key_replays_its_data_for_the_same_body(conn):
    keys(conn).bind("k1", fingerprint(BODY), DATA, NOW)
    replay = keys(conn).lookup("k1", fingerprint(BODY), NOW + 1)
    assert replay is not None
    assert replay.data == DATA


def test_a_bound_key_with_a_different_body_is_a_conflict(conn):
    keys(conn).bind("k1", fingerprint(BODY), DATA, NOW)
    with pytest.raises(IdempotencyConflict) as raised:
        keys(conn).lookup("k1", fingerprint({**BODY, "message": "other"}), NOW + 1)
    assert (raised.value.status, raised.value.code) == (409, "IDEMPOTENCY_CONFLICT")


def test_a_key_still_replays_just_before_24_hours(conn):
    keys(conn).bind("k1", fingerprint(BODY), DATA, NOW)
    assert keys(conn).lookup("k1", fingerprint(BODY), NOW + RETENTION_SECONDS - 0.001) is not None


def test_a_key_is_free_after_24_hours_even_for_a_different_body(conn):
    keys(conn).bind("k1", fingerprint(BODY), DATA, NOW)
    later = NOW + RETENTION_SECONDS
    assert keys(conn).lookup("k1", fingerprint({**BODY, "message": "other"}), later) is None


def test_a_freed_key_can_be_bound_again_to_a_new_body(conn):
    keys(conn).bind("k1", fingerprint(BODY), DATA, NOW)
    later = NOW + RETENTION_SECONDS
    other = {**BODY, "message": "other"}
    keys(conn).bind("k1", fingerprint(other), {"id": "b" * 24}, later)
    replay = keys(conn).lookup("k1", fingerprint(other), later + 1)
    assert replay is not None
    assert replay.data == {"id": "b" * 24}


def test_a_key_bound_in_one_account_group_is_unknown_in_another(conn):
    keys(conn, group="ag_acme").bind("k1", fingerprint(BODY), DATA, NOW)
    assert keys(conn, group="ag_globex").lookup("k1", fingerprint({**BODY, "message": "x"}), NOW) is None


def test_a_key_bound_in_one_session_is_unknown_in_another(conn):
    keys(conn, session="s1").bind("k1", fingerprint(BODY), DATA, NOW)
    assert keys(conn, session="s2").lookup("k1", fingerprint({**BODY, "message": "x"}), NOW) is None
