"""Scenario phase: one named, deterministic check per rule of the behavioural contract."""

from conformance.scenarios import auth, data, idempotency, methods, state, validation
from conformance.scenarios.base import REGISTRY, Scenario, ScenarioContext

__all__ = [
    "REGISTRY",
    "Scenario",
    "ScenarioContext",
    "auth",
    "data",
    "idempotency",
    "methods",
    "state",
    "validation",
]
