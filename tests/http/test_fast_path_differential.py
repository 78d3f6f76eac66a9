"""The fast path and the full path give the same answers and leave the same state (issue 11).

Two apps are built in-process, one with `fast_path=True` and one without, and driven in raw ASGI as uvicorn
drives them (tests/support/differential.py). Hypothesis generates sequences of requests, valid and invalid,
with and without keys and sessions, mixed with control steps applied to both apps alike (the clock moves and
sends messages, a fault makes the next request fail so the fast path must hand over). Every answer must be
equal (status, headers, body) once random ids and trace ids are replaced by their order of appearance, and
after each sequence every session's messages, journal and faults must be equal the same way.

A differential test whose requests were all 400s would prove nothing, so each run also counts what the
requests got and requires every outcome a client meets: 202, replay, 400, 401, 403, 409 (each code), 422, 429.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any, cast

import pytest
from connexion.middleware.request_validation import RequestValidationMiddleware
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from starlette.types import ASGIApp

from mock_server import MockConfig, create_app
from mock_server.domain import ratelimit
from support.differential import (
    AUTHS,
    CONTENT_TYPES,
    EXTRAS,
    FRESH,
    GROUPS,
    KEYS,
    PATHS,
    READY,
    SESSIONS,
    Canon,
    Pair,
    Send,
    call,
    json_request,
    outcome,
    prepare,
    stored_state,
)

INSTANTS = (
    "2026-04-28T15:30:00.000Z",  # Tuesday 11:30 in New York, 17:30 in Berlin (after Globex's window)
    "2026-04-28T21:59:30.000Z",  # 30 s before Acme's window closes: the second message waits for the next day
    "2026-05-02T12:00:00.000Z",  # Saturday
    "2026-04-28T03:00:00.000Z",  # night in New York, early morning in Berlin
)
CONFIG: dict[str, Any] = {
    "max_sessions": 4,
    "session_idle_seconds": 0,
    "max_body_bytes": 16 * 1024,
    "log_level": "warning",
}

QUERIES = (b"debug=1", b"accountGroupId=ag_globex", b"limit=%ZZ")

# --- Bodies: small pools, so that the same key meets the same body (replays) and another one (conflicts).

PROSPECTS = (
    "prs_ada_lovelace",  # connected, chat cnv_ada_lovelace
    "prs_alan_turing",  # connected, chat cnv_alan_turing
    "prs_barbara_liskov",  # connected, no chat: direct message 409
    "prs_grace_hopper",  # InMail eligible
    "prs_katherine_johnson",  # InMail eligible
    "prs_edsger_dijkstra",  # marked InMail ineligible
    "prs_linus_torvalds",  # ag_globex, connected
    "prs_margaret_hamilton",  # ag_globex, InMail eligible
    "prs_nobody",  # unknown: 422
)
CONVERSATIONS = ("cnv_ada_lovelace", "cnv_alan_turing", "cnv_linus_torvalds", "cnv_nobody")
MESSAGES = (
    "Thanks for the context. I can send details this afternoon.",
    "Hi, could we compare notes? ✓ Ünïcödé",
    "a",
    "\u200b",  # zero width space is not White_Space: valid
    "\x1c",  # neither in the pattern's list: valid
    "i" * 1900,
    "i" * 1901,  # too long for an InMail only
)
BAD_MESSAGES = ("", "   ", "\u0085\u3000\ufeff", "m" * 8001, 42, None, ["a"])
SUBJECTS = ("Compilers and outbound tooling", "s" * 200)
# A lone surrogate escape and JSON nested past the recursion limit once made the journal read a 500 (found here).
RAW_BODIES = (
    b'{"prospectId": "prs_ada_lovelace", "message": "\\ud800"}',
    b"[" * 3000 + b"]" * 3000,
    b"",
    b"{",
    b"[]",
    b'"text"',
    b"null",
    b"\xff\xfe{}",
    b'\xef\xbb\xbf{"prospectId": "prs_ada_lovelace", "message": "hi"}',
    b'{"prospectId": "prs_ada_lovelace", "prospectId": "prs_alan_turing", "message": "hi"}',
    b'{"prospectId": "prs_ada_lovelace", "message": NaN}',
    b'{"prospectId": "prs_ada_lovelace", "message": "hi", "n": Infinity}',
    b'{"prospectId": "prs_ada_lovelace", "message": "hi"} trailing',
    b"[" * 200 + b"]" * 200,
    b'{"prospectId": "prs_ada_lovelace", "message": "' + b"z" * 17000 + b'"}',  # over max_body_bytes
)


def pick(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """`sampled_from`, drawn by index so that Hypothesis never prints the long options in a strategy's repr."""
    return st.sampled_from(range(len(options))).map(options.__getitem__)


