"""How one mock process is configured: one table of defaults (`MockConfig`), which the CLI refers to.

Workers started by uvicorn rebuild the app from the same config, passed through the environment as JSON.
Every bound a stranger could push against (sessions, headers, timeouts, bodies) has its default here, so
`sonarly-mock serve --help` and the README quote one place.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

ENVIRONMENT_VARIABLE = "SONARLY_MOCK_CONFIG"
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class MockConfig:
    state: str | None = None
    data: str | None = None
    rate_limit: str = "100/s"
    cors_origins: tuple[str, ...] = ("*",)
    control_token: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    sent_retention_seconds: float = 7 * 24 * 3600
    flask_handlers: bool = False
    # The compiled hot path for the contract operation (mock_server/http/fast_path.py); off: every request takes
    # connexion's full stack, which gives the same answers (tests/http/test_fast_path_differential.py), slower.
    fast_path: bool = True
    # Sessions: created only by an authenticated API request or a control call, at most this many at once,
    # dropped after this long without a request (wall clock; the `default` session never expires). A session
    # costs a few kB (copy-on-write fixtures), and CI pipelines open one per test: 10,000 holds a day of them.
    max_sessions: int = 10_000
    session_idle_seconds: float = 24 * 3600
    # The control API (fixtures with every key value, reset, clock) answers browsers only from these origins;
    # none by default, so only same-origin pages (the mock's own docs) and non-browser clients reach it.
    control_cors_origins: tuple[str, ...] = ()
    # Binding to a non-loopback address without --control-token is refused unless this is set.
    allow_open_control: bool = False
    # The Host names the control API answers to; None: any. The CLI sets the loopback names (and --control-host)
    # when it listens on loopback without a token, so a web page whose own domain resolves to 127.0.0.1 (DNS
    # rebinding: same origin to the browser) still cannot read the keys.
    control_hosts: tuple[str, ...] | None = None
    log_level: str = "info"
    log_format: str = "text"
    # Connection bounds: request line + headers, time to receive them, idle keep-alive, gaps inside a body.
    max_header_bytes: int = 64 * 1024
    header_timeout_seconds: float = 10.0
    keep_alive_seconds: float = 5.0
    body_timeout_seconds: float = 30.0
    # PostgreSQL (`--state postgresql://...`): connections each process keeps at most, and how long a request
    # waits for a connection, a lock or a statement before it is a 503 (also the connect timeout).
    db_pool_size: int = 10
    db_timeout_seconds: float = 5.0
    extra: dict[str, str] = field(default_factory=dict)

    def to_environment(self) -> None:
        os.environ[ENVIRONMENT_VARIABLE] = json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> MockConfig:
        raw = json.loads(os.environ.get(ENVIRONMENT_VARIABLE, "{}"))
        for name in ("cors_origins", "control_cors_origins", "control_hosts"):
            if raw.get(name) is not None:
                raw[name] = tuple(raw[name])
        return cls(**raw)
