"""`sonarly-mock`: serve the mock, or print its demo fixtures for the conformance kit.

Every `serve` option takes its default from `MockConfig` (one table of defaults) and can also be set from
the environment (`SONARLY_MOCK_<OPTION>`), as containers and CI jobs expect; `--help` lists both.
"""

from __future__ import annotations

import ipaddress
import json
import math
import socket
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click
import uvicorn

from mock_server.config import MockConfig
from mock_server.domain.errors import InvalidFixtures
from mock_server.domain.fixtures import load_fixtures
from mock_server.domain.ratelimit import RateLimit
from mock_server.http.cors import LOOPBACK_HOSTS, invalid_origin
from mock_server.http.protocol import EnvelopeHttpToolsProtocol
from mock_server.logs import LEVELS, configure_logging
from mock_server.storage import StateFileError, check_state, is_postgres_url
from mock_server.storage.postgres import redacted

CONFORMANCE_KEYS = (
    "base_url",
    "api_key",
    "account_group_id",
    "prospect_id",
    "conversation_id",
    "inmail_prospect_id",
    "restricted_api_key",
    "foreign_account_group_id",
)
DEFAULTS = MockConfig()
ENV_PREFIX = "SONARLY_MOCK_"
TEN_YEARS = 10 * 365 * 24 * 3600
F = TypeVar("F", bound=Callable[..., Any])


