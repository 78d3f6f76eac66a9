"""How much work each profile does; the numbers bound the requests a run sends to a staging server."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    """Generation budget of one run."""

    name: str
    positive_examples: int
    negative_examples: int
    concurrent_duplicates: int
    stateful_examples: int
    stateful_steps: int


PROFILES = {
    "quick": Profile("quick", 10, 10, 8, 0, 0),
    "default": Profile("default", 30, 30, 8, 0, 0),
    "thorough": Profile("thorough", 300, 300, 16, 40, 12),
}


def select(name: str, max_examples: int | None) -> Profile:
    """The named profile, with --max-examples overriding both contract-phase budgets."""
    profile = PROFILES[name]
    if max_examples is None:
        return profile
    return replace(profile, positive_examples=max_examples, negative_examples=max_examples)
