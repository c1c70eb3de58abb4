"""One run, replayed: its causal tree, the findings that touch it, and a disclosure package.

``--export DIR`` writes only that run's events with an inclusion proof for each against the
newest checkpoint, so a third party can check them with ``trail verify-proof`` and nothing
else of the trail (EVIDENCE.md, Replay and disclosure).

A sharded trail's root (periods as shards, :mod:`~harness_audit.trail.shards`) is read as its
shards in period order, after ``verify`` has followed the chain between them: a run of any
period is found from the root, and a run that crosses a period's end is one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from harness_audit.errors import Diagnostic, TrailError
from harness_audit.evidence.judge import Judge
from harness_audit.manifest.model import Pipeline
from harness_audit.trail import events as ev_mod
from harness_audit.trail.reader import read_events

if TYPE_CHECKING:
    from harness_audit.trust import TrustRoot


@dataclass
class Node:
    """One event of the run in the causal tree: where it is in the trail, the events it caused, and
    the rules or checks that flag it."""

    file: str
    line: int
    event: Any
    children: list[Node] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    gates: list[str] = field(default_factory=list)  # the verifications and approvals of this act


@dataclass
class Replay:
    """One run replayed: its events, the roots of its causal tree, the findings that touch it and
    its model cost."""

    run: str
    pipeline: str | None
    nodes: list[Node]  # in trail order
    roots: list[Node]
    findings: list[dict[str, Any]]
    cost_microusd: int
    judged: bool = False  # findings were judged (a manifest was found or given)
    integrity: Any = None  # the VerifyReport of the trail the run was read from


def readable(paths: Sequence[Path]) -> list[Path]:
    """The trails whose events are read: each sharded root as its shards in period order (their
    chain is checked by ``verify_trail`` of the root), any other path as given."""
    from harness_audit.trail.shards import shards_of

    return [f for p in paths for f in (shards_of(p) or [p])]


def collect_run(paths: Sequence[Path], run: str) -> list[Node]:
    """The run's events across the trail files, in trail order; TrailError when there are none."""
    nodes = [Node(f, n, ev) for f, n, ev in read_events(readable(paths)) if ev.run == run]
    if not nodes:
        raise TrailError(
            Diagnostic(
                str(paths[0]),
                f"no events of run {run!r} in the trail",
                expected="a run id from the trail's `run` field",
            )
        )
    return nodes


def find_manifest(paths: Sequence[Path], pipeline: str | None) -> Path | None:
    """The manifest beside the trail folder whose metadata.name is the run's pipeline."""
    from harness_audit.errors import HarnessAuditError
    from harness_audit.manifest import load_manifest
    from harness_audit.manifest.loader import MANIFEST_NAMES

    if pipeline is None:
        return None
    start = paths[0].resolve()
    for folder in (start.parent, start.parent.parent):
        for name in MANIFEST_NAMES:
            candidate = folder / name
            if candidate.is_file():
                try:
                    if load_manifest(candidate).name == pipeline:
                        return candidate
                except HarnessAuditError:
                    continue
    return None


def gate_text(gate: Any, act: Any, before: bool) -> str:
    """A verification or approval of an act, as the act's line shows it: who, what, at which
    seq, and whether ``before`` the act in trail order (only a gate before it gated it; the
    order, not the seq, which starts again in each shard of a sharded trail)."""
    when = "before" if before else "AFTER the act: it gated nothing"
    if gate.kind == "verification":
        return f"verified ({gate.verdict}) by {gate.agent} at seq {gate.seq}, {when}"
    if gate.kind == "approval":
        return f"{gate.verdict} by {gate.approver} at seq {gate.seq}, {when}"
    return f"approval requested of {gate.approver} at seq {gate.seq}, {when}"


