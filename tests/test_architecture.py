"""Imports point downward, layer by layer, with no circle; reading results never loads the model."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sim"

#: The layers, lowest first: a module may import its own layer and the layers below, never above.
LAYERS = (
    ("sim._version", "sim.errors", "sim.world"),
    ("sim.delivery",),
    ("sim.funding",),
    ("sim.simulation",),
    ("sim.experiments",),
    ("sim.reading",),
    ("sim.api", "sim.cli", "sim.dashboard", "sim"),
)
#: What reading may not import even though it sits above them: it works on stored data only.
READING_FORBIDDEN = (
    "sim.simulation",
    "sim.delivery.actions",
    "sim.delivery.agents",
    "sim.experiments.scenario",
    "sim.experiments.batch",
    "mesa",
)


def module_name(path: Path) -> str:
    """Dotted name of a module file of the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, wherever the import statement stands (type-checking blocks
    and function bodies included: a circle hidden there is still a circle)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> nx.DiGraph:
    """Modules of the package and the package modules each imports."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for target in imports_of(path):
            if target in modules and target != name:
                graph.add_edge(name, target)
    return graph


def layer_of(module: str) -> int:
    """Index of the layer a module belongs to (the longest matching prefix)."""
    best, best_length = len(LAYERS) - 1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    return best


def test_no_upward_import() -> None:
    """No module imports a module of a higher layer."""
    upward = [
        f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
        for a, b in import_graph().edges
        if layer_of(b) > layer_of(a) and not (a == "sim" or a.startswith("sim.__"))
    ]
    assert upward == []


def test_no_import_circle() -> None:
    """No circle of imports between modules (a package's ``__init__`` re-exporting its own
    modules is not a circle)."""
    graph = import_graph()
    inits = [n for n in graph if (PACKAGE.parent / n.replace(".", "/") / "__init__.py").exists()]
    graph.remove_edges_from([(a, b) for a, b in list(graph.edges) if a in inits])
    assert [c for c in nx.simple_cycles(graph)] == []


def test_reading_imports_only_data() -> None:
    """Reading modules import neither the model, the agents, Mesa nor the scenario parser."""
    graph = import_graph()
    reading = [n for n in graph if n.startswith("sim.reading")]
    bad = [
        f"{a} -> {b}"
        for a in reading
        for b in nx.descendants(graph, a)
        if b.startswith(READING_FORBIDDEN)
    ]
    assert bad == []


def loaded_after_import(module: str, candidates: tuple[str, ...]) -> list[str]:
    """Which of ``candidates`` are in ``sys.modules`` after importing ``module`` afresh."""
    code = f"import sys, {module}; print(sorted(m for m in {candidates!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    return list(ast.literal_eval(out))


@pytest.mark.parametrize(
    "module",
    ["sim.reading.analysis", "sim.reading.figures", "sim.reading.report", "sim.experiments.store"],
)
def test_reading_results_does_not_load_the_model(module: str) -> None:
    """Analysis, figures, reports and the store load neither Mesa nor the city model."""
    forbidden = ("mesa", "sim.simulation.model", "sim.delivery.agents", "sim.experiments.scenario")
    assert loaded_after_import(module, forbidden) == []


def test_simulation_workers_do_not_load_the_analysis_stack() -> None:
    """A worker that only runs simulations loads neither SQLAlchemy nor the report."""
    heavy = ("sqlalchemy", "sim.reading.report", "sim.reading.figures", "jinja2")
    assert loaded_after_import("sim.experiments.batch", heavy) == []
