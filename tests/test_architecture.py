"""docs/architecture.md stays true: every path it names exists, and every module imports only from
its own layer or the layers below it (imports inside functions too)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
PATH = re.compile(r"`((?:emozsl|tests|docs|benchmarks|experiments)/[\w/.]*)`")


def layers() -> list[list[str]]:
    """The layer table's rows, top to bottom: each a list of module paths (files or folders)."""
    text = DOC.read_text()
    table = text[text.index("| layer |"):].split("\n\n")[0].splitlines()[2:]
    return [PATH.findall(row.split("|")[2]) for row in table]


def module_file_name(path: Path) -> str:
    """emozsl/data/raw.py -> emozsl.data.raw; a package's __init__ is the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str, rows: list[list[str]]) -> int:
    for index, row in enumerate(rows):
        for entry in row:
            name = module_file_name(ROOT / entry) if entry.endswith(".py") else entry.rstrip("/").replace("/", ".")
            if module == name or (entry.endswith("/") and module.startswith(name + ".")):
                return index
    raise AssertionError(f"{module} has no layer in {DOC.name}")


def emozsl_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "emozsl":
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "emozsl"}
    return found


def test_every_path_the_architecture_page_names_exists():
    named = set(PATH.findall(DOC.read_text()))
    assert len(named) > 30
    assert [p for p in sorted(named) if not (ROOT / p).exists()] == []


def test_every_module_imports_only_its_own_layer_or_below():
    rows = layers()
    assert len(rows) == 7
    violations = []
    for path in sorted((ROOT / "emozsl").rglob("*.py")):
        source = module_file_name(path)
        own = layer_of(source, rows)
        for target in emozsl_imports(path):
            if layer_of(target, rows) < own:
                violations.append(f"{source} (layer {own}) imports {target} (layer {layer_of(target, rows)})")
    assert violations == []


def test_the_data_package_has_no_import_cycle():
    """A format or generator is one module: modules of emozsl.data never import each other in a
    circle (imports inside functions included), so each can be read, tested and replaced alone."""
    graph = {}
    for path in sorted((ROOT / "emozsl" / "data").rglob("*.py")):
        module = module_file_name(path)
        graph[module] = {t for t in emozsl_imports(path) if t.startswith("emozsl.data.") and t != module}
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        for target in sorted(graph.get(module, ())):
            if target in trail:
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif len(trail) < len(graph):
                visit(target, trail + [target])

    for module in graph:
        visit(module, [module])
    assert len(graph) > 10 and cycles == []
