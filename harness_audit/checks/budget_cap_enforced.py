"""A harness-enforced cost cap (and spawn depth) covers the agent: the check, how the manifest
enforces it."""

from __future__ import annotations

from harness_audit.checks.registry import CheckResult, Context, check, enforcement
from harness_audit.manifest.model import Agent, Pipeline


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


@enforcement(budget_cap_enforced)
def enforced(p: Pipeline, a: Agent) -> str:
    """How the manifest says the control is enforced for this agent, in one line."""
    parts = []
    for who, b in (("agent", a.budget), ("pipeline", p.budget)):
        if b is not None:
            cap = "none" if b.max_cost_usd_per_run is None else f"${b.max_cost_usd_per_run:g}"
            depth = "" if b.max_spawn_depth is None else f", max_spawn_depth {b.max_spawn_depth}"
            parts.append(f"{who} cap {cap} per run{depth}, enforced by {b.enforced_by}")
    return "; ".join(parts) or "no budget declared"
