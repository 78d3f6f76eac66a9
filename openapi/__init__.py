"""The hand-written OpenAPI documents, shipped inside the package so installed tools find them."""

from pathlib import Path

SPEC_DIR = Path(__file__).parent
CONTRACT_SPEC = SPEC_DIR / "sonarly.yaml"
CONTROL_SPEC = SPEC_DIR / "mock-control.yaml"
