"""The corpus of hostile requests: nasty bodies, bad headers and path tricks, each with the contract's answer.

Every request goes through the auth ladder of the contract's order of checks: no key is 401, a key without
`messages:write` or without the group is 403, and only the valid key reaches the request's own answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from support.mock_fixtures import API_KEY, GLOBEX_KEY, GROUP, PROSPECT, READONLY_KEY, RESPONSES_PATH

TEN_MB = 10 * 1024 * 1024
DEPTH = 10_000
VALID = b'{"prospectId":"%s","message":"Hello"}' % PROSPECT.encode()
JSON_HEADERS: tuple[tuple[str, str | bytes], ...] = (("Content-Type", "application/json"),)


@dataclass(frozen=True)
class Hostile:
    """One request: target, headers besides Authorization, a body (bytes, or chunks for chunked encoding)."""

    name: str
    status: int
    code: str
    body: bytes | Callable[[], Iterable[bytes]] | None = VALID
    target: str | bytes = RESPONSES_PATH
    headers: tuple[tuple[str, str | bytes], ...] = JSON_HEADERS
    details: str | None = None  # a fragment `error.details` must contain
    authorization: str | bytes | None = None  # replaces `Bearer <valid key>` on the valid rung
    before_auth: bool = False  # the same answer for every key: not the route (404), or not HTTP at all (400)

    def payload(self) -> bytes | Iterable[bytes] | None:
        return self.body() if callable(self.body) else self.body


def _ten_mb_chunks() -> Iterator[bytes]:
    yield b'{"prospectId":"%s","message":"' % PROSPECT.encode()
    for _ in range(TEN_MB // (256 * 1024)):
        yield b"a" * (256 * 1024)
    yield b'"}'


def _field(value: bytes, name: bytes = b"message") -> bytes:
    """A valid body whose `name` member is replaced by `value` (raw JSON text)."""
    other = b"prospectId" if name == b"message" else b"message"
    other_value = b'"%s"' % PROSPECT.encode() if other == b"prospectId" else b'"Hello"'
    return b'{"%s":%s,"%s":%s}' % (other, other_value, name, value)


def _bad(name: str, body: bytes | Callable[[], Iterable[bytes]] | None, details: str | None = None, **kw) -> Hostile:
    return Hostile(name, 400, "VALIDATION_ERROR", body=body, details=details, **kw)


BODIES: list[Hostile] = [
    _bad("invalid-utf8-in-string", _field(b'"caf\xff\xfe"'), "UTF-8"),
    _bad("invalid-utf8-overlong-slash", _field(b'"\xc0\xaf"'), "UTF-8"),
    _bad("invalid-utf8-truncated-sequence", _field(b'"\xe2\x82"'), "UTF-8"),
    _bad("invalid-utf8-encoded-surrogate", _field(b'"\xed\xa0\x80"'), "UTF-8"),
    _bad("raw-nul-inside-a-string", _field(b'"Hel\x00lo"'), "body"),
    _bad("raw-nul-between-tokens", b'{"prospectId":"%s",\x00"message":"Hello"}' % PROSPECT.encode(), "body"),
    Hostile(
        "escaped-nul-in-prospect-id-is-not-truncated",
        422,
        "VALIDATION_ERROR",
        body=_field(b'"%s\\u0000junk"' % PROSPECT.encode(), b"prospectId"),
        details="prospectId",
    ),
    # A lone surrogate escape is valid JSON grammar but no Unicode text (RFC 8259 8.2): the body is not valid.
    _bad("escaped-lone-surrogate-in-prospect-id", _field(b'"\\ud800"', b"prospectId")),
    _bad("escaped-lone-surrogate-in-message", _field(b'"Hi \\ud800"')),
    _bad("escaped-lone-surrogate-in-a-property-name", VALID[:-1] + b',"x\\udc00":1}'),
    _bad("ten-mb-with-content-length", b'{"message":"' + b"a" * TEN_MB + b'"}', "1048576"),
    _bad("ten-mb-chunked-without-length", _ten_mb_chunks, "1048576"),
    _bad("arrays-nested-10000-deep", b"[" * DEPTH + b"]" * DEPTH, "body"),
    _bad("objects-nested-10000-deep", b'{"a":' * DEPTH + b"1" + b"}" * DEPTH, "body"),
    _bad("arrays-nested-10000-deep-in-a-field", _field(b"[" * DEPTH + b"]" * DEPTH), "body"),
    _bad("objects-nested-10000-deep-in-a-field", _field(b'{"a":' * DEPTH + b"1" + b"}" * DEPTH), "body"),
    _bad("1e999999-in-a-field", _field(b"1e999999"), "message"),
    _bad("minus-1e999999-in-a-field", _field(b"-1e999999", b"prospectId"), "prospectId"),
    _bad("1e999999-at-top-level", b"1e999999", "body"),
    _bad("5000-digit-integer-in-a-field", _field(b"9" * 5000), "body"),
    _bad("5000-digit-integer-at-top-level", b"9" * 5000, "body"),
    _bad("5000-digit-fraction-in-a-field", _field(b"0." + b"1" * 5000), "message"),
    _bad("nan-and-infinity-literals", b'{"prospectId":NaN,"message":Infinity}', "body"),
    _bad(
        "duplicate-keys-same-value",
        b'{"prospectId":"%s","prospectId":"%s","message":"Hi"}' % (PROSPECT.encode(), PROSPECT.encode()),
    ),
    _bad("duplicate-keys-different-value", b'{"prospectId":"%s","message":"Hi","message":"Bye"}' % PROSPECT.encode()),
    _bad("utf8-bom-before-the-object", b"\xef\xbb\xbf" + VALID, "body"),
    _bad("empty-body", b"", "body"),
    _bad("empty-body-without-content-type", b"", "body", headers=()),
    _bad("whitespace-only-body", b" \r\n\t ", "body"),
    _bad("text-plain-content-type", VALID, "Content-Type", headers=(("Content-Type", "text/plain"),)),
    _bad(
        "charset-latin-1-with-a-latin-1-byte",
        _field(b'"caf\xe9"'),
        "UTF-8",
        headers=(("Content-Type", "application/json; charset=latin-1"),),
    ),
    # RFC 8259 defines no charset parameter for application/json: the body is UTF-8 whatever it says.
    Hostile(
        "charset-latin-1-with-an-ascii-body",
        202,
        "",
        headers=(("Content-Type", "application/json; charset=latin-1"),),
    ),
]

LONG_AUTHORIZATION = "Bearer " + "x" * 60_000


def _with_key(value: str | bytes) -> tuple[tuple[str, str | bytes], ...]:
    return (*JSON_HEADERS, ("Idempotency-Key", value))


HEADERS: list[Hostile] = [
    _bad("idempotency-key-10-kb", VALID, "Idempotency-Key", headers=_with_key("k" * 10240)),
    _bad("idempotency-key-utf8-bytes", VALID, "Idempotency-Key", headers=_with_key("clé-ü".encode())),
    _bad("idempotency-key-latin-1-bytes", VALID, "Idempotency-Key", headers=_with_key(b"cl\xe9\xff")),
    _bad("idempotency-key-with-a-space", VALID, "Idempotency-Key", headers=_with_key("a b")),
    _bad("idempotency-key-empty", VALID, "Idempotency-Key", headers=_with_key("")),
    Hostile("bearer-with-no-token", 401, "UNAUTHORIZED", authorization="Bearer"),
    Hostile("bearer-and-one-space", 401, "UNAUTHORIZED", authorization="Bearer "),
    Hostile("bearer-and-two-spaces", 401, "UNAUTHORIZED", authorization="Bearer  "),
    Hostile("very-long-authorization", 401, "UNAUTHORIZED", authorization=LONG_AUTHORIZATION),
    Hostile("valid-key-with-a-long-tail", 401, "UNAUTHORIZED", authorization=f"Bearer {API_KEY}{'x' * 10_000}"),
    Hostile("authorization-latin-1-bytes", 401, "UNAUTHORIZED", authorization=b"Bearer sk_test_\xe9\xff"),
    Hostile("basic-scheme-with-the-key", 401, "UNAUTHORIZED", authorization=f"Basic {API_KEY}"),
]

_IN_ROUTE = "/v1/accounts/{}/messages/responses"
# The route, with an odd (so unknown) account group id: 401 without a key, then 403 with any key.
ODD_GROUPS: list[Hostile] = [
    Hostile(f"group-{name}", 403, "FORBIDDEN", target=_IN_ROUTE.format(segment))
    for name, segment in [
        ("percent-0a", "ag%0Aacme"),
        ("percent-00", "ag%00acme"),
        ("percent-ff", "ag%FFacme"),
        ("crlf-header-injection", "ag%0D%0AX-Injected:%201"),
        ("percent-encoded-dots", "%2e%2e"),
        ("percent-encoded-unicode", "%E2%9C%93%20%F0%9F%98%80"),
        ("20000-characters", "a" * 20_000),
        # An encoded slash is data inside one segment (RFC 3986), never a path delimiter.
        ("dot-dot-percent-2f", "..%2Fag_acme"),
        ("percent-2f-after-the-real-group", f"{GROUP}%2F..%2F{GROUP}"),
    ]
]

# Not the route: 404 NOT_FOUND, with or without a key.
NOT_ROUTES: list[Hostile] = [
    Hostile(f"path-{name}", 404, "NOT_FOUND", target=target, before_auth=True)
    for name, target in [
        ("dot-dot-percent-2f-climbing", f"/v1/accounts/{GROUP}/..%2F..%2Fmessages/responses"),
        ("literal-dot-segments", f"/v1/accounts/{GROUP}/messages/../messages/responses"),
        ("leading-double-slash", f"//v1/accounts/{GROUP}/messages/responses"),
        ("inner-double-slash", f"/v1//accounts/{GROUP}/messages/responses"),
        ("empty-group-segment", "/v1/accounts//messages/responses"),
        ("trailing-slash", f"{RESPONSES_PATH}/"),
        ("percent-0a-after-the-route", f"{RESPONSES_PATH}%0A"),
        ("percent-00-after-the-route", f"{RESPONSES_PATH}%00"),
        ("matrix-parameter", f"{RESPONSES_PATH};x=1"),
        ("upper-case-version", f"/V1/accounts/{GROUP}/messages/responses"),
        ("60000-characters", "/v1/" + "a" * 60_000),
    ]
]

# Bytes that are not valid in an HTTP/1.1 request target or header value (RFC 9112: the target is ASCII,
# field values have no control bytes). Such a request is not HTTP, so no key can make it valid: 400
# VALIDATION_ERROR in the envelope for every key. uvicorn's parser answers these itself, in plain text.
MALFORMED_HTTP: list[Hostile] = [
    Hostile(name, 400, "VALIDATION_ERROR", target=target, headers=headers, before_auth=True)
    for name, target, headers in [
        ("raw-utf8-in-the-path", "/v1/accounts/ag_ácmé/messages/responses".encode(), JSON_HEADERS),
        ("raw-ff-byte-in-the-path", b"/v1/accounts/ag\xffacme/messages/responses", JSON_HEADERS),
        ("raw-control-byte-in-the-path", b"/v1/accounts/ag\x01acme/messages/responses", JSON_HEADERS),
        ("raw-space-in-the-path", b"/v1/accounts/ag acme/messages/responses", JSON_HEADERS),
        ("control-byte-in-idempotency-key", RESPONSES_PATH.encode(), _with_key(b"a\x01b")),
        ("nul-byte-in-idempotency-key", RESPONSES_PATH.encode(), _with_key(b"a\x00b")),
    ]
]

KEY_RUNGS: list[tuple[str, str | None, int, str]] = [
    ("no-key", None, 401, "UNAUTHORIZED"),
    ("read-only-key", READONLY_KEY, 403, "FORBIDDEN"),
    ("other-groups-key", GLOBEX_KEY, 403, "FORBIDDEN"),
    ("valid-key", API_KEY, 0, ""),
]