def replay(
    paths: Sequence[Path], run: str, pipeline: Pipeline | None, nodes: list[Node] | None = None
) -> Replay:
    """The run's causal tree and the findings that touch it (``nodes``: the run's events,
    when the caller has already read them); each act carries the verifications and approvals
    that name it as their target (:func:`gate_text`)."""
    nodes = nodes if nodes is not None else collect_run(paths, run)
    by_span = {n.event.span: n for n in nodes}
    order = {id(n): i for i, n in enumerate(nodes)}  # trail order
    for n in nodes:
        if n.event.kind in ("verification", "approval", "approval_request"):
            act = by_span.get(n.event.target)
            if act is not None and act is not n:
                act.gates.append(gate_text(n.event, act.event, order[id(n)] < order[id(act)]))
    roots = []
    for n in nodes:
        parent = by_span.get(n.event.parent) if n.event.parent else None
        if parent is not None and parent is not n:
            parent.children.append(n)
        else:
            roots.append(n)
    findings: list[dict[str, Any]] = []
    if pipeline is not None:
        judge = Judge(pipeline)
        for n in nodes:
            judge.feed(n.file, n.line, n.event)
        for (agent, check), c in sorted(judge.controls.items()):
            for loc in c.failures:
                findings.append(
                    {"check": check, "agent": agent, "message": c.reason, **loc.as_dict()}
                )
        for o in judge.notes.values():
            findings.append(
                {
                    "rule": o.rule,
                    "agent": o.agent,
                    "message": o.message,
                    **(o.where.as_dict() if o.where else {}),
                }
            )
        for f in findings:
            node = by_span.get(f.get("span", ""))
            if node is not None:
                node.findings.append(f.get("rule") or f.get("check") or "")
    start = next((n.event for n in nodes if n.event.kind == "run_start"), None)
    cost = sum(n.event.cost_microusd for n in nodes if n.event.kind == "model_call")
    return Replay(
        run,
        start.pipeline if start else None,
        nodes,
        roots,
        findings,
        cost,
        judged=pipeline is not None,
    )


@dataclass
class RunRow:
    """One run as ``replay --list`` shows it: id, pipeline, first time, the subjects it decided
    (with their outcomes), how it ended, its model cost, its events."""

    run: str
    pipeline: str | None = None
    first_ts: str = ""
    decisions: list[tuple[str, str]] = field(default_factory=list)  # (subject, outcome)
    outcome: str | None = None  # run_end's; None: the run never ended in the trail
    cost_microusd: int = 0
    events: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON data (cost in dollars; ``outcome`` null: never ended)."""
        return {
            "run": self.run,
            "pipeline": self.pipeline,
            "time": self.first_ts,
            "decisions": [{"subject": s, "outcome": o} for s, o in self.decisions],
            "outcome": self.outcome,
            "cost_usd": self.cost_microusd / 1e6,
            "events": self.events,
        }


@dataclass
class RunList:
    """``replay --list``: the runs, with the trail's verification."""

    rows: list[RunRow]
    integrity: Any = None


@dataclass
class Replays:
    """``replay --subject S``: every run that decided the subject, replayed."""

    subject: str
    items: list[Replay]


MAX_DECISIONS_LISTED = 20
"""Decisions kept per run in a list row (a run deciding more is counted, not listed)."""


def list_runs(
    paths: Sequence[Path], subject: str | None = None, since: str | None = None
) -> list[RunRow]:
    """Every run of the trail in order of first appearance, or those that decided ``subject``,
    or began at or after ``since`` (an ISO 8601 time, compared as a UTC instant); one pass."""
    from harness_audit.evidence.period import parse_ts

    rows: dict[str, RunRow] = {}
    for _, _, ev in read_events(readable(paths)):
        row = rows.get(ev.run)
        if row is None:
            row = rows[ev.run] = RunRow(ev.run, first_ts=ev.ts)
        row.events += 1
        if isinstance(ev, ev_mod.RunStart):
            row.pipeline = ev.pipeline
        elif isinstance(ev, ev_mod.RunEnd):
            row.outcome, row.pipeline = ev.outcome, row.pipeline or ev.pipeline
        elif isinstance(ev, ev_mod.ModelCall):
            row.cost_microusd += ev.cost_microusd
        elif isinstance(ev, ev_mod.Decision) and len(row.decisions) < MAX_DECISIONS_LISTED:
            row.decisions.append((ev.subject, ev.outcome))
    start = parse_ts(since) if since else None
    out = []
    for row in rows.values():
        if subject is not None and all(s != subject for s, _ in row.decisions):
            continue
        if start is not None:
            t = parse_ts(row.first_ts)
            if t is None or t < start:
                continue
        out.append(row)
    return out


