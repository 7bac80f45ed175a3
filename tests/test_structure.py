"""The layout's promises, checked: import directions and explicit public names."""

from __future__ import annotations

import ast
import importlib
import re
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
                assert name == "gateway.settings.model", (path, name)
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


# Each layer and what it must not import: the arrows of docs/architecture.md point one way,
# resolvers → loaders / federation → providers / cache → domain.
_EDGE = ("gateway.http", "gateway.app", "gateway.cli", "resolvers")
_REQUEST = ("gateway.context", "gateway.loaders", "gateway.federation", "gateway.tenants")
FORBIDDEN = {
    "gateway/loaders": _EDGE,
    "gateway/federation.py": _EDGE,
    "gateway/backward.py": _EDGE,
    "gateway/totals.py": _EDGE,
    "gateway/providers": (*_EDGE, *_REQUEST),
    "gateway/webhooks": (*_EDGE, *_REQUEST, "gateway.providers"),
    "gateway/resilience": (*_EDGE, *_REQUEST, "gateway.providers", "gateway.cache"),
    "gateway/cache": (*_EDGE, *_REQUEST, "gateway.providers", "gateway.webhooks"),
}


def _names(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_down_the_layers(layer: str) -> None:
    target = ROOT / layer
    paths = [target] if target.is_file() else sorted(target.rglob("*.py"))
    assert paths
    for path in paths:
        upward = [n for n in imports(path) if _names(n, FORBIDDEN[layer])]
        assert not upward, (path.relative_to(ROOT).as_posix(), upward)


def test_the_domain_imports_only_the_domain() -> None:
    for path in (ROOT / "gateway" / "domain").rglob("*.py"):
        for name in imports(path):
            if name.split(".")[0] in ("gateway", "resolvers"):
                assert name.startswith("gateway.domain"), (path, name)


PROVIDER_FOLDERS = sorted(
    p.name for p in (ROOT / "gateway" / "providers").iterdir() if (p / "connector.py").exists()
)


def test_each_provider_folder_has_a_connector_and_imports_no_other_provider() -> None:
    assert PROVIDER_FOLDERS == ["codat", "lago", "layer"]
    for provider in PROVIDER_FOLDERS:
        others = tuple(f"gateway.providers.{p}" for p in PROVIDER_FOLDERS if p != provider)
        for path in (ROOT / "gateway" / "providers" / provider).rglob("*.py"):
            crossing = [n for n in imports(path) if _names(n, others)]
            assert not crossing, (path.relative_to(ROOT).as_posix(), crossing)


# Arguments that are text for people: GraphQL descriptions, command-line help.
PROSE_ARGUMENTS = ("description", "deprecation_reason", "help")
_PROVIDER_WORD = re.compile(r"(?<![a-z])(layer|codat|lago)(?![a-z])")


def provider_words(path: Path) -> set[str]:
    """Provider names in a module's code: identifiers, imports and string constants, but not
    docstrings, comments, GraphQL descriptions or help texts (prose about them is fine)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prose: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            prose.add(id(body[0].value))
        if isinstance(node, ast.keyword) and node.arg in PROSE_ARGUMENTS:
            prose.update(id(sub) for sub in ast.walk(node.value))
    words: set[str] = set()
    for node in ast.walk(tree):
        text = ""
        if isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute | ast.FunctionDef | ast.ClassDef):
            text = getattr(node, "attr", None) or getattr(node, "name", "")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            text = " ".join([getattr(node, "module", None) or "", *(a.name for a in node.names)])
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
        ):
            text = node.value
        lowered = text.lower().replace("_", " ").replace(".", " ")
        words.update(m.group(1) for m in _PROVIDER_WORD.finditer(lowered))
    return words


def test_few_modules_outside_a_providers_own_folder_name_it() -> None:
    # Its folder, its GraphQL type module and its simulator aside, a provider is named only by
    # the registry, the list of GraphQL types beside it and the playground's example document.
    own = re.compile(
        r"gateway/providers/(layer|codat|lago)/|resolvers/types/(layer|codat|lago)\.py"
    )
    naming = sorted(
        relative
        for path in MODULES
        if not own.match(relative := path.relative_to(ROOT).as_posix())
        and not relative.startswith("sandbox/")
        and provider_words(path)
    )
    assert naming == [
        "gateway/http/playground.py",
        "gateway/providers/registry.py",
        "resolvers/schema.py",
    ]


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
