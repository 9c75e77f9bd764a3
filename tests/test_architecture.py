"""The engine's shape, checked from its source: no import cycle, no private name used across
modules, no module over 600 lines.

Every engine module is parsed with ``ast``.  Every ``import`` / ``from ... import`` counts, at any
depth: a lazy import inside a function, or one under ``if TYPE_CHECKING:``, still ties the two
modules together.  Relative imports are resolved against the importing module's package.

A *private* name starts with one underscore (dunders such as ``__init__`` are not private).  Using
one across modules means any of:

* importing it: ``from .x import _y``;
* reading it from an imported module: ``import engine.x as m`` then ``m._y``;
* reading it as an attribute (``obj._y``) in a module that does not define ``_y`` itself while
  another engine module does: a method, function, class, assigned attribute, ``__slots__`` entry
  or dataclass field of some other module (this is how ``calendar._resolve(...)`` from the
  operator clock is caught).  Private attributes of third-party objects are not engine names and
  are not checked here.

Subpackages may import each other in any direction; only cycles are refused.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "engine"
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(ENGINE.rglob("*.py"))}
PACKAGES = {name for name, path in MODULES.items() if path.name == "__init__.py"}
TREES = {name: ast.parse(path.read_text("utf-8"), str(path)) for name, path in MODULES.items()}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` reads from."""
    if node.level == 0:
        return node.module or ""
    package = module if module in PACKAGES else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _imports(module: str) -> list[tuple[str, list[str], ast.AST]]:
    """``(imported engine module, names taken from it, node)`` for every import in ``module``."""
    out = []
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    out.append((alias.name, [], node))
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            if source not in MODULES:
                continue
            names = []
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:  # from package import submodule
                    out.append((f"{source}.{alias.name}", [], node))
                else:
                    names.append(alias.name)
            if names:
                out.append((source, names, node))
    return out


def import_graph() -> dict[str, set[str]]:
    """Engine module -> the engine modules it imports (directly; parent packages not counted)."""
    return {module: {target for target, _, _ in _imports(module) if target != module} for module in MODULES}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def _defined_names(tree: ast.AST) -> set[str]:
    """Names a module defines: functions, classes, assignment targets (names and attributes),
    annotated class fields, and string constants (``__slots__`` entries, ``setattr`` names)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            names.add(node.value)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


DEFINED = {module: _defined_names(tree) for module, tree in TREES.items()}


def private_uses() -> list[str]:
    """Every cross-module use of a private engine name, as ``module:line: what``."""
    found = []
    for module, tree in TREES.items():
        module_aliases: dict[str, str] = {}  # local name -> engine module it is bound to
        for target, names, node in _imports(module):
            for name in names:
                if _is_private(name):
                    found.append(f"{module}:{node.lineno}: imports {name} from {target}")
            for alias in node.names:
                if isinstance(node, ast.Import) and alias.name == target:
                    module_aliases[alias.asname or alias.name] = target
                elif isinstance(node, ast.ImportFrom) and target.endswith("." + alias.name):
                    module_aliases[alias.asname or alias.name] = target
        others = set().union(*(names for other, names in DEFINED.items() if other != module))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not _is_private(node.attr):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in module_aliases:
                found.append(f"{module}:{node.lineno}: reads {node.attr} of module {module_aliases[node.value.id]}")
            elif node.attr not in DEFINED[module] and node.attr in others:
                owners = sorted(other for other, names in DEFINED.items() if other != module and node.attr in names)
                found.append(f"{module}:{node.lineno}: uses {node.attr}, private to {', '.join(owners)}")
    return sorted(found)


def test_the_checker_sees_the_engine():
    assert "engine.policyset" in MODULES and "engine.calendar.business" in MODULES
    graph = import_graph()
    assert "engine.calendar.index" in graph["engine.calendar.business"]
    assert "engine.policyset" in graph["engine"]


def test_the_checker_finds_cycles_and_private_uses():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    tree = ast.parse("from .index import _OFFSETS\nimport engine.calendar.index as ix\nix._x\n")
    module = "engine.calendar.business"
    saved = TREES[module], DEFINED[module]
    try:
        TREES[module], DEFINED[module] = tree, _defined_names(tree)
        mine = [use for use in private_uses() if use.startswith(module + ":")]
    finally:
        TREES[module], DEFINED[module] = saved
    assert mine == [f"{module}:1: imports _OFFSETS from engine.calendar.index",
                    f"{module}:3: reads _x of module engine.calendar.index"]


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert cycles == [], "import cycles (lazy and TYPE_CHECKING imports count):\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def test_no_private_name_is_used_across_modules():
    uses = private_uses()
    assert uses == [], "private names used across modules:\n" + "\n".join(uses)


SIZED = sorted(str(p.relative_to(ROOT)) for p in MODULES.values())


@pytest.mark.parametrize("path", SIZED + ["cli.py"])
def test_module_is_at_most_600_lines(path):
    lines = len((ROOT / path).read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path} has {lines} lines; split it by job (at most {MAX_LINES})"


def test_every_name_the_flat_engine_exported_still_imports_from_engine():
    import engine
    before_the_move = ("PolicySet Decision BusinessCalendar Duration Problem read_tickets TicketInput TriageError "
                       "PolicyError TicketError CalendarError DurationError validate document_schema format_policies "
                       "default_policy_dir PolicyEditor PolicySource compare_files").split()
    assert [name for name in before_the_move if name not in engine.__all__ or not hasattr(engine, name)] == []
