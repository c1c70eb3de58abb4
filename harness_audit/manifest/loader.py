"""Find, parse and validate pipeline manifests into :class:`Pipeline` values.

Every problem is reported with file, line and column; all problems of a manifest are collected
before raising, and :func:`load_all` collects them across manifests.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, cast

import jsonschema

from harness_audit._resources import load_schema
from harness_audit.errors import (
    Diagnostic,
    HarnessAuditError,
    InputError,
    ManifestError,
    UsageError,
)
from harness_audit.manifest.model import (
    Access,
    Agent,
    AiActClass,
    AiActRole,
    Budget,
    Compliance,
    HumanGate,
    Model,
    Pipeline,
    SharedDependency,
    Slo,
    Stage,
    Tool,
    TrailConfig,
)
from harness_audit.manifest.yamlsafe import DEFAULT_MAX_BYTES, Path_, YamlDocument, load_yaml

MANIFEST_NAMES = ("harness.yaml", "harness.yml")
MANIFEST_SUFFIXES = (".harness.yaml", ".harness.yml")
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox"}


def is_manifest_name(name: str) -> bool:
    """Whether a file name is a manifest's: harness.yaml or .yml, or *.harness.yaml or .yml."""
    return name in MANIFEST_NAMES or name.endswith(MANIFEST_SUFFIXES)


def discover(paths: Sequence[Path]) -> list[Path]:
    """Manifests named by ``paths``: files as given, directories searched by name.

    Raises :class:`InputError` listing every path that is missing or holds no manifest.
    """
    found: list[Path] = []
    problems: list[Diagnostic] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            before = len(problems)
            hits = sorted(_walk(path, problems))
            if not hits and len(problems) == before:
                from harness_audit.foreign import folder_holds

                holds = folder_holds(path)
                problems.append(
                    Diagnostic(
                        str(path),
                        "no pipeline manifest found in this directory"
                        + (f"; {holds}" if holds else ""),
                        expected="harness.yaml, harness.yml, *.harness.yaml or *.harness.yml",
                    )
                )
            found.extend(hits)
        elif path.exists():
            problems.append(Diagnostic(str(path), "is neither a file nor a directory"))
        else:
            problems.append(Diagnostic(str(path), "no such file or directory"))
    if problems:
        raise InputError(problems)
    seen: set[Path] = set()
    unique = []
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _walk(root: Path, problems: list[Diagnostic] | None = None) -> Iterator[Path]:
    """Manifests under ``root`` by name, without following symlinked folders.

    Iterative, so a folder tree deeper than Python's recursion limit is walked too; a folder
    that cannot be listed is a problem (added to ``problems``), not a crash.
    """
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError as e:
            if problems is not None:
                problems.append(Diagnostic(str(folder), f"cannot be listed: {e.strerror or e}"))
            continue
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                if entry.name not in _SKIP_DIRS and not entry.name.startswith("."):
                    stack.append(entry)
            elif entry.is_file() and is_manifest_name(entry.name):
                yield entry


@cache
def pipeline_schema() -> dict[str, Any]:
    """The manifest's JSON Schema, ``schemas/pipeline.schema.json``, read once."""
    return load_schema("pipeline.schema.json")


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = pipeline_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


@cache
def _fast_validator() -> Callable[[Any], Any]:
    """The same schema compiled to Python code: the fast check of the valid path (its speed
    against jsonschema: bench/README.md, Scan)."""
    import fastjsonschema

    return cast(Callable[[Any], Any], fastjsonschema.compile(pipeline_schema()))


def load_manifest(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Pipeline:
    """Load and validate one manifest; raise :class:`ManifestError` with every problem, or a
    :class:`UsageError` naming the foreign format (and the command that converts it) of a
    file that is a known framework definition instead."""
    try:
        return _load_manifest(path, max_bytes)
    except ManifestError as e:
        from harness_audit.foreign import explain_foreign_manifest

        explain_foreign_manifest(path, e)
        raise


def _load_manifest(path: Path, max_bytes: int) -> Pipeline:
    doc = load_yaml(path, max_bytes=max_bytes)
    if not isinstance(doc.data, dict):
        m = doc.mark(())
        raise ManifestError(
            Diagnostic(
                doc.file,
                f"the document is a {_type_name(doc.data)}",
                m.line if m else 1,
                m.column if m else 1,
                "a mapping with apiVersion, kind, metadata and agents",
            )
        )
    problems = _schema_problems(doc)
    if not problems:
        problems = _reference_problems(doc)
    if problems:
        raise ManifestError(sorted(problems, key=lambda d: (d.line or 0, d.column or 0)))
    return _build(doc, doc.sha256)


def load_all(paths: Iterable[Path], *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Pipeline]:
    """Load every manifest; raise one error carrying the problems of all broken ones."""
    pipelines: list[Pipeline] = []
    problems: list[Diagnostic] = []
    names: dict[str, str] = {}
    for path in paths:
        try:
            p = load_manifest(path, max_bytes=max_bytes)
        except UsageError:
            raise  # a foreign file: named alone, with the command that converts it
        except HarnessAuditError as e:
            problems.extend(e.diagnostics())
            continue
        if p.name in names:
            problems.append(
                Diagnostic(
                    p.file,
                    f"pipeline name {p.name!r} is already used by {names[p.name]}",
                    p.lines.get("name"),
                    expected="a unique metadata.name",
                )
            )
            continue
        names[p.name] = p.file
        pipelines.append(p)
    if problems:
        raise ManifestError(problems)
    return pipelines


# --- schema problems -------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "mapping",
    }.get(type(value), type(value).__name__)


