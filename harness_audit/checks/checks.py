"""The seven per-agent checks of MANIFEST.md, judged on the manifest alone.

Each is registered by ``@check()`` (:mod:`harness_audit.checks.registry`), in output order, and
returns ``pass``, ``fail`` or ``n/a`` with a one-line reason and the manifest line it is about;
warnings (a pass that an auditor should still see) ride along.
"""

from __future__ import annotations

from harness_audit.checks.registry import (
    REGISTRY,
    CheckFunction,
    CheckResult,
    Context,
    Status,
    check,
)
from harness_audit.manifest.model import (
    DESTRUCTIVE_EFFECTS,
    WRITE_EFFECTS,
    Agent,
    independence,
)


def _fmt(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")


@check()
def has_audit_trail(ctx: Context, a: Agent) -> CheckResult:
    """The pipeline's trail is enabled and records this agent."""
    t = ctx.pipeline.trail
    c = "has_audit_trail"
    if not t.enabled:
        why = "the pipeline declares no trail" if t.line == 0 else "trail.enabled is not true"
        return CheckResult(
            c, "fail", f"{why}: nothing the agent does is recorded", t.line or a.line
        )
    if not a.in_trail:
        return CheckResult(c, "fail", "the agent is excluded from the trail (trail: false)", a.line)
    return CheckResult(c, "pass", "the pipeline trail records this agent", a.line)


@check()
def trail_is_immutable(ctx: Context, a: Agent) -> CheckResult:
    """The agent's trail is tamper-evident: a hash chain, best anchored by signed checkpoints."""
    t = ctx.pipeline.trail
    c = "trail_is_immutable"
    if not t.enabled or not a.in_trail:
        return CheckResult(
            c,
            "fail",
            "the agent is not in a trail, so nothing of it is tamper-evident",
            t.line or a.line,
        )
    if t.integrity == "signed_checkpoints":
        if not t.public_key:
            return CheckResult(
                c,
                "pass",
                "signed checkpoints over a hash chain",
                t.line,
                (
                    (
                        "HA-002",
                        "trail.public_key is not set: an auditor cannot tell which key to trust",
                    ),
                ),
            )
        return CheckResult(c, "pass", "hash chain anchored by signed Merkle checkpoints", t.line)
    if t.integrity == "hash_chain":
        return CheckResult(
            c,
            "pass",
            "hash-chained events",
            t.line,
            (
                (
                    "HA-002",
                    "a hash chain alone cannot detect a truncated tail: use signed_checkpoints",
                ),
            ),
        )
    return CheckResult(
        c, "fail", "trail.integrity is none: events can be edited or deleted without trace", t.line
    )


@check()
def access_enforced_at_harness(ctx: Context, a: Agent) -> CheckResult:
    """The harness, not the prompt, enforces the agent's scopes, and every tool has one of them."""
    c = "access_enforced_at_harness"
    if a.access is None:
        return CheckResult(
            c,
            "fail",
            "the agent has no access block: nothing limits what it reads or calls",
            a.line,
        )
    if a.access.enforced_at != "harness":
        return CheckResult(
            c,
            "fail",
            f"access is enforced at {a.access.enforced_at!r}, not by the harness",
            a.access.line,
        )
    for t in a.tools:
        if t.scope is None:
            return CheckResult(
                c,
                "fail",
                f"tool {t.name!r} has no scope: the harness cannot limit it",
                t.line,
                subject=t.name,
            )
        if t.scope not in a.access.scopes:
            return CheckResult(
                c,
                "fail",
                f"tool {t.name!r} uses scope {t.scope!r}, outside the "
                f"agent's scopes ({', '.join(a.access.scopes) or 'none'})",
                t.line,
                subject=t.name,
            )
    return CheckResult(
        c, "pass", "the harness enforces the agent's scopes on every tool", a.access.line
    )


@check()
def budget_cap_enforced(ctx: Context, a: Agent) -> CheckResult:
    """A harness-enforced cost cap covers the agent (its own or the pipeline's), and a spawn depth
    if it spawns."""
    c = "budget_cap_enforced"
    p = ctx.pipeline.budget
    if a.human:
        return CheckResult(c, "n/a", "a human agent makes no model calls", a.line)
    own = a.budget
    warnings: tuple[tuple[str, str], ...] = ()
    if own and own.enforced_by == "harness" and own.max_cost_usd_per_run is not None:
        cover, where = own, "its own harness-enforced cap"
    elif p and p.enforced_by == "harness" and p.max_cost_usd_per_run is not None:
        cover, where = p, "the pipeline's harness-enforced cap"
        if own and own.enforced_by != "harness":
            warnings = (
                (
                    "HA-109",
                    f"the agent's own cap is enforced by {own.enforced_by!r}, not the harness",
                ),
            )
    else:
        line = own.line if own else p.line if p else a.line
        if own and own.enforced_by == "harness":
            why = "its budget is enforced by the harness but sets no max_cost_usd_per_run"
        elif own:
            why = f"its budget is enforced by {own.enforced_by!r}, not the harness"
        elif p:
            why = (
                f"no budget of its own, and the pipeline budget is enforced by {p.enforced_by!r}"
                if p.enforced_by != "harness"
                else "no budget of its own, and the pipeline budget sets no cap"
            )
        else:
            why = "no budget covers it, its own or the pipeline's"
        return CheckResult(c, "fail", f"cost is unbounded: {why}", line)
    if a.spawns:
        depth_sources = [
            b
            for b in (own, p)
            if b and b.enforced_by == "harness" and b.max_spawn_depth is not None
        ]
        if not depth_sources:
            return CheckResult(
                c,
                "fail",
                "the agent spawns sub-agents but no harness-enforced max_spawn_depth bounds them",
                (own or cover).line,
            )
    amount = cover.max_cost_usd_per_run or 0.0
    return CheckResult(c, "pass", f"capped at ${amount:g} per run by {where}", cover.line, warnings)


@check()
def independent_verification(ctx: Context, a: Agent) -> CheckResult:
    """Every write, destructive or external tool is verified by an independent verifier."""
    c = "independent_verification"
    writes = [t for t in a.tools if t.effect in WRITE_EFFECTS]
    if not writes:
        return CheckResult(c, "n/a", "the agent has no write, destructive or external tool", a.line)
    agents = ctx.pipeline.agent_map
    warnings: list[tuple[str, str]] = []
    for t in writes:
        if not t.verified_by:
            return CheckResult(
                c, "fail", f"{t.effect} tool {t.name!r} has no verifier", t.line, subject=t.name
            )
        verdicts = {}
        for v in t.verified_by:
            ver = agents[v]
            verdicts[v] = independence(a.id, a.model, a.human, v, ver.model, ver.human)
        if "independent" in verdicts.values():
            continue
        if "same_provider" in verdicts.values():
            v = next(k for k, s in verdicts.items() if s == "same_provider")
            warnings.append(
                (
                    "HA-105",
                    f"{t.name!r} is verified by {v!r}, another family of "
                    f"the same provider ({agents[v].model_label} vs {a.model_label})",
                )
            )
            continue
        who = ", ".join(f"{v} ({agents[v].model_label})" for v in t.verified_by)
        why = (
            "verifies itself"
            if set(verdicts.values()) == {"self"}
            else f"is checked only by the same model family: {who}"
        )
        return CheckResult(
            c, "fail", f"{t.effect} tool {t.name!r} {why} (echo chamber)", t.line, subject=t.name
        )
    return CheckResult(
        c,
        "pass",
        f"{len(writes)} write tool(s) verified by an independent verifier",
        writes[0].line,
        tuple(warnings),
    )


@check()
def human_gate_for_destructive_ops(ctx: Context, a: Agent) -> CheckResult:
    """Every destructive or external tool waits for a human's approval."""
    c = "human_gate_for_destructive_ops"
    risky = [t for t in a.tools if t.effect in DESTRUCTIVE_EFFECTS]
    if not risky:
        return CheckResult(c, "n/a", "the agent has no destructive or external tool", a.line)
    for t in risky:
        if not t.human_gate.required:
            return CheckResult(
                c,
                "fail",
                f"{t.effect} tool {t.name!r} runs with no human approval",
                t.line,
                subject=t.name,
            )
    unnamed = [t.name for t in risky if not t.human_gate.approvers]
    warnings = (
        (("HA-006", "no approvers named for " + ", ".join(map(repr, unnamed))),) if unnamed else ()
    )
    return CheckResult(
        c,
        "pass",
        f"{len(risky)} destructive/external tool(s) wait for a human",
        risky[0].line,
        warnings,
    )


@check()
def sla_decomposed_per_stage(ctx: Context, a: Agent) -> CheckResult:
    """The agent's stage declares a reliability that reaches its share of the pipeline's target."""
    c = "sla_decomposed_per_stage"
    p, d = ctx.pipeline, ctx.sla
    if p.slo.target is None:
        return CheckResult(
            c, "fail", "the pipeline declares no slo.target to decompose", p.slo.line or a.line
        )
    stage = d.stages[a.id]
    if stage.declared is None:
        return CheckResult(
            c,
            "fail",
            "the agent declares no stage.reliability",
            a.stage.line if a.stage else a.line,
        )
    line = a.stage.line if a.stage else a.line
    if d.compound is not None and d.meets_target:
        return CheckResult(
            c, "pass", f"compound {_fmt(d.compound)} meets the target {_fmt(p.slo.target)}", line
        )
    judged = d.stages[stage.fallback_of] if stage.fallback_of else stage
    share = d.share or 1.0
    eff = judged.effective or 0.0
    what = (
        f"the stage it backs up ({stage.fallback_of})"
        if stage.fallback_of
        else "its effective reliability"
    )
    n = len(d.series_stages)
    if eff >= share:
        return CheckResult(
            c,
            "pass",
            f"{what} {_fmt(eff)} reaches its equal share "
            f"{_fmt(share)} of {_fmt(p.slo.target)} over {n} stages",
            line,
        )
    return CheckResult(
        c,
        "fail",
        f"{what} {_fmt(eff)} is below its equal share {_fmt(share)} "
        f"of the target {_fmt(p.slo.target)} over {n} stages",
        line,
    )


CHECKS: tuple[str, ...] = tuple(REGISTRY)
"""The checks' names, in the order they were registered above (the order of every output)."""

CHECK_FUNCTIONS: dict[str, CheckFunction] = {name: spec.function for name, spec in REGISTRY.items()}

__all__ = ["CHECKS", "CHECK_FUNCTIONS", "CheckResult", "Context", "Status"]
