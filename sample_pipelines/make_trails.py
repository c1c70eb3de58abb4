"""Make the sample trails of the sample pipelines: ``python sample_pipelines/make_trails.py``.

Deterministic: a fixed random seed, fixed timestamps, and a signing key derived from a fixed
seed per pipeline, so running it again gives the same bytes. The keys are demo keys: their
private halves are public (in this script); never sign a real trail with them.

Each run walks the pipeline's agents in dependency order: a model call per agent, its tools
(data access for reads; for writes an independent verification first; for destructive or
external tools an approval request and a person's approval first), the decisions of the
deciding agents, and the end of the run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from harness_audit.manifest import load_manifest  # noqa: E402
from harness_audit.manifest.model import DESTRUCTIVE_EFFECTS, WRITE_EFFECTS, Agent  # noqa: E402
from harness_audit.trail.note import Signer  # noqa: E402
from harness_audit.trail.writer import TrailWriter  # noqa: E402

RUNS = 30
START = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)


def demo_signer(pipeline: str) -> Signer:
    seed = hashlib.sha256(f"harness-audit demo key for {pipeline}".encode()).digest()
    return Signer.from_seed(f"harness-audit/{pipeline}", seed)


def order(agents: tuple[Agent, ...]) -> list[Agent]:
    done: list[Agent] = []
    names: set[str] = set()
    pending = list(agents)
    while pending:
        for a in pending:
            if all(d in names for d in a.depends_on) or a.max_iterations:
                done.append(a)
                names.add(a.id)
                pending.remove(a)
                break
        else:
            done.extend(pending)
            break
    return done


class Run:
    def __init__(self, writer: TrailWriter, run: str, clock: dt.datetime,
                 rnd: random.Random) -> None:
        self.w, self.run, self.clock, self.rnd, self.n = writer, run, clock, rnd, 0

    def span(self, ahead: int = 1) -> str:
        """The span id of the event ``ahead`` emits from now (1: the next one)."""
        return f"{self.run}.{self.n + ahead}"

    def emit(self, agent: str, kind: str, parent: str | None, **fields: Any) -> str:
        self.clock += dt.timedelta(milliseconds=self.rnd.randint(40, 900))
        span = self.span()
        self.n += 1
        ts = self.clock.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.clock.microsecond // 1000:03d}Z"
        self.w.append({"ts": ts, "run": self.run, "span": span, "parent": parent,
                       "agent": agent, "kind": kind, **fields})
        return span


def model_of(a: Agent) -> dict[str, str]:
    m = a.model
    return {"provider": m.provider, "family": m.family, "name": m.name or m.family} if m else \
        {"provider": "unknown", "family": "unknown", "name": "unknown"}


def simulate(manifest: Path) -> None:
    p = load_manifest(manifest)
    folder = manifest.parent / "trails"
    shutil.rmtree(folder, ignore_errors=True)
    signer = demo_signer(p.name) if p.trail.integrity == "signed_checkpoints" else None
    if signer:
        keys = manifest.parent / "keys"
        keys.mkdir(exist_ok=True)
        (keys / "trail.pub").write_text(signer.verifier.text() + "\n")
    rnd = random.Random(p.name)
    agents = p.agent_map
    clock = START
    with TrailWriter(folder, f"harness-audit/{p.name}", signer, checkpoint_every=500) as w:
        for r in range(RUNS):
            run = Run(w, f"{p.name}-{r + 1:04d}", clock, rnd)
            root = run.emit("harness", "run_start", None, pipeline=p.name)
            spans: dict[str, str] = {}
            for a in order(p.agents):
                if not a.in_trail:
                    continue
                parent = spans.get(a.depends_on[0], root) if a.depends_on else root
                if a.human:
                    me = run.emit(f"human:{a.id}", "decision", parent, subject=run.run,
                                  outcome="approve")
                    spans[a.id] = me
                    continue
                cost = rnd.randint(200, 9000)
                me = run.emit(a.id, "model_call", parent, model=model_of(a),
                              input_tokens=rnd.randint(300, 4000),
                              output_tokens=rnd.randint(50, 800), cost_microusd=cost,
                              input_digest=hashlib.sha256(f"{run.run}{a.id}in".encode())
                              .hexdigest())
                spans[a.id] = me
                for t in a.tools:
                    scope = t.scope or "unscoped"
                    if t.effect == "read":
                        run.emit(a.id, "data_access", me, resource=f"{t.name}/{run.run}",
                                 scope=scope, data_class=(p.data_classes or ("internal",))[0],
                                 outcome="allowed")
                        run.emit(a.id, "tool_call", me, tool=t.name, effect="read",
                                 scope=scope, outcome="ok")
                        continue
                    digest = hashlib.sha256(f"{run.run}{t.name}".encode()).hexdigest()
                    gated = t.effect in DESTRUCTIVE_EFFECTS and t.human_gate.required
                    call_span = run.span(1 + len(t.verified_by[:1]) + 2 * gated)
                    for v in t.verified_by[:1]:
                        ver = agents[v]
                        run.emit(v, "verification", me, target=call_span, verdict="pass",
                                 model=f"human:{v}" if ver.human else model_of(ver))
                    if gated:
                        person = (t.human_gate.approvers or ("approver",))[0]
                        req = run.emit(a.id, "approval_request", me, target=call_span,
                                       approver=f"human:{person}", args_digest=digest)
                        run.emit(f"human:{person}", "approval", req, target=call_span,
                                 approver=f"human:{person}", verdict="approved",
                                 args_digest=digest)
                    got = run.emit(a.id, "tool_call", me, tool=t.name, effect=t.effect,
                                   scope=scope, outcome="ok", args_digest=digest,
                                   **({"target": t.target} if t.target else {}))
                    assert got == call_span, (got, call_span)
                if not any(t.effect in WRITE_EFFECTS for t in a.tools):  # it advises: a decision
                    run.emit(a.id, "decision", me, subject=run.run,
                             outcome=rnd.choice(["approve", "approve", "approve", "refer"]),
                             evidence=[me], confidence_bp=rnd.randint(6000, 9900))
            run.emit("harness", "run_end", root, pipeline=p.name, outcome="ok")
            clock = run.clock + dt.timedelta(minutes=rnd.randint(5, 90))


def main() -> None:
    for manifest in sorted(HERE.glob("*/harness.yaml")):
        simulate(manifest)
        print(f"wrote {manifest.parent / 'trails'}")


if __name__ == "__main__":
    main()
