"""The harness, not the prompt, enforces the agent's scopes: the check, how the manifest
enforces it."""

from __future__ import annotations

from harness_audit.checks.registry import CheckResult, Context, check, enforcement
from harness_audit.manifest.model import Agent, Pipeline


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


@enforcement(access_enforced_at_harness)
def enforced(p: Pipeline, a: Agent) -> str:
    """How the manifest says the control is enforced for this agent, in one line."""
    if a.access is None:
        return "no access declared"
    return (
        f"access.enforced_at: {a.access.enforced_at}; scopes: "
        f"{', '.join(a.access.scopes) or 'none'}"
    )
