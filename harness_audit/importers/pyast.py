"""Reading Python definitions with ``ast`` only: no import, no exec, no eval, no env vars."""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness_audit.importers.base import fail, read_document
from harness_audit.importers.draft import Draft, DraftAgent, Where

MAX_PY_BYTES = 4 << 20

CLIENT_PREFIX = {
    "ChatOpenAI": "openai/",
    "OpenAI": "openai/",
    "OpenAIChat": "openai/",
    "AzureChatOpenAI": "azure/",
    "AzureOpenAI": "azure/",
    "ChatAnthropic": "anthropic/",
    "Ollama": "ollama/",
    "ChatOllama": "ollama/",
    "OllamaLLM": "ollama/",
    "ChatGoogleGenerativeAI": "gemini/",
    "ChatVertexAI": "vertex_ai/",
    "ChatBedrock": "bedrock/",
    "ChatBedrockConverse": "bedrock/",
    "ChatMistralAI": "mistral/",
    "ChatGroq": "groq/",
    "LiteLlm": "",
    "LLM": "",
    "LitellmModel": "",
    "OpenAIChatCompletionsModel": "",
    "OpenAIResponsesModel": "",
}
"""Model client classes -> the model-string prefix that names their provider."""


MAX_AST_DEPTH = 100
"""A module whose syntax tree is deeper than this is refused, with the line where it gets so
deep: every walk over the tree (``ast.unparse`` takes about three frames a level) then stays
well inside Python's recursion limit. Real definition modules are a few dozen levels deep;
Python's own parser refuses 200 nested brackets, and gives up on deep chains of ``+`` or
attributes itself (:func:`parse` refuses those too)."""

MAX_NAME_HOPS = 32
"""At most this many module-level names are followed from one value (``A = B``, ``B = C``…);
a longer chain, or one that comes back to itself (``M = M``), is refused."""


def parse(path: Path) -> ast.Module:
    """Parse a Python file (bounded: size, and tree depth :data:`MAX_AST_DEPTH`); a syntax
    error, or a tree too deep to walk, is an ImportFormatError with its line."""
    raw = read_document(path, MAX_PY_BYTES)
    try:
        tree = ast.parse(raw, filename=str(path))
    except (SyntaxError, ValueError) as e:
        line = getattr(e, "lineno", None)
        raise fail(str(path), f"not valid Python: {getattr(e, 'msg', e)}", line) from None
    except (RecursionError, MemoryError):
        # Python's parser gives up on a deep chain (a+a+…, a.b.c…) while building the tree
        raise fail(
            str(path),
            "nested too deeply for Python's parser to build its syntax tree",
            _longest_statement(raw),
            expected=f"a module whose expressions nest at most {MAX_AST_DEPTH} levels",
        ) from None
    line = _too_deep(tree)
    if line is not None:
        raise fail(
            str(path),
            f"nested more than {MAX_AST_DEPTH} levels deep (an expression too deep to read)",
            line,
            expected=f"a module whose expressions nest at most {MAX_AST_DEPTH} levels",
        )
    return tree


def _too_deep(tree: ast.AST) -> int | None:
    """The line where ``tree`` first gets deeper than :data:`MAX_AST_DEPTH` (iteratively)."""
    stack: list[tuple[ast.AST, int, int]] = [(tree, 1, 1)]
    while stack:
        node, depth, line = stack.pop()
        line = getattr(node, "lineno", line)
        if depth > MAX_AST_DEPTH:
            return line
        stack.extend((child, depth + 1, line) for child in ast.iter_child_nodes(node))
    return None


def _longest_statement(raw: bytes) -> int | None:
    """The first line of the statement with the most tokens (where the parser gave up), or
    None when the source does not tokenize."""
    best, best_line, count, start = 0, None, 0, 0
    try:
        for tok in tokenize.tokenize(io.BytesIO(raw).readline):
            if not start:
                start = tok.start[0]
            count += 1
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                if count > best:
                    best, best_line = count, start
                count, start = 0, 0
    except (tokenize.TokenError, SyntaxError, ValueError):
        if count > best and start:
            best_line = start  # the statement the tokenizer stopped in
    return best_line


class Env(dict[str, ast.expr]):
    """Module-level ``NAME = value`` assignments of one file (:func:`module_env`), which
    knows its file for the refusals of :func:`resolve_name`."""

    file: str = ""
    wrappers: dict[str, int]
    """Module functions that wrap a tool behind ``interrupt()`` (LangGraph's
    ``add_human_in_the_loop(tool)``): name -> the interrupt's line (set by the reader)."""


