"""Which methods each documented path accepts, read from both OpenAPI documents, for `Allow` on a 405.

Starlette's router reports only the methods of the first route that matched the path, so a path with
GET and PUT would answer `Allow: GET`; the documents know the whole set.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

from openapi import CONTRACT_SPEC, CONTROL_SPEC

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
API_PREFIX = "/v1/"
CONTROL_BASE_PATH = "/__mock"
CONTROL_PREFIX = CONTROL_BASE_PATH + "/"
CONTROL_DOCS = (CONTROL_BASE_PATH + "/ui", CONTROL_BASE_PATH + "/openapi.json")
DASHBOARD_HOME = CONTROL_PREFIX
DASHBOARD_ASSETS = CONTROL_BASE_PATH + "/dashboard/"
DOCUMENTS = ((CONTRACT_SPEC, ""), (CONTROL_SPEC, CONTROL_BASE_PATH))


def is_public_page(path: str) -> bool:
    """The control API's docs and the dashboard's files: pages without data, served without the control token
    (the calls they make for data need it)."""
    return path == DASHBOARD_HOME or path.startswith((*CONTROL_DOCS, DASHBOARD_ASSETS))


@cache
def _templates(documents: tuple[tuple[Path, str], ...]) -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    routes = []
    for path, base in documents:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for template, item in spec["paths"].items():
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(base + template))
            methods = tuple(sorted(m.upper() for m in item if m in HTTP_METHODS))
            routes.append((re.compile(pattern + "/?"), methods))
    return tuple(routes)


def allowed_methods(path: str, documents: tuple[tuple[Path, str], ...] = DOCUMENTS) -> list[str]:
    """Every documented method for `path`, plus HEAD wherever GET is allowed (as Flask does)."""
    for pattern, methods in _templates(documents):
        if pattern.fullmatch(path):
            return sorted({*methods, *(("HEAD",) if "GET" in methods else ())})
    return []
