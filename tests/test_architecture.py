"""Import contracts: which package may import which, and no import cycles between packages.

Every module's imports are read with :mod:`ast` (nothing is imported, so a module
that needs Django settings is read like any other). Imports inside functions count:
a lazy import is still a dependency. The rules are data: :data:`FORBIDDEN` lists
(importer prefix, imported prefix) pairs, and :data:`CYCLE_FREE` the package sets
that must not import each other in a circle; add rows to extend them (for instance
to ``listening/``). The checkers are tested on small synthetic module graphs below,
so a rule that could never fail would show.

The layers of ``analysis/`` (documented in ``analysis/__init__.py``), lowest first:
``analysis.errors``, ``analysis.audio`` and ``analysis.io`` (the base); ``metrics``;
``stimuli`` (may use metrics); ``stats`` (independent of metrics and stimuli);
``report`` (may use stats); ``cli`` (may use everything).

The packages of ``listening/`` (documented in ``listening/__init__.py``): ``models`` is the
base and imports none of the others; ``platform`` (throttling, middleware, outage
handling, authentication) uses only the models; ``stimuli`` (upload admission,
preparation, tasks) never imports participant or research code; ``participant`` never
imports ``research``; ``research`` may use all of them. None imports another in a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

Graph = Mapping[str, set[str]]

ANALYSIS_BASE = ("analysis.errors", "analysis.audio", "analysis.io")
ANALYSIS_PACKAGES = (
    "analysis.metrics",
    "analysis.stimuli",
    "analysis.stats",
    "analysis.report",
    "analysis.cli",
)

#: What each analysis package may import besides the base and itself.
ANALYSIS_ALLOWED: Mapping[str, tuple[str, ...]] = {
    "analysis.metrics": (),
    "analysis.stimuli": ("analysis.metrics",),
    "analysis.stats": (),
    "analysis.report": ("analysis.stats",),
    "analysis.cli": ANALYSIS_PACKAGES,
}


def _analysis_rules() -> list[tuple[str, str]]:
    rules = [
        ("analysis", outside) for outside in ("django", "rest_framework", "listening", "config")
    ]
    for base in ANALYSIS_BASE:
        rules += [(base, package) for package in ANALYSIS_PACKAGES]
    for package, allowed in ANALYSIS_ALLOWED.items():
        rules += [
            (package, other)
            for other in ANALYSIS_PACKAGES
            if other != package and other not in allowed
        ]
    return rules


LISTENING_PACKAGES = (
    "listening.models",
    "listening.platform",
    "listening.stimuli",
    "listening.participant",
    "listening.research",
)

#: What each listening package may not import (who is served decides the direction).
LISTENING_FORBIDDEN: Mapping[str, tuple[str, ...]] = {
    "listening.models": (
        "listening.platform",
        "listening.stimuli",
        "listening.participant",
        "listening.research",
    ),
    "listening.platform": ("listening.stimuli", "listening.participant", "listening.research"),
    "listening.stimuli": ("listening.participant", "listening.research"),
    "listening.participant": ("listening.research",),
}

#: (importer prefix, imported prefix): no module under the first may import the second.
FORBIDDEN: list[tuple[str, str]] = _analysis_rules() + [
    (package, other) for package, others in LISTENING_FORBIDDEN.items() for other in others
]

#: Sets of packages (or modules) between which imports must not go round in a circle.
CYCLE_FREE: list[tuple[str, ...]] = [ANALYSIS_BASE + ANALYSIS_PACKAGES, LISTENING_PACKAGES]

#: Top-level directories whose modules are read.
SOURCES = ("analysis", "listening")


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path, root: Path) -> str:
    """Dotted name of the module at ``path`` (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, *, is_package: bool) -> set[str]:
    """Every module name ``source`` imports, relative imports resolved.

    ``from a.b import c`` yields both ``a.b`` and ``a.b.c`` (``c`` may be a
    submodule); names that are not modules never match a prefix of another package,
    so the extra entry cannot produce a false violation between packages.
    """
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def import_graph(root: Path, sources: Iterable[str]) -> dict[str, set[str]]:
    """Module name -> imported module names, for every ``.py`` file under ``sources``."""
    graph: dict[str, set[str]] = {}
    for top in sources:
        for path in sorted((root / top).rglob("*.py")):
            name = module_name(path, root)
            graph[name] = imports_of(
                path.read_text(encoding="utf-8"), name, is_package=path.name == "__init__.py"
            )
    return graph


def violations(graph: Graph, forbidden: Sequence[tuple[str, str]]) -> list[str]:
    """``importer -> imported`` for every import a forbidden pair covers."""
    found = []
    for module, imported in sorted(graph.items()):
        for importer_prefix, imported_prefix in forbidden:
            if not _under(module, importer_prefix):
                continue
            found += [
                f"{module} -> {name} (forbidden: {importer_prefix} -> {imported_prefix})"
                for name in sorted(imported)
                if _under(name, imported_prefix)
            ]
    return found


