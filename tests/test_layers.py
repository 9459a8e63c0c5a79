"""The package's import graph: no cycles, and no module imports from a layer above its own.

Every import counts, also the ones inside functions (a lazy import is still a dependency).
Layers, lowest first: the data model; the catalog and parsers; the command reader, containment
and configuration; the analyzers and the judge; the engine; reports and remediation; the CLI.
A new module must be placed in this table, which is the pipeline as docs/architecture.md draws it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "scanner"
LAYERS: tuple[tuple[str, ...], ...] = (
    ("scanner.model", "scanner.resources", "scanner.discover.gitsafe", "scanner.discover.filenames"),
    ("scanner.catalog", "scanner.parse", "scanner.discover.tiers", "scanner.output.sanitize"),
    ("scanner.findings", "scanner.audits", "scanner.config", "scanner.launch.commandline", "scanner.containment",
     "scanner.post.suppress", "scanner.post.gitdiff"),
    ("scanner.discover", "scanner.launch", "scanner.containment.judge", "scanner.project", "scanner.post"),
    ("scanner.engine",),
    ("scanner.output", "scanner.remediation"),
    ("scanner.cli", "scanner.__main__"),
)


def _name(path: Path) -> str:
    name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scanner."):
                # `from scanner.pkg import module` depends on that module, not on the package.
                subs = {f"{node.module}.{a.name}" for a in node.names
                        if (PACKAGE.parent / (node.module.replace(".", "/") + f"/{a.name}.py")).is_file()}
                deps.update(subs or {node.module})
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("scanner."))
        graph[_name(path)] = deps - {_name(path)}
    # The file-kind table names its analyzers as strings, imported on first use: still edges.
    from scanner.launch.filekinds import FILE_KINDS

    graph["scanner.launch.filekinds"] |= {step.target.partition(":")[0] for kind in FILE_KINDS for step in kind.steps}
    return graph


def _layer(module: str) -> int:
    matches = [(len(prefix), i) for i, layer in enumerate(LAYERS) for prefix in layer
               if module == prefix or module.startswith(prefix + ".")]
    assert matches, f"{module} is in no layer: add it to LAYERS in tests/test_layers.py"
    return max(matches)[1]


def test_no_module_imports_from_a_higher_layer() -> None:
    upward = sorted(f"{m} (layer {_layer(m)}) imports {d} (layer {_layer(d)})"
                    for m, deps in _imports().items() for d in deps if _layer(d) > _layer(m))
    assert upward == []


def test_no_import_cycles() -> None:
    graph = _imports()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_every_file_kind_step_names_a_function() -> None:
    import importlib

    from scanner.launch.filekinds import FILE_KINDS

    missing = []
    for kind in FILE_KINDS:
        for step in kind.steps:
            module, _, name = step.target.partition(":")
            if not callable(getattr(importlib.import_module(module), name, None)):
                missing.append(f"{kind.name}: {step.target}")
    assert missing == []