def resolve_name(node: ast.AST | None, env: dict[str, ast.expr]) -> ast.AST | None:
    """``node`` with module-level names followed to the value assigned (``A = B``, ``B = "x"``
    gives ``"x"``), at most :data:`MAX_NAME_HOPS` of them; a chain that comes back to itself
    (``M = M``; ``A = B``, ``B = A``) or is longer is refused with its file and line."""
    seen: list[str] = []
    while isinstance(node, ast.Name) and node.id in env:
        if node.id in seen or len(seen) >= MAX_NAME_HOPS:
            chain = " -> ".join(seen[:8]) + (" -> …" if len(seen) > 8 else "")
            what = (
                f"names that refer to each other in a cycle ({chain} -> {node.id})"
                if node.id in seen
                else f"a chain of more than {MAX_NAME_HOPS} names ({chain})"
            )
            raise fail(
                getattr(env, "file", "") or "<python>",
                f"{what}: no run could resolve it",
                getattr(node, "lineno", None),
                expected="a name assigned a value, not (through other names) itself",
            )
        seen.append(node.id)
        node = env[node.id]
    return node


def call_name(node: ast.AST) -> str | None:
    """``Agent`` for ``Agent(...)`` or ``x.Agent(...)``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Subscript):  # Agent[Context](...)
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def kwarg(call: ast.Call, name: str) -> ast.expr | None:
    """A keyword argument's value node."""
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def literal(
    node: ast.AST | None, env: dict[str, ast.expr] | None = None, depth: int = 0
) -> tuple[Any, str]:
    """(value, note) of a constant; ``os.getenv("X", "d")``/``os.environ.get`` give the default
    with a note that it is resolved at run time. Names are looked up in ``env`` (module-level
    assignments). Anything else is (None, "")."""
    if node is None or depth > 5:
        return None, ""
    if isinstance(node, ast.Constant):
        return node.value, ""
    if isinstance(node, ast.Name) and env and node.id in env:
        return literal(env[node.id], env, depth + 1)
    if isinstance(node, ast.JoinedStr):
        return None, "an f-string, resolved at run time"
    if isinstance(node, ast.Call):
        fn = node.func
        dotted = ast.unparse(fn) if isinstance(fn, ast.Attribute | ast.Name) else ""
        if dotted in ("os.getenv", "getenv", "os.environ.get", "environ.get"):
            var = (
                str(node.args[0].value)
                if node.args and isinstance(node.args[0], ast.Constant)
                else "?"
            )
            default = node.args[1] if len(node.args) > 1 else kwarg(node, "default")
            value, _ = literal(default, env, depth + 1)
            return value, f"resolved at run time from ${var}; drafted as its default"
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
        return None, "read from the environment at run time"
    return None, ""


def model_of(node: ast.AST | None, env: dict[str, ast.expr]) -> tuple[str | None, str, int]:
    """(model string, note, line) of an ``llm=``/``model=`` value: a string, an env default, or a
    client call such as ``ChatOpenAI(model="gpt-4o")``/``LLM(model=...)``/``Ollama(model=...)``."""
    node = resolve_name(node, env)
    if node is None:
        return None, "", 0
    value, note = literal(node, env)
    if isinstance(value, str):
        return value, note, getattr(node, "lineno", 0)
    if note:  # the environment at run time, with no default: its variable's name is no model
        return None, note, getattr(node, "lineno", 0)
    if isinstance(node, ast.Call):
        cls = call_name(node) or ""
        if cls == "init_chat_model":
            arg = node.args[0] if node.args else kwarg(node, "model")
            v, n = literal(arg, env)
            prov, _ = literal(kwarg(node, "model_provider"), env)
            if isinstance(v, str):
                return (f"{prov}:{v}" if isinstance(prov, str) else v), n, node.lineno
        for key in ("model", "model_name", "model_id", "deployment_name", "azure_deployment"):
            v, n = literal(kwarg(node, key), env)
            if isinstance(v, str):
                prefix = CLIENT_PREFIX.get(cls, "")
                return (v if v.startswith(prefix) else prefix + v), n, node.lineno
        if node.args:
            v, n = literal(node.args[0], env)
            if isinstance(v, str):
                prefix = CLIENT_PREFIX.get(cls, "")
                return (v if v.startswith(prefix) else prefix + v), n, node.lineno
        return None, note or f"{cls}(...) without a literal model", node.lineno
    return None, note, getattr(node, "lineno", 0)


def module_env(tree: ast.Module, file: str = "") -> Env:
    """Module-level ``NAME = value`` assignments (the last wins, as at run time) of ``file``."""
    env = Env()
    env.file = file
    env.wrappers = {}
    _assign(tree.body, env)
    return env


def _assign(stmts: Iterable[ast.AST], env: Env) -> None:
    """Each ``NAME = value`` (or annotated) of ``stmts`` into ``env``, in order."""
    for stmt in stmts:
        if isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                if isinstance(t, ast.Name):
                    env[t.id] = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value:
            env[stmt.target.id] = stmt.value


