"""A throwaway PostgreSQL cluster for the bench: initdb into a temp directory, pg_ctl on a free loopback port.

Why a private cluster rather than whatever PostgreSQL the machine runs: the bench must start from nothing,
leave nothing behind, and know where every process is (to pin it to a core and count its CPU time). initdb
refuses to run as root, so as root the cluster belongs to the `postgres` user (`runuser`). It listens on
127.0.0.1 only, with trust authentication, and is stopped (`pg_ctl stop -m fast`) and deleted on exit,
exception or SIGTERM. With `--postgres-url` the scripts use that server instead and start nothing.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import harness
import psycopg

PG_BIN = Path(os.environ.get("SONARLY_BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
OWNER = "postgres"


def _as_owner(argv: Sequence[str]) -> list[str]:
    """initdb and pg_ctl refuse root: run them as `postgres` when we are root, as ourselves otherwise."""
    return ["runuser", "-u", OWNER, "--", *argv] if os.geteuid() == 0 else list(argv)


@dataclass
class Cluster:
    """A PostgreSQL server the bench talks to: its admin URL and, when the bench started it, its postmaster."""

    admin_url: str
    directory: Path | None = None
    postmaster: int | None = None

    def url(self, database: str) -> str:
        """The admin URL with another database name (what `--state` gets)."""
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + database))

    def create_database(self, name: str) -> str:
        """A fresh, empty database (dropped first if a previous run left one); returns its URL."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def cpu_seconds(self) -> float:
        """CPU time of the postmaster and every backend (0 for a server the bench did not start)."""
        return harness.cpu_seconds(self.postmaster) if self.postmaster else 0.0

    def pin(self, cores: str) -> None:
        """Move the postmaster and its backends to `cores`; backends forked later inherit it."""
        if self.postmaster:
            wanted = {int(core) for core in cores.split(",")}
            for pid in harness._tree(self.postmaster):
                try:
                    os.sched_setaffinity(pid, wanted)
                except OSError:
                    pass  # a backend that just exited

    def version(self) -> str:
        with psycopg.connect(self.admin_url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "unknown"

    def stop(self) -> None:
        """Stop the cluster the bench started and delete its directory (nothing for an external server)."""
        if self.directory is None:
            return
        data = self.directory / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_owner([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                           capture_output=True, check=False, timeout=60)  # fmt: skip
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory, self.postmaster = None, None


def external(url: str) -> Cluster:
    """A server given with --postgres-url: used as is, never started, stopped or pinned."""
    return Cluster(admin_url=url)


def start(cores: str | None = None, settings: Mapping[str, str] | None = None) -> Cluster:
    """initdb + pg_ctl start on a free port, pinned to `cores` (taskset) if given; stopped at exit."""
    if not (PG_BIN / "initdb").exists():
        raise SystemExit(f"no PostgreSQL binaries in {PG_BIN} (apt-get install -y postgresql-15, "
                         "or set SONARLY_BENCH_PG_BIN, or pass --postgres-url)")  # fmt: skip
    directory = Path(tempfile.mkdtemp(prefix="sonarly-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, OWNER, OWNER)
    cluster = Cluster(admin_url="", directory=directory)
    atexit.register(cluster.stop)
    data, port = directory / "data", harness.free_port()
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
    subprocess.run(_as_owner(initdb), capture_output=True, check=True, timeout=120)
    options = {"port": str(port), "listen_addresses": "127.0.0.1", "unix_socket_directories": str(directory),
               "max_connections": "200", **(settings or {})}  # fmt: skip
    server_options = " ".join(f"-c {key}={value}" for key, value in options.items())
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"), "-o", server_options]
    taskset = ["taskset", "-c", cores] if cores else []
    done = subprocess.run(_as_owner([*taskset, *pg_ctl, "-w", "start"]), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        log = (directory / "server.log").read_text(errors="replace") if (directory / "server.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {done.stdout}{done.stderr}\n{log}")
    cluster.postmaster = int((data / "postmaster.pid").read_text().split()[0])
    cluster.admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    return cluster


def open_cluster(postgres_url: str | None, cores: str | None, settings: Mapping[str, str] | None = None) -> Cluster:
    """The server the scripts measure: the one at --postgres-url, or a throwaway cluster of our own."""
    return external(postgres_url) if postgres_url else start(cores, settings)


def parse_settings(items: Sequence[str]) -> dict[str, str]:
    """`--pg-setting name=value` options (only for a cluster the bench starts)."""
    settings = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--pg-setting wants NAME=VALUE, got {item!r}")
        settings[name.strip()] = value.strip()
    return settings
