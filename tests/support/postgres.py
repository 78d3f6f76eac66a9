"""A throwaway PostgreSQL cluster for the tests that need a real database, registered from tests/conftest.py.

Why the tests start their own cluster instead of expecting one: a developer runs `pytest` and CI runs
`.ci/run` with nothing else set up, and the fleet tests stop and start the database under load, which no
shared server would allow. The cluster lives in a temporary directory, listens on 127.0.0.1 only (trust
authentication is then harmless) and is removed at the end of the session.

When PostgreSQL is missing, a test that asks for `postgres_cluster` is skipped with the reason, except in CI
(environment variable `CI` set): there a missing database is a broken pipeline, so the test fails instead.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support.mock_process import free_port
from support.services import skip_or_fail

SERVER_USER = "postgres"  # initdb and postgres refuse to run as root
START_TIMEOUT = 60  # seconds; pg_ctl -t
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",  # TCP only: no socket file left in a shared directory
    # 3 replicas x a pool of 10, plus the engine tests' own stores and clients: far below 200.
    "max_connections": "200",
    # A throwaway cluster never survives a host crash, so flushing to disk buys nothing and slows every
    # commit. Commits still reach the OS before they are acknowledged (synchronous_commit stays on), so a
    # database stopped with `-m immediate` or `-m fast` keeps every committed transaction: the fleet tests'
    # "no lost 202" still means something.
    "fsync": "off",
    "full_page_writes": "off",
}


def find_bindir() -> Path | None:
    """The PostgreSQL binaries: `pg_config --bindir` if it has initdb, else the newest Debian install."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").is_file():
            return Path(out)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major_version, reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _major_version(initdb_path: str) -> int:
    version = Path(initdb_path).parts[-3]
    return int(version) if version.isdigit() else 0


def _missing_reason() -> str | None:
    """Why no cluster can be started here, or None when it can."""
    if find_bindir() is None:
        return "PostgreSQL is not installed (no initdb via pg_config or /usr/lib/postgresql/*/bin)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no `{SERVER_USER}` user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root without `runuser` to run PostgreSQL as an unprivileged user"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    return None


FAKETIME_HINT = (
    "libfaketime breaks Python's timed waits, which psycopg's pool needs (with the monotonic clock faked a lock "
    "or condition timeout never fires; without, time.sleep fails with EINVAL); these tests' bodies also run on "
    "SQLite, which is what a faketime run checks for independence from the hour"
)


def under_faketime() -> bool:
    """Under `faketime` no connection pool can work (see FAKETIME_HINT); a machine whose clock really reads
    another hour has no such trouble."""
    return "faketime" in os.environ.get("LD_PRELOAD", "")


def require_postgres() -> None:
    """Skip (locally) or fail (in CI) the calling test when PostgreSQL cannot be started."""
    if under_faketime():
        pytest.skip(FAKETIME_HINT)
    skip_or_fail("PostgreSQL", _missing_reason())


def server_environment() -> dict[str, str]:
    """The environment without a preloaded faketime: the suite is checked with the machine clock moved by
    `faketime`, which would also move the database server's clock and stop its timers (statement_timeout
    never fires), a fault of the tool, not of a machine whose clock reads another hour."""
    hidden = ("LD_PRELOAD", "FAKETIME", "FAKETIME_FORCE_MONOTONIC_FIX", "DONT_FAKE_MONOTONIC")
    return {name: value for name, value in os.environ.items() if name not in hidden}


class PostgresCluster:
    """One cluster in `root`: `url` is the superuser's database, `new_database()` gives a fresh one."""

    def __init__(self, bindir: Path, root: Path, port: int) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.logfile = root / "server.log"
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        self.as_user = SERVER_USER if os.geteuid() == 0 else None

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        # Output to a file, not a pipe: `pg_ctl start` leaves the server holding its stdout and stderr, and
        # reading a pipe to its end would then wait for the server to exit.
        with tempfile.TemporaryFile() as output:
            result = subprocess.run(
                command, stdin=subprocess.DEVNULL, stdout=output, stderr=output, env=server_environment(), check=False
            )
            if result.returncode != 0:
                output.seek(0)
                said = output.read().decode(errors="replace")
                raise RuntimeError(f"{tool} {' '.join(args)} failed ({result.returncode}): {said}{self.log()}")

    def log(self) -> str:
        """The server log's tail, for failure messages."""
        try:
            return "\nserver log:\n" + self.logfile.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def init(self) -> PostgresCluster:
        if self.as_user:
            account = pwd.getpwnam(self.as_user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        # --no-sync: see SERVER_SETTINGS on fsync; a throwaway cluster need not survive a host crash.
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self

    def _server_options(self) -> str:
        settings = " ".join(f"-c {name}='{value}'" for name, value in SERVER_SETTINGS.items())
        return f"-p {self.port} {settings}"

    def start(self) -> None:
        """Start the server; returns once it accepts connections."""
        self._run(
            "pg_ctl", "start", "-w", "-t", str(START_TIMEOUT), "-D", str(self.data), "-l", str(self.logfile),
            "-o", self._server_options(),
        )  # fmt: skip
        self._wait_for_connections()

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: roll back open transactions and shut down cleanly; `immediate`: crash)."""
        self._run("pg_ctl", "stop", "-w", "-t", str(START_TIMEOUT), "-D", str(self.data), "-m", mode)

    def restart(self) -> None:
        """`pg_ctl restart -m fast`; returns once the server accepts connections again."""
        self._run("pg_ctl", "restart", "-w", "-t", str(START_TIMEOUT), "-D", str(self.data), "-m", "fast")
        self._wait_for_connections()

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def _wait_for_connections(self, timeout: float = START_TIMEOUT) -> None:
        """pg_ctl -w waits for the postmaster; this also waits until a client gets a session."""
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PostgreSQL on port {self.port} does not accept connections{self.log()}"
                    ) from None
                time.sleep(0.05)

    def new_database(self) -> str:
        """CREATE DATABASE with a unique name; returns its URL. Each test gets state nobody else touches."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        """Crash-stop the server (nothing in it is worth a clean shutdown) and delete its directory."""
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_cluster() -> Iterator[PostgresCluster]:
    """A running cluster of its own, deleted on exit; skips (locally) or fails (in CI) without PostgreSQL."""
    require_postgres()
    bindir = find_bindir()
    assert bindir is not None
    # Not tmp_path_factory: its base directory is private to the current user, and the server may run as
    # `postgres`. mkdtemp gives a 0700 directory that init() hands over to that user.
    cluster = PostgresCluster(bindir, Path(tempfile.mkdtemp(prefix="sonarly-pg-")), free_port())
    try:
        cluster.init().start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """The suite's cluster, started on first use. A test that stops or restarts a database takes a
    `throwaway_cluster()` of its own instead, so the suite's other servers never see it go away."""
    with throwaway_cluster() as cluster:
        yield cluster
