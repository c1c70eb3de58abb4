"""Every write, destructive or external tool is verified by an independent verifier: the check,
how the manifest enforces it."""

from __future__ import annotations

from harness_audit.checks.registry import CheckResult, Context, check, enforcement
from harness_audit.manifest.model import WRITE_EFFECTS, Agent, Pipeline, independence


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


@enforcement(independent_verification)
def enforced(p: Pipeline, a: Agent) -> str:
    """How the manifest says the control is enforced for this agent, in one line."""
    by = sorted(
        {v.id for v in p.agents if a.id in v.verifies}
        | {x for tool in a.tools if tool.effect in WRITE_EFFECTS for x in tool.verified_by}
    )
    writes = [tool.name for tool in a.tools if tool.effect in WRITE_EFFECTS]
    return (
        f"write tools: {', '.join(writes) or 'none'}; verified by: {', '.join(by) or 'no verifier'}"
    )
