"""``harness-audit init --check MANIFEST [PATH...]``: the drift gate (issue 24, item 5).

Re-reads the framework definitions (the ``PATH``s, else the sources the draft recorded in
``x-import.sources``) and compares what the code states with what the manifest declares: every
agent, tool, edge (``depends_on``, ``spawns``, ``verifies``), model and human gate the code has
and the manifest does not, and every one the manifest declares that the code no longer has, each
with the code's file and line or the manifest's line. What the code computes at run time (the
``unknown`` tools and placeholder agents of a draft) cannot be compared and is listed apart; a
model or gate the code does not state is the manifest's to declare and is not drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness_audit.importers.draft import Draft, DraftAgent, Where
from harness_audit.manifest.model import Agent, Pipeline


@dataclass
class Drift:
    """One difference between the code and the manifest."""

    kind: str  # agent | tool | edge | model | gate
    text: str
    where: str  # FILE:LINE of the code, or of the manifest

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.text}"


def sources_of(manifest: Path) -> tuple[list[Path], str]:
    """The definition files a draft recorded (``x-import.sources``), found as written or beside
    the manifest, and its ``x-import.format`` (``auto`` if absent)."""
    from harness_audit.manifest.yamlsafe import load_yaml

    data = load_yaml(manifest).data
    xi = data.get("x-import") if isinstance(data, dict) else None
    files: list[Path] = []
    fmt = "auto"
    if isinstance(xi, dict):
        if isinstance(xi.get("format"), str):
            fmt = xi["format"]
        for s in xi.get("sources") or []:
            f = s.get("file") if isinstance(s, dict) else None
            if isinstance(f, str):
                p = Path(f)
                if not p.exists() and not p.is_absolute() and (manifest.parent / p).exists():
                    p = manifest.parent / p
                files.append(p)
    return files, fmt


def _at(w: Where) -> str:
    return f"{w.file}:{w.line}"


def compare(d: Draft, m: Pipeline) -> tuple[list[Drift], list[str]]:
    """(the drift between the code's draft ``d`` and the manifest ``m``, what could not be
    compared: the code's run-time lists)."""
    out: list[Drift] = []
    mf = m.file
    code = {a.id: a for a in d.agents if not a.placeholder}
    declared = {a.id: a for a in m.agents}
    for aid, a in code.items():
        if aid not in declared:
            out.append(
                Drift(
                    "agent",
                    f"the code has agent {aid!r}, the manifest does not declare it",
                    _at(a.where),
                )
            )
    placeholders = [a.id for a in d.agents if a.placeholder]
    skipped: list[str] = []
    for aid, ma in declared.items():
        if aid not in code and (placeholders or aid.startswith("unknown_agents_")):
            # the code computes agents at run time: a declared agent may be one of them
            skipped.append(
                f"{mf}:{ma.line}: agent {aid!r} may be one the code computes at run time"
            )
        elif aid not in code:
            out.append(
                Drift(
                    "agent",
                    f"the manifest declares agent {aid!r}, the code no longer has it",
                    f"{mf}:{ma.line}",
                )
            )
    for aid in sorted(set(code) & set(declared), key=list(code).index):
        _agent(code[aid], declared[aid], set(code), mf, out)
    return out, [*d.unseen, *skipped]


def _agent(a: DraftAgent, ma: Agent, ids: set[str], mf: str, out: list[Drift]) -> None:
    from harness_audit.importers.tables import resolve_model

    # model: drift when the code states one the manifest does not declare (or another)
    if a.human and not ma.human:
        out.append(
            Drift(
                "model",
                f"agent {a.id!r} is a human in the code, a model in the manifest",
                _at(a.where),
            )
        )
    elif a.model and not a.human:
        name = resolve_model(a.model).name
        got = ma.model.name if ma.model else None
        if got != name:
            out.append(
                Drift(
                    "model",
                    f"agent {a.id!r}: the code states model {name!r}, the manifest declares "
                    + (repr(got) if got else "none"),
                    _at(a.model_where or a.where),
                )
            )
    # tools (what the code computes at run time is not compared)
    code_tools = {t.name: t for t in a.tools if not t.unseen}
    m_tools = {t.name: t for t in ma.tools}
    for name, t in code_tools.items():
        if name not in m_tools:
            out.append(
                Drift(
                    "tool",
                    f"agent {a.id!r}: the code has tool {name!r}, the manifest does not declare it",
                    _at(t.where),
                )
            )
        elif t.gate and not m_tools[name].human_gate.required:
            out.append(
                Drift(
                    "gate",
                    f"agent {a.id!r}: the code gates tool {name!r} "
                    f"({t.gate_note or 'human approval'}), the manifest declares no gate",
                    _at(t.gate_where or t.where),
                )
            )
        elif not t.gate and m_tools[name].human_gate.required:
            out.append(
                Drift(
                    "gate",
                    f"agent {a.id!r}: the manifest declares a human gate "
                    f"before tool {name!r}, the code has none",
                    f"{mf}:{m_tools[name].line or ma.line}",
                )
            )
    has_unseen = any(t.unseen for t in a.tools)
    for name, mt in m_tools.items():
        if name not in code_tools and not has_unseen:
            out.append(
                Drift(
                    "tool",
                    f"agent {a.id!r}: the manifest declares tool {name!r}, "
                    "the code no longer has it",
                    f"{mf}:{mt.line or ma.line}",
                )
            )
    # edges
    for key in ("depends_on", "spawns", "verifies"):
        edges: dict[str, Where] = getattr(a, key)
        code_edges = {t: w for t, w in edges.items() if t in ids and t != a.id}
        m_edges = set(getattr(ma, key))
        for tgt, w in code_edges.items():
            if tgt not in m_edges:
                out.append(
                    Drift(
                        "edge",
                        f"agent {a.id!r} {key} {tgt!r} in the code, not in the manifest",
                        _at(w),
                    )
                )
        spawns_unseen = key == "spawns" and any(t not in ids for t in edges)
        for tgt in sorted(m_edges - set(code_edges)):
            if spawns_unseen:
                continue
            out.append(
                Drift(
                    "edge",
                    f"agent {a.id!r} {key} {tgt!r} in the manifest, the code no longer has it",
                    f"{mf}:{ma.line}",
                )
            )


def check(manifest: Path, paths: list[Path], fmt: str = "auto") -> tuple[list[Drift], list[str]]:
    """Re-read the definitions and compare them with ``manifest`` (see :func:`compare`)."""
    from harness_audit.errors import Diagnostic, UsageError
    from harness_audit.importers import read_definitions
    from harness_audit.importers.registry import DEFINITION_FORMATS
    from harness_audit.manifest import load_manifest

    m = load_manifest(manifest)
    recorded, recorded_fmt = sources_of(manifest)
    if not paths:
        missing = [p for p in recorded if not p.exists()]
        if not recorded or missing:
            raise UsageError(
                Diagnostic(
                    str(manifest),
                    "names no definition files to re-read"
                    if not recorded
                    else f"its recorded source {missing[0]} does not exist",
                    expected="init --check MANIFEST PATH... (the framework definitions)",
                )
            )
        paths = recorded
    if fmt == "auto" and recorded_fmt in DEFINITION_FORMATS:
        fmt = recorded_fmt
    return compare(read_definitions(paths, fmt), m)