def mix(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """The strategies by weight (`one_of` draws its branches evenly, and merges equal ones)."""
    return st.sampled_from([strategy for weight, strategy in choices for _ in range(weight)]).flatmap(lambda s: s)


def weighted(common: str, names: dict[str, Any], share: int) -> st.SearchStrategy[str]:
    """`common` about `share` times in ten, one of the other names the rest of the time."""
    return mix((share, st.just(common)), (10 - share, st.sampled_from([name for name in names if name != common])))


direct_messages = st.fixed_dictionaries(
    {
        "prospectId": mix((1, st.sampled_from(PROSPECTS[:2])), (1, st.sampled_from(PROSPECTS))),
        "message": pick(MESSAGES[:3]),
    },
    optional={"channel": st.just("direct_message"), "conversationId": st.sampled_from(CONVERSATIONS)},
)
inmails = st.fixed_dictionaries(
    {
        "prospectId": st.sampled_from(PROSPECTS),
        "message": pick(MESSAGES),
        "channel": st.just("inmail"),
        "subject": pick(SUBJECTS),
    }
)
MUTATIONS = (
    ("drop", "prospectId"),
    ("drop", "message"),
    ("drop", "subject"),
    ("set", "prospectId", 7),
    ("set", "prospectId", ""),
    ("set", "prospectId", "p" * 129),
    ("set", "channel", "sms"),
    ("set", "channel", None),
    ("set", "subject", "Hello"),
    ("set", "subject", "s" * 201),
    ("set", "conversationId", "cnv_ada_lovelace"),
    ("set", "conversationId", ""),
    ("set", "color", "blue"),
)


@st.composite
def invalid_objects(draw: st.DrawFn) -> dict[str, Any]:
    """A plausible body with one or several problems (every one must be listed, in the same words)."""
    body = dict(draw(st.one_of(direct_messages, inmails)))
    if draw(st.booleans()):
        body["message"] = draw(pick(BAD_MESSAGES))
    for mutation in draw(st.lists(pick(MUTATIONS), max_size=3)):
        if mutation[0] == "drop":
            body.pop(mutation[1], None)
        else:
            body[mutation[1]] = mutation[2]
    return body


@st.composite
def encoded(draw: st.DrawFn, objects: st.SearchStrategy[dict[str, Any]]) -> bytes:
    """A JSON object spelled in one of several ways (member order and white space must not matter)."""
    body = draw(objects)
    style = draw(st.sampled_from(("compact", "compact", "spaced", "reversed", "ascii")))
    if style == "reversed":
        body = dict(reversed(list(body.items())))
    if style == "compact":
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return json.dumps(body, indent=1 if style == "spaced" else None, ensure_ascii=style != "ascii").encode()


bodies = mix(
    (5, encoded(direct_messages)), (2, encoded(inmails)), (2, encoded(invalid_objects())), (1, pick(RAW_BODIES))
)


@dataclass(frozen=True)
class Again:
    """An earlier request again, counting back among those accepted (else among all): a retry (a replay with its
    Idempotency-Key) or, with another body, a conflict."""

    back: int
    body: bytes | None


@dataclass(frozen=True)
class Advance:
    session: str
    seconds: float


@dataclass(frozen=True)
class Fault:
    session: str
    fault: tuple[tuple[str, Any], ...]


Step = Send | Again | Advance | Fault

sends = st.builds(
    Send,
    method=mix((12, st.just("POST")), (1, st.sampled_from(("GET", "PUT", "DELETE", "OPTIONS", "HEAD", "post")))),
    path=weighted("acme", PATHS, 8),
    auth=weighted("writer", AUTHS, 8),
    content_type=weighted("json", CONTENT_TYPES, 8),
    key=mix((3, st.sampled_from(("none", "k1", "k2", "k3"))), (1, st.sampled_from(tuple(KEYS)))),
    session=mix((4, st.sampled_from(("none", "s1", "s2"))), (1, st.sampled_from(tuple(SESSIONS)))),
    extras=mix((8, st.just(())), (1, st.lists(st.sampled_from(tuple(EXTRAS)), max_size=2, unique=True).map(tuple))),
    query=mix((12, st.just(b"")), (1, st.sampled_from(QUERIES))),
    body=bodies,
    chunks=st.sampled_from((1, 1, 1, 2, 3)),
    framing=st.sampled_from(("length",) * 8 + ("chunked", "zero_padded")),
)
agains = st.builds(Again, back=st.integers(1, 4), body=mix((2, st.none()), (1, encoded(direct_messages))))
advances = st.builds(Advance, session=st.sampled_from(READY), seconds=st.sampled_from((30, 61, 600, 3600, 129600)))
faults = st.builds(
    Fault,
    session=st.sampled_from(READY),
    fault=st.fixed_dictionaries(
        {"status": st.sampled_from((429, 500, 503, 504)), "seed": st.just(7)},  # a seed: the same draws in both apps
        optional={
            "count": st.integers(1, 3),
            "method": st.just("POST"),
            # Another group's prefix: a fault pending for the session that this request does not meet.
            "pathPrefix": st.sampled_from(("/v1/accounts/ag_acme/", "/v1/accounts/ag_globex/")),
        },
    ).map(lambda fault: tuple(sorted(fault.items()))),
)
steps = mix((14, sends), (5, agains), (1, advances), (1, faults))


async def play(run: Pair, sequence: list[Step], instants: tuple[str, ...]) -> None:
    await asyncio.gather(prepare(run.fast, instants), prepare(run.full, instants))
    sent: list[Send] = []
    accepted: list[Send] = []
    for index, step in enumerate(sequence):
        if isinstance(step, Again):
            earlier = accepted or sent
            if not earlier:
                continue
            again = earlier[-step.back % len(earlier)]
            step = again if step.body is None else replace(again, body=step.body)
        if isinstance(step, Send):
            sent.append(step)
            if await run.both(step.raw(), step.session in FRESH, f"step {index}: {step}") == "202":
                accepted.append(step)
        elif isinstance(step, Advance):
            advance = json_request("POST", "/__mock/clock/advance", step.session, {"seconds": step.seconds})
            await run.both(advance, False, f"step {index}: {step}")
        else:
            fault = json_request("POST", "/__mock/faults", step.session, dict(step.fault))
            await run.both(fault, False, f"step {index}: {step}")
    await run.same_state()


def flatten(parts: list[list[Step]]) -> list[Step]:
    return [step for part in parts for step in part]


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for every request of the module, as one uvicorn worker has."""
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


def differential(
    loop: asyncio.AbstractEventLoop, config: dict[str, Any], examples: int, longest: int
) -> tuple[Counter[str], Counter[str]]:
    """Run the property over `examples` sequences of about `longest` / 2 steps (up to 2 * `longest`); return the
    outcomes seen, and those of them the fast app wrote whole. A list of short lists: long sequences that
    Hypothesis still shrinks step by step (a list's own average length stays near 6, and a drawn length would
    shrink only from the end)."""
    fast, full = (create_app(MockConfig(fast_path=on, **CONFIG, **config)) for on in (True, False))
    seen: Counter[str] = Counter()
    written_whole: Counter[str] = Counter()

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(
        sequence=st.lists(st.lists(steps, min_size=1, max_size=10), min_size=1, max_size=longest // 5).map(flatten),
        instants=st.tuples(*[st.sampled_from(INSTANTS)] * len(READY)),
    )
    def same_answers_and_state(sequence: list[Step], instants: tuple[str, ...]) -> None:
        # Hypothesis under this pytest prints a failing example's arguments blank: the steps, one per line.
        note(
            "\n".join([f"instants={instants!r}", "sequence=", *(f"  {i}: {step!r}" for i, step in enumerate(sequence))])
        )
        loop.run_until_complete(play(Pair(fast, full, seen, written_whole=written_whole), sequence, instants))

    # Each config its own entries in Hypothesis's example database (as its pytest plugin does for parametrize):
    # a failure saved by one run is replayed first by that run, not by the other.
    inner_test = cast(Any, same_answers_and_state).hypothesis.inner_test
    inner_test._hypothesis_internal_add_digest = repr(sorted(config.items())).encode()
    same_answers_and_state()
    return seen, written_whole


EVERY_OUTCOME = {
    "202",
    "202 replay",
    "400 VALIDATION_ERROR",
    "401 UNAUTHORIZED",
    "403 FORBIDDEN",
    "409 IDEMPOTENCY_CONFLICT",
    "409 PROSPECT_NOT_CONNECTED",
    "409 INMAIL_NOT_ELIGIBLE",
    "422 VALIDATION_ERROR",
    "429 RATE_LIMITED",
}


def test_the_fast_path_and_the_full_path_answer_alike_and_store_alike(loop: asyncio.AbstractEventLoop) -> None:
    """Thousands of requests, every outcome a client meets among them, and a good share of them accepted."""
    seen, written_whole = differential(loop, {"rate_limit": "off"}, examples=150, longest=60)
    assert EVERY_OUTCOME <= set(seen), f"outcomes never reached: {EVERY_OUTCOME - set(seen)}; seen {seen}"
    accepted = seen["202"] + seen["202 replay"]
    assert accepted >= sum(seen.values()) // 8, f"too few accepted requests to compare the fast path: {seen}"
    # What the fast path answers itself leaves in one write; a refused caller and a session past the cap (the 429
    # without a rate limit) are handed over, answered in two.
    handed_over = {"401 UNAUTHORIZED", "403 FORBIDDEN", "429 RATE_LIMITED"}
    assert set(written_whole) == EVERY_OUTCOME - handed_over, written_whole


def test_with_a_tiny_rate_limit_both_paths_limit_the_same_requests(
    loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 1/h the first request of each (session, key) passes and every later one is a 429. The limiter runs on
    real time; a clock that stands still makes every `Retry-After` exactly 3600 in both apps."""
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: 1000.0))
    seen, written_whole = differential(loop, {"rate_limit": "1/h"}, examples=40, longest=20)
    assert {"202", "429 RATE_LIMITED"} <= set(seen), seen
    assert {"202", "429 RATE_LIMITED"} <= set(written_whole), written_whole


