"""Reads the rules the kit checks out of the loaded contract, so a limit is typed once: in the spec.

Everything here works on the raw OpenAPI document behind the Schemathesis operation, with local `$ref`s
resolved, so changing `maxLength` (or an enum, a pattern, a required member, a documented method) in
`openapi/sonarly.yaml` changes what the kit probes with no other edit.
"""

from __future__ import annotations

from typing import Any

from schemathesis import APIOperation

JSON_MEDIA_TYPE = "application/json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def resolve(document: dict[str, Any], node: Any) -> Any:
    """`node` with every local `$ref` replaced by its target (the contract has no recursive schemas)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = document
            for part in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return resolve(document, target)
        return {key: resolve(document, value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(document, item) for item in node]
    return node


def _document(operation: APIOperation) -> dict[str, Any]:
    return operation.schema.raw_schema  # type: ignore[no-any-return]


def path_item(operation: APIOperation) -> dict[str, Any]:
    """The operation's path item, resolved."""
    document = _document(operation)
    return resolve(document, document["paths"][operation.path])  # type: ignore[no-any-return]


def operation_definition(operation: APIOperation) -> dict[str, Any]:
    """The operation object (parameters, requestBody, responses), resolved."""
    return path_item(operation)[operation.method.lower()]  # type: ignore[no-any-return]


def request_schema(operation: APIOperation, media_type: str = JSON_MEDIA_TYPE) -> dict[str, Any]:
    """The resolved JSON schema of the request body for `media_type`."""
    content = operation_definition(operation)["requestBody"]["content"]
    return content[media_type]["schema"]  # type: ignore[no-any-return]


def request_media_types(operation: APIOperation) -> tuple[str, ...]:
    """The media types the contract accepts for the request body."""
    return tuple(operation_definition(operation)["requestBody"]["content"])


def header_schema(operation: APIOperation, name: str) -> dict[str, Any] | None:
    """The resolved schema of a request header parameter (path-level parameters included), or None."""
    item = path_item(operation)
    parameters = [*item.get("parameters", []), *operation_definition(operation).get("parameters", [])]
    for parameter in parameters:
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == name.lower():
            return parameter.get("schema")  # type: ignore[no-any-return]
    return None


def documented_methods(operation: APIOperation) -> tuple[str, ...]:
    """Upper-case HTTP methods the contract documents on the operation's path."""
    return tuple(method.upper() for method in path_item(operation) if method in HTTP_METHODS)


def documented_statuses(operation: APIOperation) -> tuple[str, ...]:
    """The response status codes the operation documents, as written in the spec."""
    return tuple(str(status) for status in operation_definition(operation)["responses"])


def body_members(operation: APIOperation) -> tuple[str, ...]:
    """The members the request body may have, in the spec's order."""
    return tuple(request_schema(operation).get("properties", {}))
