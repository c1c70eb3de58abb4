"""Tool effects PROPOSED from the tool's own code (issue 24, item 4), never asserted.

Where a drafted tool's function is in the files ``init`` read, or in a Python file beside one of
them, its calls are matched against ``rules/tool_code_effects.yaml`` (HTTP verbs, SQL verbs in
the statement a call runs, SDK methods such as ``messages().trash`` or ``chat_postMessage``, file
writes and deletions, subprocesses); the strongest effect found is written as a comment beside
the tool's drafted effect, with the call and its line. The drafted effect stays what the reader
made it (unknown: destructive with a TODO) until a person declares it.

A tool the source names by a dotted name (``tools=[notes.jot_down]``, ``from .tools.lookup
import find_flights``, an ADK config's ``name: pkg.tools.fn``, a toolset object's method) is
followed through the module's imports to the file that defines it, where that file is in the
project (:func:`resolve_function`; bounded hops, never run).
"""

from __future__ import annotations

import ast
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from harness_audit._resources import load_rules
from harness_audit.errors import HarnessAuditError
from harness_audit.importers.draft import Draft, DraftTool
from harness_audit.importers.pyast import call_name, imports, module_file, parse

RANK = {"read": 0, "write": 1, "external": 2, "destructive": 3}
MAX_SIBLINGS = 64
"""At most this many Python files beside the sources are read to find tool functions."""

_Fn = ast.FunctionDef | ast.AsyncFunctionDef


@cache
def table() -> dict[str, Any]:
    """``rules/tool_code_effects.yaml`` as loaded, its call matches split into parts."""
    t = load_rules("tool_code_effects.yaml")
    calls: list[tuple[tuple[str, ...], str, str]] = []
    for e in t["calls"]:
        for m in e["match"]:
            calls.append((tuple(str(m).lower().split(".")), str(e["effect"]), str(e["source"])))
    return {**t, "_calls": calls}


def _parts(node: ast.AST) -> list[str]:
    """The dotted name of a call's function with every ``()`` dropped:
    ``service.users().messages().trash`` gives ``[service, users, messages, trash]``."""
    out: list[str] = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            out.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Name):
            out.append(node.id)
            break
        else:
            break
    return out[::-1]


def _sql_verb(node: ast.AST | None) -> str | None:
    """The first keyword of a SQL statement given as a string (or an f-string's text)."""
    text = ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    m = re.match(r"\s*(?:--[^\n]*\n\s*)*([A-Za-z]+)", text)
    return m.group(1).lower() if m else None


def _open_writes(call: ast.Call) -> bool:
    """``open(path, "w")`` (or a, x, +), positional or ``mode=``."""
    mode = call.args[1] if len(call.args) > 1 else None
    for k in call.keywords:
        if k.arg == "mode":
            mode = k.value
    return (
        isinstance(mode, ast.Constant)
        and isinstance(mode.value, str)
        and any(c in mode.value for c in "wax+")
    )


def _hits(fn: ast.AST, file: str) -> list[tuple[int, str, str, int, str, str]]:
    """The calls of ``fn`` that rules/tool_code_effects.yaml names, each as (rank, effect,
    call, line, source, file)."""
    t = table()
    out: list[tuple[int, str, str, int, str, str]] = []
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        shown = _parts(node)
        parts = [x.lower() for x in shown]
        found: tuple[str, str, str] | None = None
        for match, effect, source in t["_calls"]:
            if len(parts) >= len(match) and tuple(parts[-len(match) :]) == match:
                found = (effect, ".".join(shown[-len(match) :]), source)
                break
        name = call_name(node)
        if found is None and name == "open" and _open_writes(node):
            found = (
                str(t["open_modes"]["effect"]),
                "open(..., 'w')",
                str(t["open_modes"]["source"]),
            )
        if found is None and name in t["sql_calls"] and node.args:
            verb = _sql_verb(node.args[0])
            if verb is not None and verb in t["sql_verbs"]:
                found = (str(t["sql_verbs"][verb]), f"SQL {verb.upper()}", str(t["sql_source"]))
        if found is not None:
            out.append((RANK[found[0]], found[0], found[1], node.lineno, found[2], file))
    return out


def _said(hits: list[tuple[int, str, str, int, str, str]], via: str = "") -> str | None:
    """The strongest of ``hits`` said as a proposal (None when there are none)."""
    if not hits:
        return None
    best = max(hits, key=lambda h: h[0])  # the first of the strongest
    more = f"; {len(hits) - 1} more matching call(s)" if len(hits) > 1 else ""
    return (
        f"{best[1]}, from its code: {best[2]} at {Path(best[5]).name}:{best[3]}{via} "
        f"({best[4]}){more}; declare it to use it"
    )


def propose(fn: ast.AST, file: str) -> str | None:
    """The effect a function's calls show, as ``external, from its code: requests.post at
    tools.py:12 (source)``; None when no call matches."""
    return _said(_hits(fn, file))


MAX_FOLLOWED = 32
"""At most this many functions a function calls (and they call) are read for its effect."""