def _describe(value: Any) -> str:
    if isinstance(value, dict | list):
        return f"a {_type_name(value)}"
    text = json.dumps(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{_type_name(value)} {text}"


def _path_text(doc: YamlDocument, path: Path_) -> str:
    out = ""
    data: Any = doc.data
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            data = data[part] if isinstance(data, list) and part < len(data) else None
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                out += f" ({data['id']})"
        else:
            out += f".{part}" if out else str(part)
            data = data.get(part) if isinstance(data, dict) else None
    return out or "the document"


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _schema_problems(doc: YamlDocument) -> list[Diagnostic]:
    import fastjsonschema

    try:
        _fast_validator()(doc.data)
        return []
    except fastjsonschema.JsonSchemaException:
        pass  # explain every problem with the reference validator, positions and all
    problems: list[Diagnostic] = []
    for error in _validator().iter_errors(doc.data):
        problems.extend(_explain(doc, error))
    return problems


def _diag(
    doc: YamlDocument, path: Path_, message: str, expected: str | None = None, key: bool = False
) -> Diagnostic:
    m = doc.key_mark(path) if key else doc.mark(path)
    return Diagnostic(doc.file, message, m.line if m else None, m.column if m else None, expected)


def _explain(doc: YamlDocument, error: jsonschema.ValidationError) -> list[Diagnostic]:
    path: Path_ = tuple(error.absolute_path)
    where = _path_text(doc, path)
    v = error.validator
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if v == "additionalProperties" and isinstance(instance, dict):
        known = set(schema.get("properties", {}))
        out = []
        for key in instance:
            if key in known or str(key).startswith("x-"):
                continue
            msg = f"unknown key {key!r} in {where}{_suggest(str(key), known)}"
            out.append(_diag(doc, (*path, key), msg, "one of " + ", ".join(sorted(known)), True))
        return out
    if v == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else error.message
        return [_diag(doc, path, f"{where} is missing the required key {missing!r}")]
    if v == "oneOf" and isinstance(instance, dict) and error.context:
        # the only oneOf is model: "human" or a mapping; explain against the mapping branch
        branch = [e for e in error.context if e.relative_schema_path[0] == 1]
        out = []
        for sub in branch:
            out.extend(_explain(doc, sub))
        if out:
            return out
    if v == "oneOf":
        return [
            _diag(
                doc,
                path,
                f"{where} is {_describe(instance)}",
                "the word 'human' or a mapping {provider, family, name}",
            )
        ]
    if v == "anyOf":  # role: one word or a list of them; the schema describes what it wants
        return [_diag(doc, path, f"{where} is {_describe(instance)}", schema.get("description"))]
    if v == "type":
        return [_diag(doc, path, f"{where} is {_describe(instance)}", f"a {error.validator_value}")]
    if v == "enum":
        options = [str(o) for o in cast(list[Any], error.validator_value)]
        hint = _suggest(str(instance), options) if isinstance(instance, str) else ""
        return [
            _diag(
                doc, path, f"{where} is {_describe(instance)}{hint}", "one of " + ", ".join(options)
            )
        ]
    if v == "const":
        return [
            _diag(doc, path, f"{where} is {_describe(instance)}", json.dumps(error.validator_value))
        ]
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {
            "minimum": ">=",
            "maximum": "<=",
            "exclusiveMinimum": ">",
            "exclusiveMaximum": "<",
        }[str(v)]
        return [
            _diag(
                doc,
                path,
                f"{where} is {_describe(instance)}",
                f"a value {bound} {error.validator_value}",
            )
        ]
    if v == "uniqueItems":
        return [_diag(doc, path, f"{where} lists the same item twice", "each item once")]
    if v == "minItems":
        return [_diag(doc, path, f"{where} is empty", f"at least {error.validator_value} item(s)")]
    if v == "pattern":
        return [
            _diag(
                doc,
                path,
                f"{where} is {_describe(instance)}",
                f"text matching {error.validator_value}",
            )
        ]
    return [_diag(doc, path, f"{where}: {error.message}")]


# --- references and cycles -------------------------------------------------------------------


def _reference_problems(doc: YamlDocument) -> list[Diagnostic]:
    data = doc.data
    agents: list[dict[str, Any]] = data["agents"]
    problems: list[Diagnostic] = []
    ids: dict[str, int] = {}
    for i, a in enumerate(agents):
        if a["id"] in ids:
            problems.append(
                _diag(
                    doc,
                    ("agents", i, "id"),
                    f"agent id {a['id']!r} is defined twice (first as agents[{ids[a['id']]}])",
                    "unique agent ids",
                )
            )
        else:
            ids[a["id"]] = i

    def check_refs(refs: list[str], path: Path_, what: str, self_id: str | None = None) -> None:
        for j, ref in enumerate(refs):
            if ref not in ids:
                problems.append(
                    _diag(
                        doc,
                        (*path, j),
                        f"{_path_text(doc, path)} names agent {ref!r}, "
                        f"which the manifest does not define{_suggest(ref, ids)}",
                        f"the id of an agent in this manifest ({what})",
                    )
                )
            elif self_id is not None and ref == self_id:
                problems.append(
                    _diag(
                        doc,
                        (*path, j),
                        f"{_path_text(doc, path)}: agent {ref!r} names itself",
                        f"another agent ({what})",
                    )
                )

    for i, a in enumerate(agents):
        base: Path_ = ("agents", i)
        for key in ("depends_on", "verifies", "spawns"):
            check_refs(a.get(key, []), (*base, key), key)
        stage = a.get("stage", {})
        check_refs(stage.get("fallback", []), (*base, "stage", "fallback"), "fallback", a["id"])
        replicas, quorum = stage.get("replicas"), stage.get("quorum")
        if quorum is not None and quorum > (replicas or 1):
            problems.append(
                _diag(
                    doc,
                    (*base, "stage", "quorum"),
                    f"{_path_text(doc, (*base, 'stage', 'quorum'))} is {quorum} "
                    f"but there are only {replicas or 1} replicas",
                    "quorum <= replicas",
                )
            )
        for t, tool in enumerate(a.get("tools", [])):
            check_refs(
                tool.get("verified_by", []), (*base, "tools", t, "verified_by"), "verified_by"
            )
    for d, dep in enumerate(data.get("shared_dependencies", [])):
        check_refs(dep.get("used_by", []), ("shared_dependencies", d, "used_by"), "used_by")
    problems.extend(_compliance_problems(doc))
    if not problems:
        problems.extend(_cycle_problems(doc, agents))
    return problems


def _compliance_problems(doc: YamlDocument) -> list[Diagnostic]:
    """A high-risk system names the user's role and its Annex III point: without them, which
    obligations apply cannot be told."""
    act = doc.data.get("compliance", {}).get("eu_ai_act")
    if not act or act["risk_class"] != "high":
        return []
    base: Path_ = ("compliance", "eu_ai_act")
    where = _path_text(doc, base)
    return [
        _diag(doc, base, f"{where} declares risk_class: high but no {key}", expected, key=True)
        for key, expected in (
            ("role", "role: provider or deployer (or both, as a list)"),
            ("annex_iii", "annex_iii: the Annex III point that makes it high-risk, e.g. 5(b)"),
        )
        if key not in act
    ]


def _cycle_problems(doc: YamlDocument, agents: list[dict[str, Any]]) -> list[Diagnostic]:
    import networkx as nx

    index = {a["id"]: i for i, a in enumerate(agents)}
    problems = []
    for key in ("depends_on", "spawns", "fallback"):
        g = nx.DiGraph()
        g.add_nodes_from(index)
        for a in agents:
            targets = a.get("stage", {}).get(key, []) if key == "fallback" else a.get(key, [])
            g.add_edges_from((a["id"], other) for other in targets)
        for component in nx.strongly_connected_components(g):
            first = min(component, key=lambda n: index[n])
            if len(component) == 1 and not g.has_edge(first, first):
                continue
            # a fallback loop never ends; other loops are allowed when every agent is bounded
            unbounded = sorted(
                (
                    n
                    for n in component
                    if key == "fallback" or "max_iterations" not in agents[index[n]]
                ),
                key=lambda n: index[n],
            )
            if not unbounded:
                continue
            cycle = [u for u, _ in nx.find_cycle(g.subgraph(component), source=first)]
            loop = " -> ".join([*cycle, cycle[0]])
            where = ("stage", "fallback") if key == "fallback" else (key,)
            problems.append(
                _diag(
                    doc,
                    ("agents", index[first], *where),
                    f"cycle in {key}: {loop}; agents without max_iterations: "
                    + ", ".join(unbounded),
                    "no cycle, or max_iterations on every agent of the cycle",
                )
            )
    return problems


# --- building the model ----------------------------------------------------------------------


def _line(doc: YamlDocument, path: Path_) -> int:
    m = doc.key_mark(path)
    return m.line if m else 0


def _budget(doc: YamlDocument, raw: dict[str, Any] | None, path: Path_) -> Budget | None:
    if raw is None:
        return None
    return Budget(
        raw.get("max_cost_usd_per_run"),
        raw.get("max_spawn_depth"),
        raw.get("enforced_by", "none"),
        _line(doc, path),
    )


def _agent(doc: YamlDocument, i: int, a: dict[str, Any]) -> Agent:
    base: Path_ = ("agents", i)
    model_raw = a.get("model")
    model = None
    if isinstance(model_raw, dict):
        model = Model(model_raw["provider"], model_raw["family"], model_raw.get("name"))
    stage = None
    if "stage" in a:
        s = a["stage"]
        stage = Stage(
            s.get("reliability"),
            s.get("retries", 0),
            s.get("timeout_s"),
            tuple(s.get("fallback", [])),
            s.get("coverage", 1.0),
            s.get("replicas"),
            s.get("quorum"),
            _line(doc, (*base, "stage")),
        )
    access = None
    if "access" in a:
        ac = a["access"]
        access = Access(
            ac.get("enforced_at", "none"),
            tuple(ac.get("scopes", [])),
            _line(doc, (*base, "access")),
        )
    tools = tuple(
        Tool(
            t["name"],
            t["effect"],
            t.get("scope"),
            t.get("target"),
            tuple(t.get("verified_by", [])),
            HumanGate(
                bool(t.get("human_gate", {}).get("required", False)),
                tuple(t.get("human_gate", {}).get("approvers", [])),
            ),
            _line(doc, (*base, "tools", j)),
        )
        for j, t in enumerate(a.get("tools", []))
    )
    return Agent(
        id=a["id"],
        line=_line(doc, base),
        role=a.get("role"),
        model=model,
        human=model_raw == "human",
        depends_on=tuple(a.get("depends_on", [])),
        verifies=tuple(a.get("verifies", [])),
        spawns=tuple(a.get("spawns", [])),
        max_iterations=a.get("max_iterations"),
        untrusted_input=a.get("untrusted_input", False),
        stage=stage,
        access=access,
        budget=_budget(doc, a.get("budget"), (*base, "budget")),
        tools=tools,
        in_trail=a.get("trail", True),
    )


def _build(doc: YamlDocument, sha256: str) -> Pipeline:
    d = doc.data
    meta = d["metadata"]
    slo_raw = d.get("slo", {})
    trail_raw = d.get("trail")
    trail = TrailConfig()
    if trail_raw is not None:
        trail = TrailConfig(
            trail_raw.get("enabled", False),
            trail_raw.get("path"),
            trail_raw.get("integrity", "none"),
            trail_raw.get("public_key"),
            trail_raw.get("retention_days"),
            _line(doc, ("trail",)),
        )
    lines = {k: _line(doc, (k,)) for k in d}
    lines["name"] = _line(doc, ("metadata", "name"))
    return Pipeline(
        name=meta["name"],
        file=doc.file,
        agents=tuple(_agent(doc, i, a) for i, a in enumerate(d["agents"])),
        owner=meta.get("owner"),
        description=meta.get("description"),
        data_classes=tuple(meta.get("data_classes", [])),
        slo=Slo(slo_raw.get("target"), slo_raw.get("window_days", 30.0), _line(doc, ("slo",))),
        budget=_budget(doc, d.get("budget"), ("budget",)),
        trail=trail,
        shared_dependencies=tuple(
            SharedDependency(
                s["name"],
                s["availability"],
                tuple(s.get("used_by", [])),
                _line(doc, ("shared_dependencies", i)),
            )
            for i, s in enumerate(d.get("shared_dependencies", []))
        ),
        compliance=_compliance(doc, d.get("compliance")),
        sha256=sha256,
        lines=lines,
    )


def _compliance(doc: YamlDocument, raw: dict[str, Any] | None) -> Compliance:
    if raw is None:
        return Compliance()
    act = raw.get("eu_ai_act")
    cls = None
    if act is not None:
        role = act.get("role", [])
        cls = AiActClass(
            act["risk_class"],
            tuple(cast("list[AiActRole]", [role] if isinstance(role, str) else role)),
            act.get("annex_iii"),
            _line(doc, ("compliance", "eu_ai_act")),
        )
    return Compliance(tuple(raw.get("tsc", [])), cls, _line(doc, ("compliance",)))
