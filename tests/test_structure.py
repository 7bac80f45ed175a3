"""The layout's promises, checked: import directions and explicit public names."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    p for package in ("gateway", "resolvers", "sandbox") for p in (ROOT / package).rglob("*.py")
)
GATEWAY_MODULES = sorted(
    p for package in ("gateway", "resolvers") for p in (ROOT / package).rglob("*.py")
)
# Calls that import a module named by a string.
DYNAMIC_IMPORTS = frozenset(
    {"__import__", "import_module", "find_spec", "find_module", "resolve_name", "run_module"}
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


def imported_by_name(path: Path) -> set[str]:
    """Modules `path` imports statically, plus those it names to an import function."""
    found = imports(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        first = node.args[0]
        if name in DYNAMIC_IMPORTS and isinstance(first, ast.Constant):
            found.add(str(first.value))
    return found


@pytest.mark.parametrize("path", GATEWAY_MODULES, ids=module_name)
def test_the_gateway_never_imports_the_sandbox(path: Path) -> None:
    """The sandbox is a package (and, under `serve`, a process) of its own: gateway/ and
    resolvers/ may run `python -m sandbox`, never import it, not even lazily or by name."""
    for name in imported_by_name(path):
        assert name.partition(".")[0] != "sandbox", (module_name(path), name)


def test_importing_all_of_the_gateway_loads_no_sandbox_module() -> None:
    names = [module_name(p) for p in GATEWAY_MODULES if p.name != "__main__.py"]
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'sandbox' or m.startswith('sandbox.')))\n"
    )
    result = subprocess.run(  # noqa: S603 - a fixed script
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    assert result.stdout.strip() == "[]"


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


def test_the_limits_are_rules_about_graphql_documents_only() -> None:
    # They read their settings and nothing else of the gateway (no context, loaders or
    # providers), and none of the schema's types or resolvers.
    for path in (ROOT / "resolvers" / "limits").rglob("*.py"):
        for name in imports(path):
            if name.split(".")[0] == "gateway":
                assert name == "gateway.settings", (path, name)
            if name.split(".")[0] == "resolvers":
                assert name.startswith("resolvers.limits"), (path, name)


def test_only_the_app_and_the_cli_know_the_http_layer() -> None:
    allowed = {"gateway/app.py", "gateway/cli.py"}
    for path in sorted((*MODULES, *(ROOT / "bench").rglob("*.py"))):
        relative = path.relative_to(ROOT).as_posix()
        if relative in allowed or relative.startswith("gateway/http/"):
            continue
        assert not any(
            n == "gateway.http" or n.startswith("gateway.http.") for n in imports(path)
        ), relative


def test_providers_do_not_reach_up_into_the_request_layers() -> None:
    upward = ("gateway.http", "gateway.context", "gateway.loaders", "gateway.federation")
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
