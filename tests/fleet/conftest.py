"""Three replicas of the mock on one database, started once for the fleet tests and healed between tests.

Why one fleet for every test: each replica takes a second or two to start, and the tests stay independent
anyway because each one works in a session (`X-Mock-Session`) of its own. A test that kills a replica or
stops the database leaves the fleet broken; `fleet` brings it back before the next test, as an operator would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from reliability.helpers import new_session

from support.mock_process import MockProcess
from support.postgres import PostgresCluster, throwaway_cluster

REPLICAS = 3


@dataclass
class Fleet:
    """The replicas, the cluster under them and the URL of their one database."""

    cluster: PostgresCluster
    database: str
    replicas: list[MockProcess]

    @property
    def urls(self) -> list[str]:
        return [replica.base_url for replica in self.replicas]

    def heal(self) -> None:
        """Start the database and every replica an earlier test stopped or killed."""
        if not self.cluster.running():
            self.cluster.start()
        for replica in self.replicas:
            if replica.process is None or replica.process.poll() is not None:
                replica.start()


@pytest.fixture(scope="package")
def fleet_replicas() -> Iterator[Fleet]:
    """A cluster of the fleet's own, not the suite's `postgres_cluster`: the restart test stops it, and the
    suite's other PostgreSQL-backed mocks must not see their database go away."""
    with throwaway_cluster() as cluster:
        database = cluster.new_database()
        replicas = [MockProcess("--state", database, "--rate-limit", "off") for _ in range(REPLICAS)]
        try:
            for replica in replicas:  # one by one: the first creates the schema, the others find it current
                replica.start()
            yield Fleet(cluster, database, replicas)
        finally:
            for replica in replicas:
                replica.stop()


@pytest.fixture
def fleet(fleet_replicas: Fleet) -> Fleet:
    fleet_replicas.heal()
    return fleet_replicas


@pytest.fixture
def session() -> str:
    """A session of the test's own: its keys, messages, clock and fixtures are nobody else's."""
    return new_session("fleet")