def _callee(node: ast.Call) -> str | None:
    """The dotted name a call's function is written as (``send_email``, ``gmail.send``);
    None for a call on a computed value (``state["x"].get()``, ``f()()``)."""
    parts: list[str] = []
    cur: ast.AST = node.func
    while isinstance(cur, ast.Attribute):
        parts.append(cur.attr)
        cur = cur.value
    if not isinstance(cur, ast.Name):
        return None
    return ".".join([cur.id, *parts[::-1]])


def propose_reached(fn: _Fn, file: str, project: Path | None) -> str | None:
    """:func:`propose` over ``fn`` and the project's functions it calls, followed through
    the module's imports (:func:`resolve_function`, at most :data:`MAX_FOLLOWED`
    functions): a graph node that sends mail through a helper of another module acts."""
    trees = _Trees()
    todo: list[tuple[_Fn, str, str]] = [(fn, file, "")]
    seen = {id(fn)}
    hits: list[tuple[int, str, str, int, str, str]] = []
    via_of: list[str] = []  # how each hit is reached from ``fn``
    while todo and len(seen) <= MAX_FOLLOWED:
        cur, f, via = todo.pop(0)
        got = _hits(cur, f)
        hits += got
        via_of += [via] * len(got)
        for node in ast.walk(cur):
            if not isinstance(node, ast.Call):
                continue
            ref = _callee(node)
            hit = resolve_function(Path(f), ref, project, trees) if ref else None
            if hit is None or id(hit[1]) in seen:
                continue
            seen.add(id(hit[1]))
            todo.append(
                (hit[1], str(hit[0]), via or f", through {ref}() at {Path(f).name}:{node.lineno}")
            )
    if not hits:
        return None
    top = max(range(len(hits)), key=lambda i: hits[i][0])
    return _said(hits, via_of[top])


