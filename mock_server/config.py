"""How one mock process is configured; passed to workers through the environment as JSON."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

ENVIRONMENT_VARIABLE = "SONARLY_MOCK_CONFIG"
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class MockConfig:
    state: str | None = None
    data: str | None = None
    rate_limit: str = "100/s"
    cors_origins: tuple[str, ...] = ("*",)
    control_token: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    sent_retention_seconds: float = 7 * 24 * 3600
    flask_handlers: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def to_environment(self) -> None:
        os.environ[ENVIRONMENT_VARIABLE] = json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> MockConfig:
        raw = json.loads(os.environ.get(ENVIRONMENT_VARIABLE, "{}"))
        if "cors_origins" in raw:
            raw["cors_origins"] = tuple(raw["cors_origins"])
        return cls(**raw)
