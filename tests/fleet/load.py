"""Unique-key load over the fleet, with the retries a client behind a load balancer would make.

Each key is sent until a replica answers it: a connection error (a killed replica) moves the key to the
next replica, a 503 `SERVICE_UNAVAILABLE` with `Retry-After` (the database is down) or a 409
`IDEMPOTENCY_KEY_IN_USE` waits a little and tries again with the same key and body. Anything else is
recorded as unexpected: the tests then show what came back instead of a guarantee.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx
from reliability.helpers import dm_body

from .helpers import TIMEOUT, Acked, Body, describe, post_response

THREADS = 6
KEY_DEADLINE = 45.0  # seconds a key is retried before the load gives it up as unanswered
RETRY_PAUSE = 0.1


@dataclass
class Load:
    """What the clients saw; `targets` are the replicas the load balancer still sends to."""

    session: str
    targets: list[str]
    acked: Acked = field(default_factory=dict)
    sent: dict[str, Body] = field(default_factory=dict)
    unanswered: list[str] = field(default_factory=list)
    unavailable: int = 0
    in_use: int = 0
    transport_errors: int = 0
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    progress: threading.Condition = field(default_factory=threading.Condition)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(THREADS)]
        for thread in self.threads:
            thread.start()
        return self

    def drain(self, url: str) -> None:
        """The load balancer stops sending to this replica."""
        with self.lock:
            self.targets.remove(url)

    def wait_acked(self, count: int, timeout: float = 30.0) -> None:
        with self.progress:
            reached = self.progress.wait_for(lambda: len(self.acked) >= count or self.failed(), timeout)
        assert reached and not self.failed(), f"{len(self.acked)} of {count} 202s within {timeout}s: {self.summary()}"

    def failed(self) -> bool:
        return bool(self.unexpected or self.unanswered)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=KEY_DEADLINE + TIMEOUT)
        assert not any(thread.is_alive() for thread in self.threads), "a load thread hung"

    def summary(self) -> str:
        return (
            f"{len(self.acked)} acknowledged, {self.unavailable} 503s, {self.in_use} 409 IDEMPOTENCY_KEY_IN_USE, "
            f"{self.transport_errors} connection errors, unanswered {self.unanswered[:5]}, "
            f"unexpected {self.unexpected[:5]}"
        )

    def _run(self, thread: int) -> None:
        with httpx.Client(timeout=TIMEOUT) as client:
            index = 0
            while not self.stop.is_set():
                key = f"{self.session}-t{thread}-{index}"
                body = dm_body(f"Fleet message {key}")
                with self.lock:
                    self.sent[key] = body
                self._deliver(client, key, body, thread + index)
                index += 1

    def _deliver(self, client: httpx.Client, key: str, body: Body, turn: int) -> None:
        deadline = time.monotonic() + KEY_DEADLINE
        while time.monotonic() < deadline:
            with self.lock:
                url = self.targets[turn % len(self.targets)]
            turn += 1
            try:
                response = post_response(client, url, self.session, key, body)
            except httpx.TransportError:
                with self.lock:
                    self.transport_errors += 1
                continue
            if response.status_code == 202:
                with self.lock:
                    self.acked[key] = (body, response.json()["data"])
                with self.progress:
                    self.progress.notify_all()
                return
            if not self._retryable(response, url):
                return
            time.sleep(RETRY_PAUSE)
        with self.lock:
            self.unanswered.append(key)
        with self.progress:
            self.progress.notify_all()

    def _retryable(self, response: httpx.Response, url: str) -> bool:
        """Count a documented transient answer and return True; record anything else and return False."""
        code = _error_code(response)
        with self.lock:
            if response.status_code == 503 and code == "SERVICE_UNAVAILABLE" and response.headers.get("retry-after"):
                self.unavailable += 1
                return True
            if response.status_code == 409 and code == "IDEMPOTENCY_KEY_IN_USE":
                self.in_use += 1
                return True
            self.unexpected.append(f"via {url}: {describe(response)}")
        with self.progress:
            self.progress.notify_all()
        return False


def _error_code(response: httpx.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
