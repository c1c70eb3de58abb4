"""Tool effects PROPOSED from the tool's own code (issue 24, item 4), never asserted.

Where a drafted tool's function is in the files ``init`` read, or in a Python file beside one of
them, its calls are matched against ``rules/tool_code_effects.yaml`` (HTTP verbs, SQL verbs in
the statement a call runs, SDK methods such as ``messages().trash`` or ``chat_postMessage``, file
writes and deletions, subprocesses); the strongest effect found is written as a comment beside
the tool's drafted effect, with the call and its line. The drafted effect stays what the reader
made it (unknown: destructive with a TODO) until a person declares it.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import Any

from harness_audit._resources import load_rules
from harness_audit.errors import HarnessAuditError
from harness_audit.importers.draft import Draft
from harness_audit.importers.pyast import call_name, parse

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


def propose(fn: ast.AST, file: str) -> str | None:
    """The effect a function's calls show, as ``external, from its code: requests.post at
    tools.py:12 (source)``; None when no call matches."""
    t = table()
    best: tuple[int, str, str, int, str] | None = None  # rank, effect, what, line, source
    hits = 0
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
        if found is None:
            continue
        hits += 1
        rank = RANK[found[0]]
        if best is None or rank > best[0]:
            best = (rank, found[0], found[1], node.lineno, found[2])
    if best is None:
        return None
    more = f"; {hits - 1} more matching call(s)" if hits > 1 else ""
    return (
        f"{best[1]}, from its code: {best[2]} at {Path(file).name}:{best[3]} "
        f"({best[4]}){more}; declare it to use it"
    )


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


def propose_all(d: Draft) -> None:
    """Propose an effect for every drafted tool whose effect is unknown and whose function is
    in a Python source of the draft or beside one (at most :data:`MAX_SIBLINGS` files); files
    that do not parse are passed over."""
    unknown = [t for a in d.agents for t in a.tools if t.effect is None]
    if not unknown:
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
    for t in unknown:
        own = [ix for ix in indexes if ix[0] == t.where.file]
        for file, ix in [*own, *(x for x in indexes if x not in own)]:
            fn = ix.get(t.name)
            if fn is not None:
                got = propose(fn, file)
                if got:
                    t.proposed = got
                break