class Bounded(click.FloatRange):
    """A float within bounds that is also finite: `nan` passes every comparison, so FloatRange lets it in."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class StateLocation(click.ParamType):
    """`--state`: a PostgreSQL URL as given, or the path of a SQLite file (not a directory)."""

    name = "FILE|URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value)
        if is_postgres_url(text):
            return text
        return str(click.Path(dir_okay=False).convert(text, param, ctx))


class StartupError(click.ClickException):
    """A refusal to start: one line on stderr and exit status 2, like a usage error but without the usage."""

    exit_code = 2


def option(*decls: str, env: str, **kwargs: Any) -> Callable[[F], F]:
    """A `serve` option that can also come from `SONARLY_MOCK_<env>`, which `--help` shows."""
    kwargs.setdefault("show_default", "default" in kwargs and not kwargs.get("is_flag"))
    return click.option(*decls, envvar=ENV_PREFIX + env, show_envvar=True, **kwargs)


def check_origins(_: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        problem = invalid_origin(value)
        if problem:
            raise click.BadParameter(problem, param=param)
    return values


SERVE_OPTIONS: list[Callable[[F], F]] = [
    option("--host", env="HOST", default="127.0.0.1", help="Address to listen on; see --control-token."),
    option("--port", env="PORT", default=8080, type=click.IntRange(1, 65535), help="TCP port (1-65535)."),
    option(
        "--state",
        env="STATE",
        type=StateLocation(),
        help="Where state lives across restarts: a SQLite FILE, or postgresql://USER:PASSWORD@HOST:PORT/DB for a "
        "fleet of replicas sharing one database (in memory without it).",
    ),
    option(
        "--db-pool-size",
        env="DB_POOL_SIZE",
        default=DEFAULTS.db_pool_size,
        type=click.IntRange(1, 1000),
        help="PostgreSQL: connections each process keeps at most.",
    ),
    option(
        "--db-timeout",
        env="DB_TIMEOUT",
        default=DEFAULTS.db_timeout_seconds,
        type=Bounded(0.1, 600),
        help="PostgreSQL: seconds a request waits for a connection, a lock or a statement before a 503.",
    ),
    option("--data", env="DATA", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Fixture file."),
    option("--workers", env="WORKERS", default=1, type=click.IntRange(1, 64), help="Processes (needs --state)."),
    option(
        "--cors-origin",
        "cors_origins",
        env="CORS_ORIGIN",
        multiple=True,
        callback=check_origins,
        help="Browser origin allowed to call the API (repeat); any by default.",
    ),
    option(
        "--control-cors-origin",
        "control_cors_origins",
        env="CONTROL_CORS_ORIGIN",
        multiple=True,
        callback=check_origins,
        help="Browser origin allowed to call the control API /__mock/ (repeat); none by default (same origin).",
    ),
    option(
        "--rate-limit",
        env="RATE_LIMIT",
        default=DEFAULTS.rate_limit,
        help="Per API key and session: N/s, N/m or N/h (1/h to 100000/s), or off.",
    ),
    option(
        "--control-token",
        env="CONTROL_TOKEN",
        help="Require `Authorization: Bearer TOKEN` on the control API /__mock/.",
    ),
    option(
        "--allow-open-control",
        env="ALLOW_OPEN_CONTROL",
        is_flag=True,
        default=DEFAULTS.allow_open_control,
        help="Serve on a non-loopback --host without --control-token (anyone who reaches it controls the mock).",
    ),
    option(
        "--control-host",
        "control_hosts",
        env="CONTROL_HOST",
        multiple=True,
        help="On loopback without --control-token, the control API answers only to loopback Host names (a "
        "guard against DNS rebinding); add a name it may be reached by (repeat).",
    ),
    option(
        "--max-sessions",
        env="MAX_SESSIONS",
        default=DEFAULTS.max_sessions,
        type=click.IntRange(1, 1_000_000),
        help="Sessions (X-Mock-Session) at once; past it, 429 until one expires or is deleted.",
    ),
    option(
        "--session-idle",
        env="SESSION_IDLE",
        default=DEFAULTS.session_idle_seconds,
        type=Bounded(1, TEN_YEARS),
        help="Seconds (wall clock) after which an unused session is dropped; `default` never is.",
    ),
    option(
        "--sent-retention",
        env="SENT_RETENTION",
        default=DEFAULTS.sent_retention_seconds,
        type=Bounded(0, TEN_YEARS),
        help="Seconds of mock time a sent message stays listed before it is purged.",
    ),
    option(
        "--max-header-bytes",
        env="MAX_HEADER_BYTES",
        default=DEFAULTS.max_header_bytes,
        type=click.IntRange(1024, 16 * 1024 * 1024),
        help="Limit: request line + headers; past it, 400 and the connection is closed.",
    ),
    option(
        "--header-timeout",
        env="HEADER_TIMEOUT",
        default=DEFAULTS.header_timeout_seconds,
        type=Bounded(0.1, 3600),
        help="Limit: seconds to send the request line and headers (from connect or the request's first byte).",
    ),
    option(
        "--keep-alive",
        env="KEEP_ALIVE",
        default=DEFAULTS.keep_alive_seconds,
        type=Bounded(0.1, 3600),
        help="Limit: seconds an idle keep-alive connection stays open between requests.",
    ),
    option(
        "--body-timeout",
        env="BODY_TIMEOUT",
        default=DEFAULTS.body_timeout_seconds,
        type=Bounded(0.1, 3600),
        help="Limit: longest pause, in seconds, inside a request body; past it, 400 and the connection is closed.",
    ),
    option(
        "--log-level",
        env="LOG_LEVEL",
        default=DEFAULTS.log_level,
        type=click.Choice(list(LEVELS), case_sensitive=False),
        help="Request log and messages at this level and above (a request line is info).",
    ),
    option(
        "--log-format",
        env="LOG_FORMAT",
        default=DEFAULTS.log_format,
        type=click.Choice(["text", "json"], case_sensitive=False),
        help="One line per request: text, or JSON lines for tools.",
    ),
    option(
        "--flask-handlers",
        env="FLASK_HANDLERS",
        is_flag=True,
        help="Serve the API operation through Flask (WSGI) instead of the ASGI endpoint; slower, for comparison.",
    ),
    option(
        "--fast-path/--no-fast-path",
        env="FAST_PATH",
        default=DEFAULTS.fast_path,
        help="Answer accepted API requests through the path compiled from the spec at start-up; off: every request "
        "takes connexion's full stack (same answers, slower; for comparison and diagnosis).",
    ),
]


def serve_options(command: F) -> F:
    for add in reversed(SERVE_OPTIONS):
        command = add(command)
    return command


@click.group(context_settings={"max_content_width": 120})
@click.version_option(package_name="sonarly-mock-kit", prog_name="sonarly-mock")
def main() -> None:
    """Sonarly mock server: a stateful, contract-driven mock of the queue-response endpoint."""


@main.command()
@serve_options
def serve(**options: Any) -> None:
    """Run the mock with the demo data (or --data) on http://HOST:PORT.

    \b
    Limits (per connection; each is an option below):
      request line + headers   --max-header-bytes (bytes), within --header-timeout (seconds)
      idle between requests    --keep-alive (seconds)
      pauses inside a body     --body-timeout (seconds); bodies are at most 1 MiB
      sessions                 --max-sessions at once, dropped after --session-idle (seconds)

    On an address other than loopback (0.0.0.0, ::, a LAN address) the mock refuses to start without
    --control-token, because the control API would hand every API key, reset and clock to anyone who
    reaches it; --allow-open-control starts it anyway.
    """
    config = build_config(options)
    host, port, workers = options["host"], options["port"], options["workers"]
    check_exposure(host, port, config)
    if config.control_token is None and is_loopback(host):
        config = replace(config, control_hosts=(*LOOPBACK_HOSTS, *options["control_hosts"]))
    if config.state is not None:
        try:
            check_state(config.state, timeout=config.db_timeout_seconds)
        except StateFileError as exc:
            raise StartupError(str(exc)) from None
    config.to_environment()
    configure_logging(config.log_level, config.log_format)
    click.echo(banner(host, port, workers, config), err=True)
    uvicorn.run(
        "mock_server.http.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        http=EnvelopeHttpToolsProtocol,
        access_log=False,
    )


def build_config(options: dict[str, Any]) -> MockConfig:
    """The options as a `MockConfig`, after the checks that need more than one option or a file."""
    state: str | None = options["state"]
    data: Path | None = options["data"]
    try:
        RateLimit.parse(options["rate_limit"])
        load_fixtures(data)
    except (ValueError, InvalidFixtures) as exc:
        raise click.UsageError(str(getattr(exc, "details", None) or exc)) from exc
    if options["workers"] > 1 and state is None:
        raise click.UsageError("--workers N needs --state (a FILE or a PostgreSQL URL) to share")
    return MockConfig(
        state=state or None,
        data=str(data) if data else None,
        rate_limit=options["rate_limit"],
        cors_origins=options["cors_origins"] or DEFAULTS.cors_origins,
        control_token=options["control_token"] or None,
        sent_retention_seconds=options["sent_retention"],
        flask_handlers=options["flask_handlers"],
        fast_path=options["fast_path"],
        max_sessions=options["max_sessions"],
        session_idle_seconds=options["session_idle"],
        control_cors_origins=options["control_cors_origins"],
        allow_open_control=options["allow_open_control"],
        log_level=options["log_level"].lower(),
        log_format=options["log_format"].lower(),
        max_header_bytes=options["max_header_bytes"],
        header_timeout_seconds=options["header_timeout"],
        keep_alive_seconds=options["keep_alive"],
        body_timeout_seconds=options["body_timeout"],
        db_pool_size=options["db_pool_size"],
        db_timeout_seconds=options["db_timeout"],
    )


def check_exposure(host: str, port: int, config: MockConfig) -> None:
    """Refuse to put an open control API on the network; with --allow-open-control, say what is open."""
    if config.control_token or is_loopback(host):
        return
    exposed = (
        f"the control API at {url(host, port)}/__mock/ would let anyone who can reach this machine on port {port} "
        "read the fixtures with every API key value, reset sessions and move the clock"
    )
    if not config.allow_open_control:
        raise StartupError(
            f"refusing to serve on {host} without --control-token: {exposed}; "
            "pass --control-token TOKEN (or SONARLY_MOCK_CONTROL_TOKEN), or --allow-open-control to expose it"
        )
    click.echo(
        f"Warning: --allow-open-control: {exposed.replace('would let', 'lets')} (--control-token TOKEN prevents it).",
        err=True,
    )


def is_loopback(host: str) -> bool:
    """Whether every address `host` stands for is loopback (127.0.0.0/8, ::1, `localhost`)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses)


