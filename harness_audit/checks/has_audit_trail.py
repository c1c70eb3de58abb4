"""The pipeline's trail is enabled and records the agent: the check, how the manifest
enforces it."""

from __future__ import annotations

from harness_audit.checks.registry import CheckResult, Context, check, enforcement
from harness_audit.manifest.model import Agent, Pipeline


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


@enforcement(has_audit_trail)
def enforced(p: Pipeline, a: Agent) -> str:
    """How the manifest says the control is enforced for this agent, in one line."""
    t = p.trail
    return (
        f"trail.enabled: {str(t.enabled).lower()}; the agent is "
        f"{'in' if a.in_trail else 'excluded from'} the trail; path: {t.path or '—'}"
    )
