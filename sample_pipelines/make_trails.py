"""Make the sample trails of the sample pipelines: ``python sample_pipelines/make_trails.py``.

Deterministic: a fixed random seed, fixed timestamps, and a signing key derived from a fixed
seed per pipeline, so running it again gives the same bytes. The keys are demo keys: their
private halves are public (in this script); never sign a real trail with them.

Each run walks the pipeline's agents in dependency order: a model call per agent, its tools
(data access for reads; for writes an independent verification first; for destructive or
external tools an approval request and a person's approval first), the decisions of the
deciding agents, and the end of the run.

As a harness that works would: a model verifier does its work (its model call and its reads,
e.g. of the draft) before its verdict; every decision cites the run's earlier decisions in
``evidence`` (so a later approval weighs an earlier ``refer``); and a verifier that passed a
call does not then decide a risk outcome on the same subject.
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
from harness_audit.trail.events import Verification  # noqa: E402
from harness_audit.trail.note import Signer  # noqa: E402
from harness_audit.trail.writer import TrailWriter  # noqa: E402

RUNS = 30
# a verification is bound to the call's args_digest once the event type carries the field (an
# unknown field would be dropped on decoding, and the exported event would not be canonical)
BINDS = "args_digest" in Verification.__struct_fields__
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


LATEST = [START]
"""The simulated time of the latest event: its writer signs a second after it (the checkpoint's
``harness-audit-signed`` line), as a writer at the source would."""


class Run:
    def __init__(
        self, writer: TrailWriter, run: str, clock: dt.datetime, rnd: random.Random
    ) -> None:
        self.w, self.run, self.clock, self.rnd, self.n = writer, run, clock, rnd, 0

    def span(self, ahead: int = 1) -> str:
        """The span id of the event ``ahead`` emits from now (1: the next one)."""
        return f"{self.run}.{self.n + ahead}"

    def emit(self, agent: str, kind: str, parent: str | None, **fields: Any) -> str:
        self.clock += dt.timedelta(milliseconds=self.rnd.randint(40, 900))
        span = self.span()
        self.n += 1
        ts = self.clock.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.clock.microsecond // 1000:03d}Z"
        LATEST[0] = max(LATEST[0], self.clock)
        self.w.append(
            {
                "ts": ts,
                "run": self.run,
                "span": span,
                "parent": parent,
                "agent": agent,
                "kind": kind,
                **fields,
            }
        )
        return span


def model_of(a: Agent) -> dict[str, str]:
    m = a.model
    return (
        {"provider": m.provider, "family": m.family, "name": m.name or m.family}
        if m
        else {"provider": "unknown", "family": "unknown", "name": "unknown"}
    )


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
    LATEST[0] = START
    signed = lambda: LATEST[0] + dt.timedelta(seconds=1)  # noqa: E731
    with TrailWriter(
        folder, f"harness-audit/{p.name}", signer, checkpoint_every=500, clock=signed
    ) as w:
        for r in range(RUNS):
            run = Run(w, f"{p.name}-{r + 1:04d}", clock, rnd)
            root = run.emit("harness", "run_start", None, pipeline=p.name)
            spans: dict[str, str] = {}  # agent -> its model call (its work) in this run
            decided: list[str] = []  # the run's decisions so far, cited by the next ones
            passed: set[str] = set()  # verifiers that passed a call in this run

            def work(
                a: Agent, run: Run = run, root: str = root, spans: dict[str, str] = spans
            ) -> str:
                """The agent's model call and reads in this run, once (a verifier's come
                before its verdict)."""
                if a.id in spans:
                    return spans[a.id]
                parent = spans.get(a.depends_on[0], root) if a.depends_on else root
                cost = rnd.randint(200, 9000)
                me = run.emit(
                    a.id,
                    "model_call",
                    parent,
                    model=model_of(a),
                    input_tokens=rnd.randint(300, 4000),
                    output_tokens=rnd.randint(50, 800),
                    cost_microusd=cost,
                    input_digest=hashlib.sha256(f"{run.run}{a.id}in".encode()).hexdigest(),
                )
                spans[a.id] = me
                for t in a.tools:
                    if t.effect == "read":
                        scope = t.scope or "unscoped"
                        run.emit(
                            a.id,
                            "data_access",
                            me,
                            resource=f"{t.name}/{run.run}",
                            scope=scope,
                            data_class=(p.data_classes or ("internal",))[0],
                            outcome="allowed",
                        )
                        run.emit(
                            a.id,
                            "tool_call",
                            me,
                            tool=t.name,
                            effect="read",
                            scope=scope,
                            outcome="ok",
                        )
                return me

            for a in order(p.agents):
                if not a.in_trail:
                    continue
                parent = spans.get(a.depends_on[0], root) if a.depends_on else root
                if a.human:
                    me = run.emit(
                        f"human:{a.id}",
                        "decision",
                        parent,
                        subject=run.run,
                        outcome="approve",
                        **({"evidence": list(decided)} if decided else {}),
                    )
                    decided.append(me)
                    spans[a.id] = me
                    continue
                me = work(a)
                for t in a.tools:
                    scope = t.scope or "unscoped"
                    if t.effect == "read":
                        continue  # done in work()
                    digest = hashlib.sha256(f"{run.run}{t.name}".encode()).hexdigest()
                    gated = t.effect in DESTRUCTIVE_EFFECTS and t.human_gate.required
                    for v in t.verified_by[:1]:
                        ver = agents[v]
                        vme = me if ver.human else work(ver)
                        call_span = run.span(2 + 2 * gated)
                        run.emit(
                            v,
                            "verification",
                            vme,
                            target=call_span,
                            verdict="pass",
                            model=f"human:{v}" if ver.human else model_of(ver),
                            **({"args_digest": digest} if BINDS else {}),
                        )
                        passed.add(v)
                    call_span = run.span(1 + 2 * gated)
                    if gated:
                        person = (t.human_gate.approvers or ("approver",))[0]
                        req = run.emit(
                            a.id,
                            "approval_request",
                            me,
                            target=call_span,
                            approver=f"human:{person}",
                            args_digest=digest,
                        )
                        run.emit(
                            f"human:{person}",
                            "approval",
                            req,
                            target=call_span,
                            approver=f"human:{person}",
                            verdict="approved",
                            args_digest=digest,
                        )
                    got = run.emit(
                        a.id,
                        "tool_call",
                        me,
                        tool=t.name,
                        effect=t.effect,
                        scope=scope,
                        outcome="ok",
                        args_digest=digest,
                        **({"target": t.target} if t.target else {}),
                    )
                    assert got == call_span, (got, call_span)
                if not any(t.effect in WRITE_EFFECTS for t in a.tools):  # it advises: a decision
                    outcome = rnd.choice(["approve", "approve", "approve", "refer"])
                    if a.id in passed:  # it passed a call of this run: it stands by it
                        outcome = "approve"
                    decided.append(
                        run.emit(
                            a.id,
                            "decision",
                            me,
                            subject=run.run,
                            outcome=outcome,
                            evidence=[me, *decided],
                            confidence_bp=rnd.randint(6000, 9900),
                        )
                    )
            run.emit("harness", "run_end", root, pipeline=p.name, outcome="ok")
            clock = run.clock + dt.timedelta(minutes=rnd.randint(5, 90))
        violations(p, w, clock, rnd)


def violations(p: Any, w: TrailWriter, clock: dt.datetime, rnd: random.Random) -> None:
    """Runs in which a control did not operate (or, for the hardened pipeline, in which the
    harness refused an attempt): the material for evidence findings and their replay."""
    gpt = {"provider": "openai", "family": "gpt-4o", "name": "gpt-4o-2024-08-06"}
    mini = {"provider": "openai", "family": "gpt-4o", "name": "gpt-4o-mini"}

    def run(tag: str) -> tuple[Run, str]:
        nonlocal clock
        clock += dt.timedelta(minutes=37)
        r = Run(w, f"{p.name}-{tag}", clock, rnd)
        return r, r.emit("harness", "run_start", None, pipeline=p.name)

    def call(r: Run, agent: str, parent: str, model: dict[str, str], cost: int = 2000) -> str:
        return r.emit(
            agent,
            "model_call",
            parent,
            model=model,
            input_tokens=900,
            output_tokens=200,
            cost_microusd=cost,
        )

    def end(r: Run, root: str, outcome: str = "ok") -> None:
        r.emit("harness", "run_end", root, pipeline=p.name, outcome=outcome)

    if p.name == "loan-assessment":
        # the story: credit risk flags the applicant; the decision writer approves anyway
        r, root = run("amnesia")
        c = call(r, "credit_risk", root, gpt)
        flag = r.emit(
            "credit_risk",
            "decision",
            c,
            subject="application-7731",
            outcome="flag_high_risk",
            rationale="two defaults in 24 months",
            confidence_bp=9100,
        )
        d = call(r, "document_check", c, gpt)
        r.emit(
            "document_check",
            "decision",
            d,
            subject="application-7731",
            outcome="approve",
            evidence=[d],
            confidence_bp=8000,
        )
        k = call(r, "compliance_check", d, mini)
        r.emit(
            "compliance_check",
            "decision",
            k,
            subject="application-7731",
            outcome="approve",
            evidence=[k],
        )
        w_ = call(r, "decision_writer", k, mini)
        r.emit(
            "decision_writer",
            "decision",
            w_,
            subject="application-7731",
            outcome="approve",
            rationale="affordability within policy",
            evidence=[k],
        )
        _ = flag
        end(r, root)
        # a read outside the agent's scopes, and a guardrail routed around
        r, root = run("scope")
        c = call(r, "credit_risk", root, gpt)
        r.emit(
            "credit_risk",
            "data_access",
            c,
            resource="applicant/7731/payslip.pdf",
            scope="documents:read",
            data_class="pii",
            outcome="allowed",
        )
        d = call(r, "document_check", c, gpt)
        r.emit(
            "document_check",
            "data_access",
            d,
            resource="bureau/7731/report",
            scope="bureau:read",
            data_class="financial",
            outcome="denied",
        )
        r.emit(
            "document_check",
            "data_access",
            d,
            resource="bureau/7731/report",
            scope="documents:read",
            data_class="financial",
            outcome="allowed",
        )
        end(r, root)
        # a run that costs more than the pipeline cap (asked of the model in its prompt)
        r, root = run("cost")
        c = call(r, "credit_risk", root, gpt, cost=310_000)
        call(r, "document_check", c, gpt, cost=290_000)
        end(r, root)
        # an error nobody can trace, and a dangling parent
        r, root = run("orphan")
        r.emit("compliance_check", "error", None, message="policy index unavailable")
        r.emit(
            "compliance_check",
            "model_call",
            "span-from-another-system",
            model=mini,
            input_tokens=10,
            output_tokens=1,
            cost_microusd=5,
        )
        end(r, root, "error")
        # a run that never ends
        r, root = run("crashed")
        call(r, "credit_risk", root, gpt)
    elif p.name == "loan-assessment-hardened":
        # attempts the harness refused: evidence that the controls operate
        r, root = run("denied")
        c = call(r, "credit_risk", root, gpt)
        r.emit(
            "credit_risk",
            "data_access",
            c,
            resource="applicant/7731/payslip.pdf",
            scope="documents:read",
            data_class="pii",
            outcome="denied",
        )
        # the harness's check before the call is under the cap; the call that would cross it
        # is blocked (a check that says ok over its cap is itself a failure: issue 22, item 8)
        r.emit(
            "harness", "budget_check", c, spent_microusd=99_500, cap_microusd=100_000, outcome="ok"
        )
        r.emit(
            "credit_risk",
            "budget_check",
            c,
            spent_microusd=100_500,
            cap_microusd=100_000,
            outcome="blocked",
        )
        end(r, root, "blocked")
    elif p.name == "market-research":
        r, root = run("deep-spawn")
        o3 = {"provider": "openai", "family": "o3", "name": "o3-2025-04-16"}
        flash = {"provider": "google", "family": "gemini", "name": "gemini-2.5-flash"}
        pl = call(r, "planner", root, o3)
        s1 = r.emit("planner", "spawn", pl, child="web_researcher", depth=1)
        wr = call(r, "web_researcher", s1, flash)
        s2 = r.emit("web_researcher", "spawn", wr, child="summariser", depth=2)
        sm = call(r, "summariser", s2, flash)
        r.emit("summariser", "spawn", sm, child="summariser", depth=3)
        r.emit(
            "scraper_bot",
            "tool_call",
            sm,
            tool="headless_browser",
            effect="read",
            scope="web:read",
            outcome="ok",
        )
        r.emit(
            "web_researcher",
            "tool_call",
            wr,
            tool="download_pdf",
            effect="read",
            scope="web:read",
            outcome="ok",
        )
        end(r, root)
    elif p.name == "support-refunds":
        r, root = run("approval-mismatch")
        gpt4o = {"provider": "openai", "family": "gpt-4o", "name": "gpt-4o-2024-11-20"}
        haiku = {"provider": "anthropic", "family": "claude", "name": "claude-haiku-4"}
        large = {"provider": "mistral", "family": "mistral-large", "name": "mistral-large-2411"}

        def others(r: Run, parent: str) -> None:  # the rest of the run, uneventful
            call(r, "policy_checker", parent, haiku)
            call(
                r,
                "notifier",
                parent,
                {"provider": "openai", "family": "gpt-4o", "name": "gpt-4o-mini"},
            )

        tr = call(r, "triage", root, large)
        rs = call(r, "resolver", tr, gpt4o)
        target = r.span(4)
        r.emit("policy_checker", "verification", rs, target=target, verdict="pass", model=haiku)
        req = r.emit(
            "resolver",
            "approval_request",
            rs,
            target=target,
            approver="human:support_lead",
            args_digest="1" * 64,
        )
        r.emit(
            "human:support_lead",
            "approval",
            req,
            target=target,
            approver="human:support_lead",
            verdict="approved",
            args_digest="1" * 64,
        )
        r.emit(
            "resolver",
            "tool_call",
            rs,
            tool="issue_refund",
            effect="destructive",
            scope="payments:refund",
            outcome="ok",
            args_digest="2" * 64,
        )
        others(r, rs)
        end(r, root)
        r, root = run("self-approved")
        tr = call(r, "triage", root, large)
        rs = call(r, "resolver", tr, gpt4o)
        target = r.span(3)
        r.emit("policy_checker", "verification", rs, target=target, verdict="pass", model=haiku)
        r.emit("resolver", "approval", rs, target=target, approver="resolver", verdict="approved")
        r.emit(
            "resolver",
            "tool_call",
            rs,
            tool="issue_refund",
            effect="destructive",
            scope="payments:refund",
            outcome="ok",
        )
        others(r, rs)
        end(r, root)


def main() -> None:
    for manifest in sorted(HERE.glob("*/harness.yaml")):
        simulate(manifest)
        (manifest.parent / "trails" / ".lock").unlink(missing_ok=True)  # the writer's lock
        print(f"wrote {manifest.parent / 'trails'}")


if __name__ == "__main__":
    main()