def _index(tree: ast.Module) -> dict[str, _Fn]:
    """Tool functions of a module by function name and by the tool name a decorator or a tool
    class gives (a class's ``_run``/``run``/``__call__`` stands for it)."""
    out: dict[str, _Fn] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out.setdefault(node.name, node)
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and call_name(dec) in ("tool", "function_tool"):
                    named = dec.args[0] if dec.args else None
                    for k in dec.keywords:
                        if k.arg in ("name", "name_override"):
                            named = k.value
                    if isinstance(named, ast.Constant) and isinstance(named.value, str):
                        out.setdefault(named.value, node)
        elif isinstance(node, ast.ClassDef):
            run = next(
                (
                    s
                    for s in node.body
                    if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
                    and s.name in ("_run", "_arun", "run", "__call__")
                ),
                None,
            )
            if run is None:
                continue
            out.setdefault(node.name, run)
            for s in node.body:
                target: ast.expr | None = s.target if isinstance(s, ast.AnnAssign) else None
                if isinstance(s, ast.Assign) and s.targets:
                    target = s.targets[0]
                value = s.value if isinstance(s, ast.Assign | ast.AnnAssign) else None
                if (
                    isinstance(target, ast.Name)
                    and target.id == "name"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    out.setdefault(value.value, run)
    return out


MAX_REF_HOPS = 6
"""At most this many imports (re-exports included) are followed from one dotted name."""


class _Trees:
    """Parsed modules by path (a file that does not parse is None)."""

    def __init__(self) -> None:
        self.trees: dict[Path, ast.Module | None] = {}

    def get(self, p: Path) -> ast.Module | None:
        key = p.resolve()
        if key not in self.trees:
            try:
                self.trees[key] = parse(p)
            except HarnessAuditError:
                self.trees[key] = None
        return self.trees[key]


def _method(cls: ast.ClassDef, name: str) -> _Fn | None:
    for s in cls.body:
        if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == name:
            return s
    return None


def _dotted(
    file: Path, parts: list[str], project: Path | None, trees: _Trees
) -> tuple[Path, _Fn] | None:
    """``pkg.mod.fn`` (or ``pkg.mod.Class.method``) from the project's import roots."""
    for k in range(len(parts) - 1, 0, -1):
        target = module_file(file, ".".join(parts[:k]), 0, project)
        if target is not None:
            return resolve_function(target, ".".join(parts[k:]), project, trees, 1)
    return None


def resolve_function(
    file: Path,
    ref: str,
    project: Path | None = None,
    trees: _Trees | None = None,
    hops: int = 0,
) -> tuple[Path, _Fn] | None:
    """The definition ``ref`` names in ``file``: a function of the module, a name imported
    from another module of the project (``from .tools import notes`` then ``notes.jot_down``),
    a method of a class or of a module-level object built from one (``toolset.search``), or
    (``hops`` 0, no import of its head) an absolute dotted path ``pkg.mod.fn``."""
    trees = trees or _Trees()
    parts = [p for p in ref.split(".") if p]
    if not parts or hops > MAX_REF_HOPS:
        return None
    if file.suffix != ".py":  # a config file names it from the project's roots
        return _dotted(file, parts, project, trees)
    tree = trees.get(file)
    if tree is None:
        return None
    head, rest = parts[0], parts[1:]
    local: dict[str, ast.AST] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            local[stmt.name] = stmt
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            t = stmt.targets[0]
            if isinstance(t, ast.Name):
                local[t.id] = stmt.value
    got = local.get(head)
    if isinstance(got, ast.FunctionDef | ast.AsyncFunctionDef) and not rest:
        return file, got
    if isinstance(got, ast.ClassDef) and len(rest) == 1:
        m = _method(got, rest[0])
        return (file, m) if m else None
    if isinstance(got, ast.ClassDef) and not rest:  # a tool class: what it runs
        for meth in ("_run", "_arun", "run", "__call__"):
            m = _method(got, meth)
            if m is not None:
                return file, m
        return None
    if isinstance(got, ast.Call) and len(rest) == 1:  # an object: its class's method
        cls = call_name(got)
        return resolve_function(file, f"{cls}.{rest[0]}", project, trees, hops + 1) if cls else None
    imp = imports(tree).get(head)
    if imp is None:
        return _dotted(file, parts, project, trees) if hops == 0 else None
    module, level, name = imp
    if name is None:  # import a.b as head: head.rest is in a.b
        if not rest:
            return None
        for k in range(len(rest), -1, -1):
            target = module_file(file, ".".join([module, *rest[:k]]), level, project)
            if target is not None and rest[k:]:
                return resolve_function(target, ".".join(rest[k:]), project, trees, hops + 1)
        return None
    sub = module_file(file, f"{module}.{name}" if module else name, level, project)
    if sub is not None and rest:  # from pkg import module; module.fn
        return resolve_function(sub, ".".join(rest), project, trees, hops + 1)
    target = module_file(file, module, level, project)
    if target is None or target.resolve() == file.resolve():
        return None
    return resolve_function(target, ".".join([name, *rest]), project, trees, hops + 1)


def _definition(
    t: DraftTool,
    indexes: list[tuple[str, dict[str, _Fn]]],
    project: Path | None,
    trees: _Trees,
) -> tuple[str, _Fn] | None:
    """The project's own definition of a drafted tool: the dotted name the reader saw, else
    the tool's name in the module that lists it (followed through its imports), else a
    function or tool class of that name in a file read (its own first). A name the listing
    module imports from outside the project is that package's, never a file's namesake."""
    file = Path(t.where.file)
    ref = t.ref or (t.name if t.where.file.endswith(".py") else "")
    hit = resolve_function(file, ref, project, trees) if ref else None
    if hit is not None:
        return str(hit[0]), hit[1]
    tree = trees.get(file) if file.suffix == ".py" else None
    if tree is not None and (t.ref or t.name).split(".")[0] in imports(tree):
        return None  # imported, and not from a module of the project (resolve_function)
    own = [ix for ix in indexes if ix[0] == t.where.file]
    for f, ix in [*own, *(x for x in indexes if x not in own)]:
        fn = ix.get(t.name)
        if fn is not None:
            return f, fn
    return None


def propose_all(d: Draft) -> None:
    """Propose an effect for every drafted tool whose effect is unknown and whose function is
    in a Python source of the draft or beside one (at most :data:`MAX_SIBLINGS` files); files
    that do not parse are passed over. A tool whose effect rules/tool_effects.yaml gave by its
    name (``read_file``, ``search_internet``) but which the project defines itself is not that
    well-known tool: its effect is unknown again (fail closed), proposed from its own code."""
    tools = [t for a in d.agents for t in a.tools]
    if not any(t.effect is None or t.known_as for t in tools):
        return
    files: list[Path] = [p for p in d.sources if p.suffix == ".py"]
    for folder in dict.fromkeys(p.parent for p in d.sources):
        try:
            siblings = sorted(x for x in folder.glob("*.py") if x.is_file())
        except OSError:
            continue
        files.extend(x for x in siblings[:MAX_SIBLINGS] if x not in files)
    files = files[: MAX_SIBLINGS + len(d.sources)]
    indexes: list[tuple[str, dict[str, _Fn]]] = []
    for p in files:
        try:
            tree = parse(p)
        except HarnessAuditError:  # a file beside the sources that is not Python: passed over
            tree = None
        if tree is not None:
            indexes.append((str(p), _index(tree)))
    parents = [str(p.resolve().parent) for p in d.sources]
    project = Path(os.path.commonpath(parents)) if parents else None
    trees = _Trees()
    for t in tools:
        if not (t.effect is None or t.known_as) or t.proposed:  # proposed by its reader
            continue
        hit = _definition(t, indexes, project, trees)
        if hit is None:
            continue
        if t.known_as:
            t.effect = None
            t.effect_note = (
                f"the project defines its own {t.known_as!r} ({Path(hit[0]).name}:"
                f"{hit[1].lineno}), not the well-known tool rules/tool_effects.yaml names"
            )
            t.known_as = ""
        got = propose(hit[1], hit[0])
        if got:
            t.proposed = got
