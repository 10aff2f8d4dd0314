"""The house rules, as tests: features depend one way, there are no import cycles, routers
never commit, and the carrier adapters know nothing of the service.

The layers run from the entry points at the top down to ``db``. A module may import modules
of its own top-level package and of any package *below* its own; never one above it, nor a
sibling at its level. Imports inside functions and under ``TYPE_CHECKING`` count too: a
dependency is a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"

LAYERS: tuple[tuple[str, ...], ...] = (
    # entry points: they assemble everything (db.metadata imports every feature's tables)
    (
        "app.main",
        "app.cli",
        "app.__main__",
        "app.scheduler.__main__",
        "app.startup",
        "app.metadata",
    ),
    ("app.desk",),  # the web pages people work in: every feature's services, never the API
    ("app.scheduler",),  # the one explicit JOBS list, the runner, the standalone process
    ("app.reporting",),  # reads every feature's tables for the summary and /metrics
    ("app.webhooks",),  # subscribes to the outbox; examples render incidents
    ("app.tracker_sheet",),
    ("app.dispute_pack",),  # everything about an incident, for a dispute reviewer
    ("app.notify",),  # e-mail to customers: the message outbox, bulk notices, notice rules
    ("app.workflow",),  # process steps, approvals, claims, messages, templates
    ("app.evidence",),
    ("app.tracking",),  # carrier answers applied to parcels; reacts through auto_incidents
    ("app.auto_incidents",),  # incidents opened, escalated and resolved by the scheduler
    ("app.incidents",),
    ("app.parcels",),
    ("app.stuck",),  # is a parcel stuck: pure verdicts, tenant rules, when to look again
    ("app.carriers",),
    ("app.people",),  # users, roles, passwords, sign-in, desk sessions
    ("app.api",),  # what every router shares: request dependencies, problems, pages
    ("app.outbox",),
    ("app.core",),
    ("app.db",),
    ("app.assets",),  # files the service ships (fonts)
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(APP.rglob("*.py"))}


def imports_of(path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Every app module this file imports, resolved to a module (not a name inside one)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [n if n in modules else node.module for n in names]
        else:
            continue
        for name in names:
            if name == "app" or name.startswith("app."):
                yield name


def layer_of(module: str) -> int:
    matches = [
        (len(prefix), index)
        for index, layer in enumerate(LAYERS)
        for prefix in layer
        if module == prefix or module.startswith(prefix + ".")
    ]
    if not matches:
        raise AssertionError(f"{module} is in no layer: add its package to LAYERS")
    return max(matches)[1]


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def graph() -> dict[str, set[str]]:
    modules = app_modules()
    return {name: set(imports_of(path, modules)) for name, path in modules.items()}


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    wrong = []
    for source, targets in edges.items():
        if source == "app":
            continue
        for target in targets:
            if package_of(target) == package_of(source):
                continue  # inside one feature anything goes (cycles aside)
            if layer_of(target) == layer_of(source) == 0:
                continue  # the entry points may call each other
            if target == "app" or layer_of(target) <= layer_of(source):
                wrong.append(f"{source} -> {target}")
    return sorted(wrong)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_package_of_app_has_a_layer() -> None:
    for module in app_modules():
        if module != "app":
            layer_of(module)


def test_features_import_only_what_lies_below_them() -> None:
    assert upward_imports(graph()) == []


def test_there_is_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_the_rules_catch_an_upward_import_and_a_cycle() -> None:
    """The checks above can fail: a core module importing a feature that uses it is caught."""
    edges = graph()
    assert "app.core.errors" in edges["app.incidents.service"]
    edges["app.core.errors"] = edges["app.core.errors"] | {"app.incidents.service"}
    assert "app.core.errors -> app.incidents.service" in upward_imports(edges)
    assert any({"app.core.errors", "app.incidents.service"} <= set(c) for c in cycles(edges))


def test_adapters_know_nothing_of_the_service() -> None:
    offenders = [
        f"{module_name(path)} -> {name}"
        for path in sorted((ROOT / "adapters").rglob("*.py"))
        for name in imports_of(path, {})
    ]
    assert offenders == []


def commit_calls(path: Path) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def router_modules() -> list[Path]:
    return sorted(
        path for path in APP.rglob("*.py") if path.name == "router.py" or path.parent == APP / "api"
    )


@pytest.mark.parametrize("path", router_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_routers_leave_the_commit_to_the_unit_of_work(path: Path) -> None:
    assert commit_calls(path) == [], "a router commits; the request's unit of work does that"