def package_cycles(graph: Graph, packages: Sequence[str]) -> list[list[str]]:
    """Groups of ``packages`` that import each other in a circle (strongly connected)."""

    def owner(name: str) -> str | None:
        matches = [p for p in packages if _under(name, p)]
        return max(matches, key=len) if matches else None

    edges: dict[str, set[str]] = {p: set() for p in packages}
    for module, imported in graph.items():
        source = owner(module)
        if source is None:
            continue
        for name in imported:
            target = owner(name)
            if target is not None and target != source:
                edges[source].add(target)

    # Tarjan's strongly connected components.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(edges[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in packages:
        if node not in index:
            visit(node)
    return components


# --------------------------------------------------------------------------- the project


@pytest.fixture(scope="module")
def project_graph() -> dict[str, set[str]]:
    return import_graph(ROOT, SOURCES)


def test_the_graph_covers_every_analysis_package(project_graph: Graph) -> None:
    for package in ANALYSIS_BASE + ANALYSIS_PACKAGES:
        assert package in project_graph, package
    assert "analysis.metrics.loudness" in project_graph["analysis.metrics.measure"]


def test_the_graph_covers_every_listening_package(project_graph: Graph) -> None:
    for package in LISTENING_PACKAGES:
        assert package in project_graph, package
    assert "listening.participant.paradigms" in project_graph["listening.participant.flow"]


def test_no_forbidden_import(project_graph: Graph) -> None:
    assert violations(project_graph, FORBIDDEN) == []


def test_no_import_cycle_between_packages(project_graph: Graph) -> None:
    for packages in CYCLE_FREE:
        assert package_cycles(project_graph, packages) == []


# --------------------------------------------------------------------------- the checkers


def test_a_forbidden_import_is_reported() -> None:
    graph = {
        "analysis.metrics.loudness": {"numpy", "analysis.audio"},
        "analysis.metrics.spectral": {"analysis.stats.format"},
        "analysis.stats.mixed": {"django.db"},
        "analysis.cli": {"analysis.metrics.loudness", "analysis.stats"},
    }
    found = violations(graph, FORBIDDEN)
    assert found == [
        "analysis.metrics.spectral -> analysis.stats.format "
        "(forbidden: analysis.metrics -> analysis.stats)",
        "analysis.stats.mixed -> django.db (forbidden: analysis -> django)",
    ]


def test_a_listening_import_against_the_layers_is_reported() -> None:
    graph = {
        "listening.models.session": {"listening.participant.paradigms"},
        "listening.participant.pages": {"listening.research.exports", "listening.models"},
        "listening.stimuli.tasks": {"listening.participant.audio", "listening.models"},
        "listening.research.admin": {"listening.participant", "listening.stimuli.tasks"},
    }
    assert violations(graph, FORBIDDEN) == [
        "listening.models.session -> listening.participant.paradigms "
        "(forbidden: listening.models -> listening.participant)",
        "listening.participant.pages -> listening.research.exports "
        "(forbidden: listening.participant -> listening.research)",
        "listening.stimuli.tasks -> listening.participant.audio "
        "(forbidden: listening.stimuli -> listening.participant)",
    ]
    circle = {**graph, "listening.participant.flow": {"listening.research.opening"}}
    assert package_cycles(circle, LISTENING_PACKAGES) != []


def test_a_prefix_matches_whole_name_parts_only() -> None:
    graph = {"analysis.metricsx": {"analysis.statsx"}, "analysis.metrics": {"djangox"}}
    assert violations(graph, FORBIDDEN) == []


def test_a_cycle_between_packages_is_reported_and_a_chain_is_not() -> None:
    packages = ("p.a", "p.b", "p.c", "p.d")
    chain = {"p.a.x": {"p.b.y"}, "p.b.y": {"p.c"}, "p.c": {"p.d.z"}, "p.a.w": {"p.a.x"}}
    assert package_cycles(chain, packages) == []
    circle = {**chain, "p.d.z": {"p.b"}}
    assert package_cycles(circle, packages) == [["p.b", "p.c", "p.d"]]


def test_imports_are_read_from_source_with_lazy_and_relative_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from pkg.sub import thing\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "thing.py").write_text(
        "from . import sibling\nfrom ..other import helper\n"
        "def f():\n    import django.conf\n    from listening.models import Study\n"
    )
    graph = import_graph(tmp_path, ["pkg"])
    assert set(graph) == {"pkg", "pkg.sub", "pkg.sub.thing"}
    assert {"pkg.sub", "pkg.sub.thing"} <= graph["pkg"]
    thing = graph["pkg.sub.thing"]
    assert {"pkg.sub.sibling", "pkg.other", "pkg.other.helper", "django.conf"} <= thing
    assert "listening.models" in thing
    found = violations(graph, [("pkg.sub", "django"), ("pkg.sub", "listening")])
    assert "pkg.sub.thing -> django.conf (forbidden: pkg.sub -> django)" in found
    assert "pkg.sub.thing -> listening.models (forbidden: pkg.sub -> listening)" in found
    assert violations(graph, [("pkg.other", "django"), ("pkg.sub", "numpy")]) == []
    assert package_cycles({**graph, "pkg.other": {"pkg.sub.thing"}}, ("pkg.sub", "pkg.other")) == [
        ["pkg.other", "pkg.sub"]
    ]