# --- The fast path must really serve: a differential test between two full paths would pass as well.

FAST_PATH_ANSWERS = (
    ("k1", {"prospectId": "prs_ada_lovelace", "message": "hi"}, b"", "202"),
    ("k1", {"prospectId": "prs_ada_lovelace", "message": "hi"}, b"", "202 replay"),
    ("k1", {"prospectId": "prs_alan_turing", "message": "hi"}, b"", "409 IDEMPOTENCY_CONFLICT"),
    ("none", {"prospectId": "prs_barbara_liskov", "message": "hi"}, b"", "409 PROSPECT_NOT_CONNECTED"),
    ("none", {"prospectId": "prs_nobody", "message": "hi"}, b"", "422 VALIDATION_ERROR"),
    ("none", {"prospectId": "", "message": " ", "extra": 1}, b"", "400 VALIDATION_ERROR"),
)
HANDED_OVER = ("none", {"prospectId": "prs_ada_lovelace", "message": "hi"}, b"debug=1", "202")
"""A query string is unusual: the full path answers, which shows that the count below sees connexion at work."""


async def validated_by_connexion(app: ASGIApp, validated: list[str]) -> list[tuple[str, bool]]:
    """Each request's outcome, and whether it went through connexion's request validation."""
    await prepare(app, (INSTANTS[0],) * len(READY))
    seen: list[tuple[str, bool]] = []
    for key, body, query, _ in (*FAST_PATH_ANSWERS, HANDED_OVER):
        before = len(validated)
        payload = json.dumps(body).encode()
        send = Send("POST", "acme", "writer", "json", key, "none", (), query, payload, 1, "length")
        answer = Canon().answer(await call(app, send.raw()))
        seen.append((outcome(answer), len(validated) > before))
    return seen


