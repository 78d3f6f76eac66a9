"""What a user of `pip install sonarly-mock-kit` relies on: declared dependencies, a public API, type hints.

Why these are tests: an undeclared import works on the developer's machine (the test extra or a transitive
dependency brings it) and breaks a plain `pip install .`; a public name that moves breaks every embedding.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import conformance
import mock_server

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mock_server", "conformance", "openapi")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m not in PACKAGES}


def test_every_module_the_packages_import_is_a_declared_dependency() -> None:
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    owners = packages_distributions()
    missing = {
        module: owners.get(module, ["?"])
        for module in _imported_top_level_modules()
        if not {d.lower().replace("_", "-") for d in owners.get(module, [])} & declared
    }
    assert not missing, f"imported but not declared in [project].dependencies: {missing}"


def test_test_only_tools_stay_out_of_the_runtime_dependencies() -> None:
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    test = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    assert "openapi-core" in test
    assert not runtime & {"openapi-core", "pytest", "ruff", "mypy"}


def test_runtime_dependencies_are_ranges_and_ci_installs_the_locked_versions() -> None:
    pinned = [r for r in PYPROJECT["project"]["dependencies"] if "==" in r]
    assert not pinned, f"a library should accept a range, not one version: {pinned}"
    locked = {_name(line) for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    assert {_name(r) for r in PYPROJECT["project"]["dependencies"]} <= locked
    assert "-c constraints.txt" in (ROOT / ".ci" / "run").read_text()


def test_the_public_api_is_explicit_and_importable() -> None:
    assert sorted(mock_server.__all__) == ["MockConfig", "create_app"]
    assert callable(mock_server.create_app) and mock_server.MockConfig().max_sessions > 0
    assert {"run", "Settings", "RunReport", "KitError"} <= set(conformance.__all__)
    for name in conformance.__all__:
        assert getattr(conformance, name) is not None


def test_packages_ship_a_py_typed_marker_and_the_sdist_leaves_caches_out() -> None:
    for package in ("mock_server", "conformance"):
        assert (ROOT / package / "py.typed").is_file()
    assert set(PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]) == set(PACKAGES)
    assert ".hypothesis" in PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["exclude"]
    assert ".hypothesis/" in (ROOT / ".gitignore").read_text().splitlines()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
