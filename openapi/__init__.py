"""The hand-written OpenAPI documents, shipped inside the package so installed tools find them."""

from pathlib import Path
from typing import Any

SPEC_DIR = Path(__file__).parent
CONTRACT_SPEC = SPEC_DIR / "sonarly.yaml"
CONTROL_SPEC = SPEC_DIR / "mock-control.yaml"


def follow_ref(document: dict[str, Any], node: Any) -> Any:
    """`node`, or what its local `$ref` (chain) points to; the one home of JSON-pointer lookup for every reader
    of the documents (the mock's examples, the kit's rules, the tests)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node
