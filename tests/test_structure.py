"""The layout's promises, checked: import directions and explicit public names."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    p for package in ("gateway", "resolvers", "sandbox") for p in (ROOT / package).rglob("*.py")
)


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_domain_knows_no_transport_and_no_graphql() -> None:
    for path in (ROOT / "gateway" / "domain").rglob("*.py"):
        for name in imports(path):
            assert not name.startswith(("httpx", "strawberry", "starlette", "graphql")), (
                path,
                name,
            )


def test_only_the_app_and_the_cli_know_the_graphql_layer() -> None:
    allowed = {"gateway/app.py", "gateway/cli.py"}
    for path in (ROOT / "gateway").rglob("*.py"):
        relative = str(path.relative_to(ROOT))
        if relative in allowed:
            continue
        assert not any(n.startswith("resolvers") for n in imports(path)), relative


def test_providers_do_not_reach_up_into_the_request_layers() -> None:
    upward = ("gateway.graphql_http", "gateway.context", "gateway.loaders", "gateway.federation")
    for path in (ROOT / "gateway" / "providers").rglob("*.py"):
        assert not any(n.startswith(upward) for n in imports(path)), path


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_public_names_are_declared_and_exist(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declared = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", None) == "__all__" for t in node.targets)
    ]
    public = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and not node.name.startswith("_")
    ]
    if not declared:
        # Packages' __init__ files and entry points may have nothing to export.
        assert not public or path.name in ("__main__.py",), (
            f"{path} defines {public} without __all__"
        )
        return
    module = importlib.import_module(module_name(path))
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name(path)}.__all__ names {name}, which is missing"