def local_env(func: ast.FunctionDef | ast.AsyncFunctionDef, env: Env) -> Env:
    """``env`` with the function's own ``name = value`` assignments over it (the last wins),
    for a value a method builds before it uses it (``search = SerperDevTool()`` then
    ``tools=[search]``)."""
    out = Env(env)
    out.file, out.wrappers = env.file, env.wrappers
    _assign(ast.walk(func), out)
    return out


def tool_names_in(
    node: ast.AST | None, custom: dict[str, str], env: dict[str, ast.expr] | None = None
) -> list[tuple[str, str, int, str]]:
    """(tool name, class or function name, line, dotted name) for each element of a
    ``tools=[...]`` list; a name ``env`` assigns an instance (``web = SerperDevTool()``) is
    that instance's class, as the instance written in the list would be. The dotted name is
    what a ``Class.method`` or ``module.fn`` element says ("" otherwise), to follow it to its
    definition (:func:`~harness_audit.importers.effects.resolve_function`)."""
    out: list[tuple[str, str, int, str]] = []
    if not isinstance(node, ast.List | ast.Tuple):
        return out
    for el in node.elts:
        line = getattr(el, "lineno", 0)
        if isinstance(el, ast.Name) and env is not None and el.id not in custom:
            made = resolve_name(el, env)
            if isinstance(made, ast.Call) and call_name(made) not in (None, "as_tool"):
                el = made
        if isinstance(el, ast.Starred):
            inner = el.value
            call = (
                inner.func.value
                if isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Attribute)
                and isinstance(inner.func.value, ast.Call)
                else inner
            )
            if isinstance(call, ast.Call):
                sel = kwarg(call, "selected_tools")
                if isinstance(sel, ast.List):
                    for s in sel.elts:
                        if isinstance(s, ast.Constant) and isinstance(s.value, str):
                            out.append((s.value, s.value, line, ""))
                    continue
                cls = call_name(call) or "toolkit"
                out.append((cls, cls, line, ""))
            continue
        target = el.func if isinstance(el, ast.Call) else el
        tcls: str | None = (
            call_name(el)
            if isinstance(el, ast.Call)
            else (
                target.attr
                if isinstance(target, ast.Attribute)
                else (target.id if isinstance(target, ast.Name) else None)
            )
        )
        if isinstance(el, ast.Call) and tcls in ("as_tool",):
            continue  # handled by callers that know agents
        if tcls is None:
            continue
        ref = ast.unparse(target) if isinstance(target, ast.Attribute) else ""
        out.append((custom.get(tcls, tcls), tcls, line, ref))
    return out


