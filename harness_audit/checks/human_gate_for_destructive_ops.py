"""Every destructive or external tool waits for a human's approval: the check, how the
manifest enforces it."""

from __future__ import annotations

from harness_audit.checks.registry import CheckResult, Context, check, enforcement
from harness_audit.manifest.model import DESTRUCTIVE_EFFECTS, Agent, Pipeline


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


@enforcement(human_gate_for_destructive_ops)
def enforced(p: Pipeline, a: Agent) -> str:
    """How the manifest says the control is enforced for this agent, in one line."""
    gates = [
        f"{tool.name}: "
        + (
            f"gate by {', '.join(tool.human_gate.approvers) or 'anyone'}"
            if tool.human_gate.required
            else "no gate"
        )
        for tool in a.tools
        if tool.effect in DESTRUCTIVE_EFFECTS
    ]
    return "; ".join(gates) or "no destructive or external tool"
