"""`sonarly-mock`: serve the mock, or print its demo fixtures for the conformance kit."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click
import uvicorn

from mock_server.config import MockConfig
from mock_server.domain.errors import InvalidFixtures
from mock_server.domain.fixtures import load_fixtures
from mock_server.domain.ratelimit import RateLimit
from mock_server.http.protocol import EnvelopeHttpToolsProtocol

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


@click.group()
@click.version_option(package_name="sonarly-mock-kit", prog_name="sonarly-mock")
def main() -> None:
    """Sonarly mock server: a stateful, contract-driven mock of the queue-response endpoint."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), help="SQLite file kept across restarts.")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Fixture file.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--cors-origin", "cors_origins", multiple=True, help="Allowed browser origin (repeat); any by default.")
@click.option("--rate-limit", default="100/s", show_default=True, help="Per API key: N/s, N/m or off.")
@click.option("--control-token", envvar="SONARLY_MOCK_CONTROL_TOKEN", help="Require this bearer on /__mock/.")
@click.option(
    "--sent-retention",
    default=7 * 24 * 3600,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds of mock time a sent message stays listed before it is purged.",
)
@click.option(
    "--flask-handlers",
    is_flag=True,
    help="Serve the API operation through Flask (WSGI) instead of the ASGI endpoint; slower, for comparison.",
)
def serve(
    host: str,
    port: int,
    state: Path | None,
    data: Path | None,
    workers: int,
    cors_origins: tuple[str, ...],
    rate_limit: str,
    control_token: str | None,
    sent_retention: float,
    flask_handlers: bool,
) -> None:
    """Run the mock with the demo data (or --data) on http://HOST:PORT."""
    try:
        RateLimit.parse(rate_limit)
        load_fixtures(data)
    except (ValueError, InvalidFixtures) as exc:
        raise click.UsageError(str(getattr(exc, "details", None) or exc)) from exc
    if workers > 1 and state is None:
        raise click.UsageError("--workers N needs --state FILE, so that the workers share one database")
    config = MockConfig(
        state=str(state) if state else None,
        data=str(data) if data else None,
        rate_limit=rate_limit,
        cors_origins=cors_origins or ("*",),
        control_token=control_token,
        sent_retention_seconds=sent_retention,
        flask_handlers=flask_handlers,
    )
    config.to_environment()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("connexion").setLevel(logging.WARNING)
    base = f"http://{host}:{port}"
    click.echo(
        f"Sonarly mock: API {base}/v1/accounts/{{accountGroupId}}/messages/responses | docs {base}/ui/ | "
        f"control API {base}/__mock/ (docs {base}/__mock/ui/) | state {state or 'in memory'} | "
        f"data {data or 'built-in demo'} | workers {workers}",
        err=True,
    )
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
