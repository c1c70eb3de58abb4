"""The agent's trail is tamper-evident: the check, how the manifest enforces it."""

from __future__ import annotations

from harness_audit.checks.registry import CheckResult, Context, check, enforcement
from harness_audit.manifest.model import Agent, Pipeline


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


@enforcement(trail_is_immutable)
def enforced(p: Pipeline, a: Agent) -> str:
    """How the manifest says the control is enforced for this agent, in one line."""
    t = p.trail
    return f"trail.integrity: {t.integrity}; public key: {t.public_key or 'none'}"
