"""Ids come from a generator of the mock's own: fast, and never repeated by whoever seeds `random`."""

from __future__ import annotations

import os
import random
import re

from mock_server.domain.tokens import new_object_id
from mock_server.http.envelope import new_trace_id


def test_ids_have_sonarlys_shape_and_do_not_repeat() -> None:
    ids = [new_object_id() for _ in range(20_000)] + [new_trace_id() for _ in range(20_000)]
    assert all(re.fullmatch(r"[0-9a-f]{24}", value) for value in ids)
    assert len(set(ids)) == len(ids)


def test_seeding_the_random_module_does_not_repeat_ids() -> None:
    """Hypothesis seeds `random` for every example of a test that runs the mock in-process: message ids must
    not repeat then (they did once: a UNIQUE constraint failed and the kit saw a 500)."""
    random.seed(4242)
    first = new_object_id()
    random.seed(4242)
    assert new_object_id() != first


def test_a_forked_child_draws_other_ids_than_its_parent() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.write(write, " ".join(new_object_id() for _ in range(100)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split())
    parent = {new_object_id() for _ in range(100)}
    assert len(child) == 100 and not child & parent