def test_the_fast_path_answers_what_it_accepts_without_connexion_and_hands_over_the_rest(
    loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the fast path, a 202, a replay, a body's 400 and the domain's 409s and 422 never reach connexion's
    validation; an unusual request does (handed over); without the fast path, every request does."""
    validated: list[str] = []
    through = RequestValidationMiddleware.__call__

    async def counted(self: RequestValidationMiddleware, scope: Any, receive: Any, send: Any) -> None:
        validated.append(scope["path"])
        await through(self, scope, receive, send)

    monkeypatch.setattr(RequestValidationMiddleware, "__call__", counted)
    outcomes = [expected for *_, expected in (*FAST_PATH_ANSWERS, HANDED_OVER)]
    fast, full = (create_app(MockConfig(fast_path=on, **CONFIG)) for on in (True, False))
    by_fast = loop.run_until_complete(validated_by_connexion(fast, validated))
    by_full = loop.run_until_complete(validated_by_connexion(full, validated))
    assert by_full == [(expected, True) for expected in outcomes]
    assert by_fast == [(expected, False) for expected in outcomes[:-1]] + [(outcomes[-1], True)]


def test_a_client_gone_before_the_answer_gets_nothing_and_both_paths_keep_the_same(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """uvicorn drops what is sent to a cycle whose client left, so the fast path sends through the recording as
    the full path does (no whole write): nothing is written, and both keep the same messages and journal."""

    async def play(app: ASGIApp) -> dict[str, Any]:
        await prepare(app, (INSTANTS[0],) * len(READY))
        for key, body, query, _ in FAST_PATH_ANSWERS:
            payload = json.dumps(body).encode()
            send = Send("POST", "acme", "writer", "json", key, "none", (), query, payload, 1, "length")
            answer = await call(app, send.raw(), gone=True)
            assert (answer.status, answer.writes, answer.raised) == (None, 0, None), answer
        return await stored_state(app, Canon(), GROUPS, frozenset(FRESH))

    fast, full = (create_app(MockConfig(fast_path=on, **CONFIG)) for on in (True, False))
    kept = loop.run_until_complete(play(fast))
    assert kept == loop.run_until_complete(play(full))
    assert kept["default"]["messages"]["ag_acme"], kept  # the 202 was kept though nobody heard it
