"""Keys and ids: API keys are looked up by digest, so no comparison ever runs on the key itself; ids name things.

Ids (messages, conversations, trace ids) are not secrets: nothing is authorised by knowing one. They come from
a Mersenne Twister of their own, seeded from the OS at import and again in every forked child, instead of
`secrets`: `os.urandom` is a system call per id, about 6% of an accepted request's CPU (bench/RESULTS.md).
Not the `random` module's shared generator: whoever seeds that one (Hypothesis does, in tests that run the mock
in-process) would make ids repeat. 96 random bits keep ids apart across a fleet's processes.
"""

from __future__ import annotations

import hashlib
import os
import random

_IDS = random.Random()  # seeded from os.urandom
os.register_at_fork(after_in_child=_IDS.seed)


def key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


def new_object_id() -> str:
    """24 lowercase hex characters, the shape of Sonarly's ids."""
    return f"{_IDS.getrandbits(96):024x}"