def shown_state(state: str | None) -> str:
    """The state's location for the banner: never the database password."""
    if state is None:
        return "in memory"
    return f"PostgreSQL {redacted(state)}" if is_postgres_url(state) else state


def url(host: str, port: int | str) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def banner(host: str, port: int, workers: int, config: MockConfig) -> str:
    """What the mock serves and under which limits; never a key or the control token."""
    base = url(host, port)
    control = "token required" if config.control_token else "open"
    return (
        f"Sonarly mock: API {base}/v1/accounts/{{accountGroupId}}/messages/responses | docs {base}/ui/ | "
        f"dashboard {base}/__mock/ | control API {base}/__mock/ ({control}; docs {base}/__mock/ui/) | "
        f"state {shown_state(config.state)} | "
        f"data {config.data or 'built-in demo'} | workers {workers}\n"
        f"Limits: headers {config.max_header_bytes} bytes within {config.header_timeout_seconds:g} s | "
        f"keep-alive {config.keep_alive_seconds:g} s | body pauses {config.body_timeout_seconds:g} s | "
        f"sessions {config.max_sessions} (idle {config.session_idle_seconds:g} s) | "
        f"log {config.log_level} {config.log_format}"
    )


@main.command()
@click.option("--format", "output", type=click.Choice(["toml", "json"]), default="toml", show_default=True)
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Fixture file.")
@click.option("--base-url", default="http://127.0.0.1:8080", show_default=True)
def fixtures(output: str, data: Path | None, base_url: str) -> None:
    """Print the fixtures as a conformance-kit config (`sonarly-conformance run --config FILE`)."""
    try:
        loaded = load_fixtures(data)
    except InvalidFixtures as exc:
        raise click.UsageError(exc.details or str(exc)) from exc
    values = {"base_url": base_url, **loaded.conformance}
    config = {key: values[key] for key in CONFORMANCE_KEYS if key in values}
    if output == "json":
        click.echo(json.dumps(config, indent=2))
    else:
        click.echo("\n".join(f"{key} = {json.dumps(value)}" for key, value in config.items()))


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