def event_summary(ev: Any) -> str:
    """What an event did, in one line by its kind (a model call's tokens and cost, a tool call's
    outcome, a decision's rationale); empty for an unknown kind."""
    k = ev.kind
    if k == "model_call":
        return (
            f"{ev.model.provider}/{ev.model.name} {ev.input_tokens}+{ev.output_tokens} "
            f"tokens ${ev.cost_microusd / 1e6:.4f}"
        )
    if k == "tool_call":
        return f"{ev.tool} ({ev.effect}, {ev.scope}) -> {ev.outcome}"
    if k == "data_access":
        return f"{ev.resource} [{ev.data_class}] via {ev.scope} -> {ev.outcome}"
    if k == "decision":
        cited = f" citing {', '.join(ev.evidence)}" if isinstance(ev.evidence, list) else ""
        why = f': "{ev.rationale}"' if isinstance(ev.rationale, str) else ""
        return f"{ev.subject}: {ev.outcome}{why}{cited}"
    if k == "verification":
        who = ev.model if isinstance(ev.model, str) else f"{ev.model.provider}/{ev.model.name}"
        return f"{ev.stated_verdict} on {ev.target} by {who}"
    if k in ("approval", "approval_request"):
        verdict = f" {ev.verdict}" if k == "approval" else " requested"
        return f"{ev.target}{verdict} ({ev.approver})"
    if k == "spawn":
        return f"{ev.child} at depth {ev.depth}"
    if k == "budget_check":
        return f"${ev.spent_microusd / 1e6:.4f} of ${ev.cap_microusd / 1e6:.4f}: {ev.outcome}"
    if k == "error":
        return str(ev.message)
    if k in ("run_start", "run_end"):
        return str(ev.pipeline) + (f": {ev.outcome}" if k == "run_end" else "")
    return ""


def replay_dict(r: Replay) -> dict[str, Any]:
    """The replay as JSON data: the run, its cost in dollars, the tree of events with the rules that
    flag each, and the findings."""

    def node(n: Node) -> dict[str, Any]:
        return {
            "event": msgspec.to_builtins(n.event) | {"kind": n.event.kind},
            "file": n.file,
            "line": n.line,
            "findings": n.findings,
            "gates": n.gates,
            "children": [node(c) for c in n.children],
        }

    v = r.integrity
    return {
        "run": r.run,
        "pipeline": r.pipeline,
        "events": len(r.nodes),
        "integrity": None
        if v is None
        else {
            "status": v.status,
            "problems": [p.as_dict() for p in v.problems[:50]],
            "anchor": {"origin": v.anchor.origin, "size": v.anchor.size, "key": v.anchor.key}
            if v.anchor
            else None,
        },
        "findings_judged": r.judged,
        "cost_usd": r.cost_microusd / 1e6,
        "tree": [node(n) for n in r.roots],
        "findings": r.findings,
    }