def custom_tools(tree: ast.Module) -> dict[str, str]:
    """Tool classes and functions defined in the file -> their declared ``name``."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                target = (
                    stmt.target
                    if isinstance(stmt, ast.AnnAssign)
                    else (
                        stmt.targets[0] if isinstance(stmt, ast.Assign) and stmt.targets else None
                    )
                )
                value = stmt.value if isinstance(stmt, ast.AnnAssign | ast.Assign) else None
                if (
                    isinstance(target, ast.Name)
                    and target.id == "name"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    names[node.name] = value.value
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for dec in node.decorator_list:
                if (
                    isinstance(dec, ast.Call)
                    and call_name(dec) in ("tool", "function_tool")
                    and dec.args
                    and isinstance(dec.args[0], ast.Constant)
                    and isinstance(dec.args[0].value, str)
                ):
                    names[node.name] = dec.args[0].value
                elif isinstance(dec, ast.Call) and call_name(dec) in ("tool", "function_tool"):
                    nm = kwarg(dec, "name_override") or kwarg(dec, "name")
                    if isinstance(nm, ast.Constant) and isinstance(nm.value, str):
                        names[node.name] = nm.value
    return names


def static_list(
    node: ast.AST | None, env: dict[str, ast.expr], depth: int = 0
) -> tuple[list[ast.expr], list[tuple[str, int]]]:
    """The elements of a list value the source states (``[a, b]``, a module-level name bound to
    one, ``[*NAMED_LIST]``, ``a + b`` of such lists), and what in it is computed at run time:
    ``(source text, line)`` of each call (``get_tools()``, ``await client.get_tools()``), list
    comprehension, unpacking of a value not stated, or a name the module does not bind. The
    caller drafts those as explicit unknowns (``Draft.unseen_tools`` and the like), never as
    nothing (issue 24, item 1)."""
    if node is None:
        return [], []
    line = getattr(node, "lineno", 0)
    if depth > MAX_NAME_HOPS:
        return [], [(source_text(node), line)]
    if isinstance(node, ast.Name) and node.id in env:
        return static_list(env[node.id], env, depth + 1)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        elts: list[ast.expr] = []
        unseen: list[tuple[str, int]] = []
        for el in node.elts:
            if isinstance(el, ast.Starred):
                e2, u2 = static_list(el.value, env, depth + 1)
                elts.extend(e2)
                unseen.extend((f"*{t}" if t == source_text(el.value) else t, n) for t, n in u2)
            else:
                elts.append(el)
        return elts, unseen
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        e1, u1 = static_list(node.left, env, depth + 1)
        e2, u2 = static_list(node.right, env, depth + 1)
        return e1 + e2, u1 + u2
    if isinstance(node, ast.Constant) and node.value is None:
        return [], []
    return [], [(source_text(node), line)]


def listed_tools(
    d: Draft,
    agent: DraftAgent,
    value: ast.AST | None,
    env: dict[str, ast.expr],
    where: Where,
    key: str = "tools",
) -> list[ast.expr]:
    """The tools ``value`` lists as the source states them (:func:`static_list`); each part
    computed at run time is an unseen tool of ``agent`` (``key=…`` at its line, else
    ``where``'s), never left out."""
    elts, unseen = static_list(value, env)
    for src, ln in unseen:
        d.unseen_tools(agent, f"{key}={src}", Where(where.file, ln or where.line))
    return elts


def source_text(node: ast.AST) -> str:
    """A short source text of ``node`` for a note."""
    try:
        text = ast.unparse(node)
    except (ValueError, RecursionError, AttributeError):
        text = type(node).__name__
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def stated_tools(
    node: ast.expr | None, env: dict[str, ast.expr]
) -> tuple[ast.List, list[tuple[str, int]]]:
    """A ``tools=`` value as the list it states, for :func:`tool_names_in` (a toolkit's
    ``*Kit(...).get_tools()`` stays one stated entry, as that function reads it), and what in
    it is computed at run time (:func:`static_list`)."""
    if isinstance(node, ast.Name) and node.id in env:
        node = resolve_name(node, env)  # type: ignore[assignment]
    if isinstance(node, ast.List | ast.Tuple):
        keep: list[ast.expr] = []
        unseen: list[tuple[str, int]] = []
        for el in node.elts:
            if isinstance(el, ast.Starred) and not isinstance(el.value, ast.Call):
                e, u = static_list(el.value, env)
                keep.extend(e)
                unseen.extend(u)
            else:
                keep.append(el)
        return ast.List(keep, ast.Load()), unseen
    e, u = static_list(node, env)
    return ast.List(e, ast.Load()), u


# -- names imported from other modules of the project (issue 24: tools and agents by a dotted name)

MAX_PACKAGE_DEPTH = 16
"""At most this many package folders (``__init__.py``) are climbed to find an import's root."""


def imports(tree: ast.Module) -> dict[str, tuple[str, int, str | None]]:
    """Module-level imports: local name -> (module, level, name imported from it or None).
    ``from .tools import notes`` gives ``notes -> ("tools", 1, "notes")``; ``import a.b as c``
    gives ``c -> ("a.b", 0, None)`` (``import a.b`` binds ``a -> ("a", 0, None)``)."""
    out: dict[str, tuple[str, int, str | None]] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom):
            for al in stmt.names:
                if al.name != "*":
                    out[al.asname or al.name] = (stmt.module or "", stmt.level, al.name)
        elif isinstance(stmt, ast.Import):
            for al in stmt.names:
                if al.asname:
                    out[al.asname] = (al.name, 0, None)
                else:
                    head = al.name.split(".", 1)[0]
                    out[head] = (head, 0, None)
    return out


def import_roots(importer: Path, project: Path | None = None) -> list[Path]:
    """Folders an absolute import of ``importer`` is looked up from: the folder above its
    outermost package (climbing ``__init__.py`` folders, bounded), its own folder, and the
    project folder when given (and its parent: a project given as its package folder)."""
    here = importer.parent
    top = here
    for _ in range(MAX_PACKAGE_DEPTH):
        if not (top / "__init__.py").is_file() or top.parent == top:
            break
        top = top.parent
    roots = [top, here]
    if project is not None:
        roots += [project, project.parent]
    return list(dict.fromkeys(roots))


def module_file(
    importer: Path, module: str, level: int, project: Path | None = None
) -> Path | None:
    """The file of ``module`` imported from ``importer`` (``level`` dots), as far as it is in
    the project's folders: ``a/b.py`` or ``a/b/__init__.py``; None when not found there."""
    parts = [p for p in module.split(".") if p]
    if level > 0:
        base = importer.parent
        for _ in range(level - 1):
            base = base.parent
        bases = [base]
    else:
        bases = import_roots(importer, project)
    for base in bases:
        stem = base.joinpath(*parts) if parts else base
        for cand in (stem.with_suffix(".py") if parts else None, stem / "__init__.py"):
            if cand is not None and cand.is_file():
                return cand
    return None
