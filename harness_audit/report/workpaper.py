"""The evidence pack as a work paper (issue 16): each control of each pipeline with its
objective, how the manifest enforces it, its population and the re-performable sample drawn from
it, the tests performed, the exceptions and a conclusion; the criteria matrix per pipeline and
across them (controls, deviations and evidence per criterion, never a grade); replay excerpts
of the exceptions; and what the pack is not.

Nothing here prints; every string from a manifest or trail stays text (the template escapes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness_audit.checks.catalogue import FRAMEWORK_ORDER, load_controls, load_sampling
from harness_audit.checks.checks import CHECKS
from harness_audit.checks.registry import REGISTRY, enforcement_text
from harness_audit.evidence.model import MAX_EXCEPTIONS_SHOWN
from harness_audit.evidence.population import (
    METHOD,
    PACK_FOLDER,
    Sample,
    control_key,
    csv_name,
)
from harness_audit.evidence.sampling import Drawn, control_nature
from harness_audit.manifest.model import Agent, Pipeline
from harness_audit.report.inert import csv_text

if TYPE_CHECKING:
    from harness_audit.checks.assessment import Assessment, PipelineResult
    from harness_audit.evidence.model import Control, Location

MAX_REPLAY_RUNS = 40
"""Runs whose causal chain is excerpted in the pack (the first exceptions' runs)."""
EXCERPT_AROUND = 3
"""Events of the run shown before and after the exception, beside its causal chain."""
PDF_EXCEPTIONS_SHOWN = 10
"""Exceptions evidence.pdf lists per control of a pipeline (and findings per rule of it): the
first in trail order, as the judging pass met them, which are also the first that
findings.json lists and evidence.html shows, and whose runs it excerpts; then one line, "N
more", naming the pack file that lists the rest with its SHA-256. Trail order, not the
sampled ones: a sample row is an exception only by chance, and the first ones continue in the
full listing where the PDF stops. The PDF is bounded by pipelines x controls, never by runs,
exceptions or events (issue 28, item 3)."""


def enforcement(p: Pipeline, a: Agent, check: str) -> str:
    """How the manifest says the control is enforced for this agent, in one line (the text
    is the check's own, from its module: :func:`harness_audit.checks.registry.enforcement`)."""
    return enforcement_text(check, p, a)


def rows_check(check: str) -> bool:
    """Whether the population of ``check`` is events written as CSV rows (a sample is drawn
    from them); the others are judged on their whole population (the verification report,
    the stage's observed attempts)."""
    return REGISTRY[check].rows


def _clean_conclusion(sample: Sample | None, ctl: Control | None, sampled: bool) -> str:
    """The conclusion on a control judged ``pass``: "no exceptions noted" only on a population
    that is not empty and, for a sampled control, a sample that was drawn (the pass itself
    already rests on a pinned key and a covered period); else "not tested" with the reason."""
    population = sample.population if sample is not None else (ctl.operated if ctl else 0)
    if not population:
        return "not tested: the population is empty"
    if sampled and (sample is None or not sample.rows):
        return "not tested: no sample was drawn from the population"
    return "no exceptions noted"


def _loc_key(loc: Location) -> tuple[str, str, str]:
    return (str(loc.seq), csv_text(loc.file), str(loc.line))


def control_entry(
    result: PipelineResult, a: Any, check: str, folder: Path | None, drawn: Drawn, seed: int
) -> dict[str, Any]:
    """One control of one agent as the work paper shows it (see the module doc); ``drawn``:
    the pipeline's samples (:func:`~harness_audit.evidence.sampling.draw_samples`)."""
    p, e = result.pipeline, result.evidence
    entry = load_controls()[check]
    nature = control_nature(p, a.agent, check, entry)
    r = a.checks[check]
    ctl: Control | None = e.controls.get((a.id, check)) if e else None
    csv_path = folder / csv_name(p.name, a.id, check) if folder else None
    frequency = entry["frequency"]
    size, rationale, sample = drawn.get(control_key(a.id, check), (0, "", None))
    failed = {_loc_key(x) for x in ctl.failures} if ctl else set()
    deviations = [
        row
        for row in (sample.rows if sample else [])
        if (row["seq"], row["file"], row["line"]) in failed
    ]
    tests = list(entry["tests"]) if e is not None else [entry["tests"][0]]
    if r.status == "n/a":
        conclusion, exceptions = "not applicable", 0
    elif r.status == "fail":
        exceptions = ctl.failed if ctl and ctl.failed else 1
        conclusion = f"exceptions noted: {exceptions:,}"
    elif r.status == "not_proven":
        exceptions = 0
        conclusion = f"not tested: {r.reason.partition('; not proven: ')[2]}"
    elif e is None:
        exceptions = 0
        conclusion = "not tested: a design review of the manifest, no trails"
    else:
        exceptions = 0
        conclusion = _clean_conclusion(sample, ctl, csv_path is not None and rows_check(check))
    return {
        "agent": a.id,
        "role": a.agent.role,
        "check": check,
        "control": control_key(a.id, check),
        "objective": entry["objective"],
        "enforced": enforcement(p, a.agent, check),
        "frequency": frequency,
        "nature": nature,
        "type": entry["type"],
        "tests": tests,
        "population_words": entry["population"],
        "status": r.status,
        "reason": r.reason,
        "population": sample.population if sample else (ctl.operated if ctl else None),
        "csv": f"{PACK_FOLDER}/{csv_path.name}" if sample and csv_path else None,
        "sample": None
        if sample is None
        else {
            "method": "stratified by calendar month (UTC), largest remainder, random.Random",
            "seed": seed,
            "size": size,
            "rationale": rationale,
            "rows": sample.rows,
            "months": {m: {"rows": n, "sampled": k} for m, (n, k) in sample.months.items()},
        },
        "deviations": deviations,
        "exceptions": exceptions,
        "conclusion": conclusion,
        "located": ctl.failures_located if ctl else 0,
        "kept": len(ctl.failures) if ctl else 0,
        "shown": list(ctl.failures[:MAX_EXCEPTIONS_SHOWN]) if ctl else [],
    }


MATRIX_DEVIATIONS_SHOWN = 3
"""Findings shown per criterion and pipeline in the matrix (findings.json and the findings
section hold them all)."""


def control_anchor(pipeline: str, control: str) -> str:
    """The HTML id of a control's work-paper entry (letters, digits and dashes only)."""
    import hashlib

    return "wp-" + hashlib.sha256(f"{pipeline}\0{control}".encode()).hexdigest()[:16]


def matrix(
    results: Sequence[PipelineResult],
    assessment: Assessment,
    controls: dict[str, list[dict[str, Any]]] | None = None,
    tsc: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Per framework, per criterion: the controls relevant to it in each pipeline (each with its
    conclusion and a link to its work-paper entry, the clean ones too), the rules that test it,
    and the deviations found (findings with their evidence). A criterion carries no grade: a
    tool cannot pass one; the auditor concludes on it.

    SOC 2 criteria outside a pipeline's Trust Services categories (``tsc``: ``--tsc``, else the
    manifest's ``compliance.tsc``, else Security) are not listed for it; a criterion no
    pipeline has in scope is not listed at all. EU AI Act rows say whether the article applies
    to the system as its manifest classifies it."""
    from harness_audit.compliance import applicability, tsc_scope

    rules = assessment.rules
    controls = controls or {}
    scopes = {p.pipeline.name: tsc_scope(p.pipeline, tsc) for p in results}
    out = []
    for fw_id in FRAMEWORK_ORDER:
        fw = rules.frameworks[fw_id]
        rows = []
        for control_id, title in fw.controls.items():
            testing = {
                r.id: r for r in rules.rules.values() if control_id in r.mappings.get(fw_id, ())
            }
            if not testing:
                continue
            checks = [r.check for r in testing.values() if r.check]
            per = []
            for p in results:
                name = p.pipeline.name
                in_scope = fw_id != "soc2" or scopes[name].covers(control_id)
                hits = [f for f in p.findings if f.severity != "info" and f.rule in testing]
                relevant: list[dict[str, Any]] = [
                    {
                        "check": ch,
                        "entries": [
                            {
                                "agent": c["agent"],
                                "conclusion": c["conclusion"],
                                "exceptions": c["exceptions"],
                                "anchor": control_anchor(name, c["control"]),
                            }
                            for c in controls.get(name, [])
                            if c["check"] == ch and c["status"] != "n/a"
                        ],
                    }
                    for ch in checks
                ]
                applies = (
                    applicability(control_id, p.pipeline.compliance.eu_ai_act)
                    if fw_id == "eu_ai_act"
                    else None
                )
                for x in relevant:  # agents of the same conclusion together, for reading
                    groups: dict[str, list[dict[str, Any]]] = {}
                    for e in x["entries"]:
                        groups.setdefault(e["conclusion"], []).append(e)
                    x["groups"] = [{"conclusion": k, "entries": v} for k, v in groups.items()]
                per.append(
                    {
                        "pipeline": name,
                        "in_scope": in_scope,
                        "applies": applies,
                        "controls": [x for x in relevant if x["entries"]],
                        "deviations": [
                            f"{f.rule} {f.file}:{f.line}"
                            + (f" seq {f.seq}" if f.seq is not None else "")
                            for f in hits[:MATRIX_DEVIATIONS_SHOWN]
                        ],
                        "count": len(hits),
                    }
                )
            if not any(x["in_scope"] for x in per):
                continue
            rows.append(
                {
                    "id": control_id,
                    "title": title,
                    "per": per,
                    "tested_by": [r.check or r.id for r in testing.values()],
                }
            )
        out.append(
            {"id": fw_id, "name": fw.name, "version": fw.version, "rows": rows, "facts": fw.facts}
        )
    return out


def json_matrix(m: list[dict[str, Any]]) -> dict[str, Any]:
    """The matrix as findings.json's ``criteria``: per framework and criterion, the rules and
    checks that test it and, per pipeline in scope, the relevant controls with their
    conclusions, the deviations, and (EU AI Act) whether the article applies. No grade."""
    return {
        fw["id"]: [
            {
                "id": row["id"],
                "title": row["title"],
                "tested_by": row["tested_by"],
                "pipelines": {
                    x["pipeline"]: {
                        **(
                            {"applies": x["applies"].state, "why": x["applies"].why}
                            if x["applies"] is not None
                            else {}
                        ),
                        "controls": {
                            c["check"]: {e["agent"]: e["conclusion"] for e in c["entries"]}
                            for c in x["controls"]
                        },
                        "deviations": x["count"],
                        "deviations_shown": x["deviations"],
                    }
                    for x in row["per"]
                    if x["in_scope"]
                },
            }
            for row in fw["rows"]
        ]
        for fw in m
    }


CONCLUSION_ORDER = ("exceptions noted", "not tested", "no exceptions noted")
"""The kinds of a work-paper conclusion (its words before any ":"), in the order the PDF's
matrix counts them; a kind not listed here follows them, never dropped."""


def criteria_map(m: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each check or design rule once with the criteria it maps to in every framework (the
    criteria of :func:`matrix`: those in the scope of at least one pipeline), in the order the
    frameworks first name it. Data, the same for every pipeline: evidence.pdf prints it once
    (issue 28, item 3)."""
    out: dict[str, dict[str, Any]] = {}
    for fw in m:
        for row in fw["rows"]:
            for key in dict.fromkeys(row["tested_by"]):
                r = out.setdefault(key, {"key": key, "criteria": {}})
                r["criteria"].setdefault(fw["id"], []).append(row["id"])
    return list(out.values())


def conclusion_counts(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """How many of a check's agent controls reach each kind of conclusion (the work paper's
    words before any ":", so "exceptions noted: 12" and "not tested: <why>" count by kind),
    each kind that occurs, in :data:`CONCLUSION_ORDER`, with the anchor of its first entry."""
    kinds: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        kinds.setdefault(e["conclusion"].partition(":")[0], []).append(e)
    order = [k for k in CONCLUSION_ORDER if k in kinds] + [
        k for k in kinds if k not in CONCLUSION_ORDER
    ]
    return [{"kind": k, "count": len(kinds[k]), "anchor": kinds[k][0]["anchor"]} for k in order]


def cross_matrix(
    m: list[dict[str, Any]], results: Sequence[PipelineResult], assessment: Assessment
) -> list[dict[str, Any]]:
    """The matrix for the paged pack (issue 28, item 3): per pipeline, each check or design
    rule with a criterion in the pipeline's scope once, in :func:`criteria_map`'s order (which
    the PDF prints once, before the pipelines), with how many of its agent controls reach each
    conclusion (:func:`conclusion_counts`: the per-agent conclusions are the work paper's) and
    its deviations; then which EU AI Act articles apply, grouped by why. The same facts as
    :func:`matrix` per pipeline, each once: the criteria's titles and their deviation counts
    are in the across-the-pipelines tables, every finding in the findings section, and the
    per-framework matrix in evidence.html and findings.json."""
    rules = assessment.rules.rules
    order: dict[str, int] = {c["key"]: i for i, c in enumerate(criteria_map(m))}
    out = []
    for pi, p in enumerate(results):
        rows: dict[str, dict[str, Any]] = {}
        applies: dict[tuple[str, str], list[str]] = {}
        for fw in m:
            for row in fw["rows"]:
                x = row["per"][pi]
                if not x["in_scope"]:
                    continue
                if x["applies"] is not None:
                    applies.setdefault((x["applies"].state, x["applies"].why), []).append(row["id"])
                for key in dict.fromkeys(row["tested_by"]):
                    r = rows.setdefault(key, {"key": key, "entries": None})
                    if r["entries"] is None:
                        r["entries"] = [
                            e for c in x["controls"] if c["check"] == key for e in c["entries"]
                        ]
        for key, r in rows.items():
            hits = [
                f
                for f in p.findings
                if f.severity != "info"
                and f.rule in rules
                and (rules[f.rule].check or f.rule) == key
            ]
            r["agents"] = len(r["entries"])
            r["conclusions"] = conclusion_counts(r.pop("entries"))
            r["count"] = len(hits)
            r["deviations"] = [
                f"{f.rule} {f.file}:{f.line}" + (f" seq {f.seq}" if f.seq is not None else "")
                for f in hits[:MATRIX_DEVIATIONS_SHOWN]
            ]
        out.append(
            {
                "pipeline": p.pipeline.name,
                "rows": [rows[k] for k in sorted(rows, key=order.__getitem__)],
                "applies": [
                    {"state": s, "why": w, "articles": ids} for (s, w), ids in applies.items()
                ],
            }
        )
    return out


def replay_excerpts(
    results: Sequence[PipelineResult], controls: dict[str, list[dict[str, Any]]]
) -> dict[str, list[dict[str, Any]]]:
    """Per pipeline, the causal chain around each shown exception: one excerpt per run (the
    first :data:`MAX_REPLAY_RUNS` runs), from the events the judging pass kept for them
    (:attr:`Evidence.excerpts`): the pack does not read the trail again."""
    from harness_audit.evidence.replay import event_summary

    out: dict[str, list[dict[str, Any]]] = {}
    for p in results:
        kept = p.evidence.excerpts if p.evidence is not None else None
        if not kept:
            continue
        wanted: dict[str, set[int]] = {}
        for c in controls.get(p.pipeline.name, []):
            for loc in c["shown"]:
                if loc.run in kept and (loc.run in wanted or len(wanted) < MAX_REPLAY_RUNS):
                    wanted.setdefault(loc.run, set()).add(loc.seq)
        if not wanted:
            continue
        excerpts = []
        for run in sorted(wanted):
            evs = kept[run].events
            by_span = {ev.span: i for i, (_, _, ev) in enumerate(evs)}
            keep: set[int] = set()
            for i, (_, _, ev) in enumerate(evs):
                if ev.seq not in wanted[run]:
                    continue
                keep.update(
                    range(max(0, i - EXCERPT_AROUND), min(len(evs), i + EXCERPT_AROUND + 1))
                )
                j: int | None = i
                hops = 0
                while j is not None and hops < 50:  # its causal chain up to the run's root
                    keep.add(j)
                    parent = evs[j][2].parent
                    j = by_span.get(parent) if parent else None
                    hops += 1
            rows = [
                {
                    "file": f,
                    "line": n,
                    "seq": ev.seq,
                    "span": ev.span,
                    "agent": ev.agent,
                    "kind": ev.kind,
                    "what": event_summary(ev),
                    "parent": ev.parent or "",
                    "exception": ev.seq in wanted[run],
                }
                for k, (f, n, ev) in enumerate(evs)
                if k in keep
            ]
            excerpts.append(
                {
                    "run": run,
                    "anchor": anchor(p.pipeline.name, run),
                    "events": kept[run].count,
                    "too_long": kept[run].too_long,
                    "rows": rows,
                }
            )
        out[p.pipeline.name] = excerpts
    return out


def pdf_excerpts(wp: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The replay excerpts evidence.pdf shows: per pipeline, the run of each control's first
    exception (at most one excerpt a control, so bounded by the controls, not the runs);
    evidence.html keeps every excerpt of :func:`replay_excerpts`."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, xs in wp["excerpts"].items():
        firsts = {c["shown"][0].run for c in wp["controls"].get(name, []) if c["shown"]}
        kept = [x for x in xs if x["run"] in firsts]
        if kept:
            out[name] = kept
    return out


def findings_shown(findings: Sequence[Any], limit: int) -> tuple[list[Any], int]:
    """The findings a bounded listing shows, at most ``limit`` of each rule in their order,
    and how many it leaves out (evidence.pdf: the rest are in findings.json)."""
    seen: dict[str, int] = {}
    shown = []
    for f in findings:
        seen[f.rule] = seen.get(f.rule, 0) + 1
        if seen[f.rule] <= limit:
            shown.append(f)
    return shown, len(findings) - len(shown)


def anchor(pipeline: str, run: str) -> str:
    """The HTML id of a run's replay excerpt (letters, digits and dashes only)."""
    import hashlib

    return "replay-" + hashlib.sha256(f"{pipeline}\0{run}".encode()).hexdigest()[:16]


def providers(results: Sequence[PipelineResult]) -> list[dict[str, Any]]:
    """The subservice organisations the manifests name: model providers (by the agents that
    use them) and shared dependencies."""
    seen: dict[str, set[str]] = {}
    for p in results:
        for a in p.pipeline.agents:
            if a.model is not None and not a.human:
                seen.setdefault(a.model.provider, set()).add(f"{p.pipeline.name}/{a.id}")
        for d in p.pipeline.shared_dependencies:
            seen.setdefault(d.name, set()).update(f"{p.pipeline.name}/{u}" for u in d.used_by)
    return [{"name": k, "used_by": sorted(v)} for k, v in sorted(seen.items())]


def control_entries(
    results: list[PipelineResult],
    folders: dict[str, Path | None],
    samples: dict[str, Drawn],
    seed: int,
) -> dict[str, list[dict[str, Any]]]:
    """Every pipeline's controls as the work paper shows them (:func:`control_entry`), with the
    samples its judging drew (``samples``, by pipeline:
    :func:`~harness_audit.evidence.sampling.draw_samples`)."""
    return {
        p.pipeline.name: [
            control_entry(p, a, c, folders.get(name), samples.get(name, {}), seed)
            for a in p.agents
            for c in CHECKS
        ]
        for p in results
        for name in [p.pipeline.name]
    }


def workpaper(
    assessment: Assessment,
    folders: dict[str, Path | None],
    samples: dict[str, Drawn],
    seed: int,
    tsc: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Everything the work-paper sections of the pack and findings.json show; ``folders`` and
    ``samples``: each judged pipeline's population CSVs and the samples drawn from them
    (:func:`~harness_audit.evidence.sampling.draw_samples`); ``tsc`` (from ``report --tsc``)
    overrides each manifest's Trust Services categories."""
    from harness_audit.compliance import classification_text, tsc_scope

    results = list(assessment.pipelines)
    controls = control_entries(results, folders, samples, seed)
    excerpts = replay_excerpts(results, controls)
    runs = {p: {x["run"] for x in xs} for p, xs in excerpts.items()}
    for name, entries in controls.items():
        for c in entries:
            c["links"] = [
                anchor(name, loc.run) if loc.run in runs.get(name, set()) else None
                for loc in c["shown"]
            ]
            c["anchor"] = control_anchor(name, c["control"])
    return {
        "method": METHOD,
        "seed": seed,
        "sampling_source": load_sampling()["source"],
        "controls": controls,
        "matrix": (m := matrix(results, assessment, controls, tsc)),
        "mapping": criteria_map(m),
        "cross": cross_matrix(m, results, assessment),
        "tsc": {p.pipeline.name: tsc_scope(p.pipeline, tsc) for p in results},
        "ai_act": {
            p.pipeline.name: {
                "classification": classification_text(p.pipeline.compliance.eu_ai_act),
                "risk_class": c.risk_class if c else None,
                "roles": list(c.roles) if c else [],
                "annex_iii": c.annex_iii if c else None,
            }
            for p in results
            for c in [p.pipeline.compliance.eu_ai_act]
        },
        "excerpts": excerpts,
        "providers": providers(results),
        "attributes": {c: load_controls()[c] for c in CHECKS},
    }


def json_controls(wp: dict[str, Any]) -> dict[str, Any]:
    """The work paper as findings.json's ``workpaper`` object: every control's population,
    sample (method, seed, size, rationale, rows), deviations and conclusion."""
    keep = (
        "agent",
        "check",
        "control",
        "objective",
        "enforced",
        "frequency",
        "nature",
        "type",
        "tests",
        "population_words",
        "population",
        "csv",
        "sample",
        "deviations",
        "exceptions",
        "conclusion",
        "located",
    )
    return {
        "sampling": {
            "method": wp["method"],
            "seed": wp["seed"],
            "size_source": wp["sampling_source"],
        },
        "pipelines": {
            name: [{k: c[k] for k in keep} for c in entries]
            for name, entries in wp["controls"].items()
        },
        "subservice_organisations": wp["providers"],
        "criteria": json_matrix(wp["matrix"]),
        "tsc": {
            name: {"categories": list(s.categories), "source": s.source}
            for name, s in wp["tsc"].items()
        },
        "eu_ai_act": wp["ai_act"],
    }