def export_run(paths: Sequence[Path], r: Replay, out: Path, checkpoint: Path | None) -> int:
    """Write DIR/<run>.jsonl, DIR/proofs.json (one inclusion proof per event) and
    DIR/README.txt; return the number of events. Nothing is written unless all can be."""
    from harness_audit._fs import write_atomic
    from harness_audit._json import dumps
    from harness_audit.trail.proofs import inclusion_proofs, load_trail, newest_checkpoint

    seqs = [n.event.seq for n in r.nodes]
    loaded = load_trail(paths, set(seqs))
    note, cp = newest_checkpoint(paths, loaded.files, checkpoint)
    late = [s for s in seqs if s >= cp.size]
    if late:
        raise TrailError(
            Diagnostic(
                str(paths[0]),
                f"{len(late)} event(s) of run {r.run!r} "
                f"(from seq {late[0]}) come after the newest checkpoint "
                f"(size {cp.size:,}) and cannot be proven yet",
                expected="a checkpoint covering the whole run",
            )
        )
    proofs = inclusion_proofs(loaded, seqs, note, cp)
    lines = b"".join(ev_mod.encoder.encode(n.event) + b"\n" for n in r.nodes)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in r.run)
    readme = (
        f"Run {r.run} of {r.pipeline}: {len(seqs)} events of the trail {cp.origin}.\n"
        f"Each is proven to be in the tree of size {cp.size:,} signed in the checkpoint.\n"
        "Check them, with the log's verifier key and nothing else:\n\n"
        "    harness-audit trail verify-proof proofs.json --key <verifier key>\n"
    )
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / f"{safe}.jsonl", lines)
    write_atomic(out / "proofs.json", dumps(proofs))
    write_atomic(out / "checkpoint", note)
    write_atomic(out / "README.txt", readme)
    return len(seqs)


@dataclass(frozen=True)
class ExportCheck:
    """What ``trail verify-proof`` found: one line per proof or event, and the verdict."""

    ok: bool
    lines: list[str]


EXPORT_PROOFS = "proofs.json"  # the name `replay --export` gives its proofs


def _export_files(path: Path) -> tuple[Path, Path | None, bool]:
    """(the proofs file, the events file the auditor reads, whether this is an export) for
    what ``trail verify-proof`` was given: an export folder, its events file or its
    ``proofs.json`` (an export), or another proof file (from ``trail prove``)."""
    if path.is_file() and path.suffix != ".jsonl" and path.name != EXPORT_PROOFS:
        return path, None, False
    folder = path if path.is_dir() else path.parent
    if path.is_file() and path.suffix == ".jsonl":
        return folder / EXPORT_PROOFS, path, True
    events = sorted(folder.glob("*.jsonl"))
    if len(events) > 1:
        raise TrailError(
            Diagnostic(
                str(folder),
                f"{len(events)} events files; name the one to prove",
                expected="one <run>.jsonl in an export",
            )
        )
    return folder / EXPORT_PROOFS, events[0] if events else None, True


def verify_export(path: Path, verifiers: Sequence[Any]) -> ExportCheck:
    """Prove every event in the file the auditor reads (TRAIL.md, Proofs): each line of the
    events file must be the event of an inclusion proof that holds, and every proof's event
    must be in the file; an event that is not proven, or proven but missing, fails."""
    from harness_audit.trail.merkle import ProofError
    from harness_audit.trail.proofs import read_proof, verify_proof_data
    from harness_audit.trail.scan import event_leaf

    proofs_file, events_file, export = _export_files(path)
    data = read_proof(proofs_file)
    items = data if isinstance(data, list) else [data]
    lines: list[str] = []
    ok = True
    proven: dict[bytes, int] = {}  # leaf -> proof number
    for i, item in enumerate(items):
        try:
            result = verify_proof_data(item, verifiers)
        except ProofError as e:
            raise TrailError(
                Diagnostic(
                    str(proofs_file), f"proof {i}: {e}", expected="a harness-audit/proof/v1 file"
                )
            ) from e
        lines.append(("OK: " if result.ok else "FAILED: ") + result.message)
        ok = ok and result.ok
        if result.ok and isinstance(item, dict) and item.get("type") == "inclusion":
            proven[bytes.fromhex(str(item["leaf_hash"]))] = i
    if not export:
        return ExportCheck(ok, lines)
    if events_file is None:
        lines.append(
            "FAILED: no events file beside the proofs: only the copies inside the "
            "proof file were checked, not what an auditor reads"
        )
        return ExportCheck(False, lines)
    seen: set[bytes] = set()
    with events_file.open("rb") as handle:
        for n, raw in enumerate(handle, 1):
            line = raw.rstrip(b"\n")
            try:
                leaf = event_leaf(line)
            except ValueError:
                leaf = b""
            if leaf not in proven:
                ok = False
                lines.append(
                    f"FAILED: {events_file}:{n}: this event is not proven by any "
                    "proof (it was changed, or added)"
                )
            seen.add(leaf)
    for leaf, i in sorted(proven.items(), key=lambda x: x[1]):
        if leaf not in seen:
            ok = False
            lines.append(
                f"FAILED: proof {i} proves an event that is not in {events_file} "
                "(it was removed or changed)"
            )
    if ok:
        lines.append(
            f"OK: every event of {events_file} is proven, and every proof's event is there"
        )
    return ExportCheck(ok, lines)


