"""The package's interfaces hold: a new importer and a new output format are each one module
plus its registration (and a test here fails when the registration is missing), and no two
modules of the package import each other at top level (issue 21)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Any

import harness_audit.importers as importers_pkg
import harness_audit.report as report_pkg
from harness_audit.importers.registry import (
    DEFINITION_FORMATS,
    DEFINITION_MODULES,
    TRACE_FORMATS,
    TRACE_MODULES,
)
from harness_audit.report import REGISTRIES
from harness_audit.report.base import Renderer

PKG = Path(__file__).resolve().parent.parent / "harness_audit"


def _top_functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _top_names(tree: ast.Module) -> set[str]:
    return {
        t.id
        for n in tree.body
        if isinstance(n, ast.Assign | ast.AnnAssign)
        for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
        if isinstance(t, ast.Name)
    }


def format_modules() -> dict[str, str]:
    """Every module of importers/ that defines a format (a top-level ``sniff`` or ``read``),
    read from the source so that an unregistered module is found too: name -> trace or
    definition (by ``read``'s first parameter: ``path`` or ``paths``)."""
    out: dict[str, str] = {}
    for info in pkgutil.iter_modules(importers_pkg.__path__):
        tree = ast.parse((PKG / "importers" / f"{info.name}.py").read_text())
        fns = _top_functions(tree)
        if "sniff" not in fns and "read" not in fns:
            continue
        assert {"sniff", "read"} <= set(fns), f"importers/{info.name}.py: sniff and read"
        assert {"NAME", "DESCRIPTION"} <= _top_names(tree), f"importers/{info.name}.py"
        first = fns["read"].args.args[0].arg
        out[info.name] = {"path": "trace", "paths": "definition"}[first]
    return out


def _short(module: Any) -> str:
    return str(module.__name__).rsplit(".", 1)[1]


def test_every_format_module_is_registered_and_nothing_else_is() -> None:
    """A new importer is one module plus its line in ``importers/registry.py``; forgetting
    the line fails here (as does registering a module that defines no format)."""
    found = format_modules()
    assert found, "no format module found: the test reads the wrong folder"
    trace = {_short(m) for m in TRACE_MODULES}
    definition = {_short(m) for m in DEFINITION_MODULES}
    assert trace == {n for n, k in found.items() if k == "trace"}
    assert definition == {n for n, k in found.items() if k == "definition"}
    assert len(TRACE_FORMATS) == len(TRACE_MODULES), "two trace formats share a NAME"
    assert len(DEFINITION_FORMATS) == len(DEFINITION_MODULES), "two definition formats share a NAME"


def renderer_modules() -> set[str]:
    """Every module of report/ that defines a concrete :class:`Renderer`."""
    out: set[str] = set()
    for info in pkgutil.iter_modules(report_pkg.__path__):
        module = importlib.import_module(f"harness_audit.report.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, Renderer)
                and obj.__module__ == module.__name__
                and not inspect.isabstract(obj)
            ):
                out.add(module.__name__)
    return out


def test_every_renderer_module_is_registered_and_every_registration_renders() -> None:
    """A new output format is one module plus its entry in a ``report`` registry; a renderer
    module in no registry, or a registry entry that names no renderer, fails here."""
    registered: set[str] = set()
    for registry in REGISTRIES:
        for fmt, target in registry.formats.items():
            module, _, cls = target.partition(":")
            obj = getattr(importlib.import_module(module), cls, None)
            assert inspect.isclass(obj) and issubclass(obj, Renderer), (registry.command, fmt)
            assert not inspect.isabstract(obj), (registry.command, fmt)
            registered.add(module)
    assert renderer_modules() == registered


# -- the import graph --------------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return ast.unparse(test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: module level, inside ``if``/``try``
    blocks there, but not in functions, classes or ``if TYPE_CHECKING:``."""
    out: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                todo.extend(node.body)
            todo.extend(node.orelse)
        elif isinstance(node, ast.Try):
            todo.extend([*node.body, *node.orelse, *node.finalbody])
            for h in node.handlers:
                todo.extend(h.body)
        elif isinstance(node, ast.With):
            todo.extend(node.body)
    return out


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _edges(name: str, path: Path) -> set[str]:
    """The package modules ``name`` imports at top level. Importing ``a.b.c`` runs ``a`` and
    ``a.b`` first; the importer's own parent packages are left out (Python has them running
    already), unless a name that is not a submodule is taken from one of them."""
    tree = ast.parse(path.read_text())
    own = set(_ancestors(name)) | ({name} if path.name == "__init__.py" else set())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()

    def reach(module: str) -> None:
        for m in [*_ancestors(module), module]:
            if m in MODULES and m not in own:
                targets.add(m)

    for node in _top_level_imports(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                reach(alias.name)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, *([base] if base else [])])
        reach(base)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in MODULES:
                reach(sub)
            elif base in MODULES:
                targets.add(base)  # a name from the package itself: its __init__ must be done
    targets.discard(name)
    return {t for t in targets if t.startswith("harness_audit")}


def import_circles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph = {n: _edges(n, p) for n, p in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp: list[str] = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_sees_the_package() -> None:
    """The graph is built from the real imports: a known edge is in it."""
    assert "harness_audit.importers.tables" in _edges(
        "harness_audit.importers.spans", MODULES["harness_audit.importers.spans"]
    )
    assert len(MODULES) > 50


def test_no_import_circle_in_the_package() -> None:
    """No module of the package imports, at top level, one that imports it back (directly or
    round a longer loop): function-level and ``TYPE_CHECKING`` imports do not count."""
    assert import_circles() == []