def replay_verified(
    paths: Sequence[Path],
    run: str,
    trust: TrustRoot,
    manifest: Path | None = None,
    allow_unanchored: bool = False,
) -> Replay:
    """``harness-audit replay``: verify the trail (as ``verify`` does), then replay the run
    with the findings of ``manifest`` (default: the one beside the trail folder named as the
    run's pipeline, when there is one); the verification is the result's ``integrity``."""
    import dataclasses

    from harness_audit.manifest import load_manifest
    from harness_audit.trail.verify import verify_trail

    integrity = verify_trail(paths, trust, allow_unanchored=allow_unanchored)
    nodes = collect_run(paths, run)
    start = next((n.event for n in nodes if n.event.kind == "run_start"), None)
    path = manifest or find_manifest(paths, start.pipeline if start else None)
    pipeline = load_manifest(path) if path else None
    return dataclasses.replace(replay(paths, run, pipeline, nodes), integrity=integrity)


def runs_verified(
    paths: Sequence[Path],
    trust: TrustRoot,
    subject: str | None = None,
    since: str | None = None,
    allow_unanchored: bool = False,
) -> RunList:
    """``replay --list``: verify the trail (as ``verify`` does), then list its runs."""
    from harness_audit.trail.verify import verify_trail

    integrity = verify_trail(paths, trust, allow_unanchored=allow_unanchored)
    return RunList(list_runs(paths, subject, since), integrity)


def subject_verified(
    paths: Sequence[Path],
    subject: str,
    trust: TrustRoot,
    manifest: Path | None = None,
    allow_unanchored: bool = False,
) -> Replays:
    """``replay --subject S``: every run that decided ``subject``, replayed and verified;
    TrailError when no run decided it."""
    rows = list_runs(paths, subject)
    if not rows:
        raise TrailError(
            Diagnostic(
                str(paths[0]),
                f"no run decided subject {subject!r}",
                expected="a decision's subject (`replay --list` lists them)",
            )
        )
    return Replays(
        subject,
        [replay_verified(paths, r.run, trust, manifest, allow_unanchored) for r in rows],
    )


def export_verified(
    paths: Sequence[Path], r: Replay, out: Path, checkpoint: Path | None
) -> int | None:
    """:func:`export_run` for a run whose trail verified; ``None``, writing nothing, when its
    integrity did not hold: an unverified run is not disclosed as fact."""
    if r.integrity is None or not r.integrity.ok:
        return None
    return export_run(_shard_of(paths, r), r, out, checkpoint)


def _shard_of(paths: Sequence[Path], r: Replay) -> Sequence[Path]:
    """The trail a run's proofs are made in: ``paths``, or of a sharded root the one shard that
    holds the run (each shard is its own tree, with its own checkpoints); TrailError for a run
    that crosses shards, naming them and the command for each."""
    from harness_audit.trail.shards import is_sharded

    if not any(is_sharded(p) for p in paths):
        return paths
    shards = sorted({Path(n.file).parent for n in r.nodes}, key=str)
    if len(shards) > 1:
        names = ", ".join(s.name for s in shards)
        raise TrailError(
            Diagnostic(
                str(paths[0]),
                f"run {r.run!r} crosses {len(shards)} shards ({names}); "
                "each shard's events are proven against that shard's own checkpoint",
                expected=f"one export per shard: replay {shards[0]} --run {r.run} --export DIR",
            )
        )
    return shards
