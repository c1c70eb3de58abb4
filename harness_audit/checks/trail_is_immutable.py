"""The agent's trail is tamper-evident: the check on the manifest, its observed side on the
trails' verification report (they verify, anchored by a trusted key) and how the manifest
enforces it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness_audit.checks.registry import (
    CheckResult,
    Context,
    check,
    enforcement,
    observed_on_verify,
)
from harness_audit.manifest.model import Agent, Pipeline

if TYPE_CHECKING:
    from harness_audit.evidence.model import Evidence
    from harness_audit.trust import TrustRoot


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
    return f"trail.integrity: {t.integrity}; public key: {t.public_key or 'undeclared'}"


@observed_on_verify(trail_is_immutable)
def judged_on_verify(pipeline: Pipeline, evidence: Evidence, trust: TrustRoot) -> None:
    """``trail_is_immutable`` for every agent in the trail, whatever the manifest declares,
    when the trails given do not verify (EVIDENCE.md), are anchored only by a key that is
    not pinned while ``--require-pinned`` asks for one. Trails sealed after the fact (a
    ``trail import``, or signed longer than the setting after their last event) prove what
    the source said, not when: the assessment makes the check ``not_proven`` for them
    (:func:`~harness_audit.checks.assessment.not_proven_why`), not failed."""
    report, t = evidence.verify, evidence.trust
    assert report is not None and t is not None
    why = None
    if report.status == "failed":
        first = next((x for x in report.problems if not x.warning), None)
        where = (
            (
                f"{first.kind} at {first.file}"
                + (f":{first.line}" if first.line else "")
                + (f" (seq {first.seq})" if first.seq is not None else "")
                + f": {first.detail}"
            )
            if first
            else f"{report.dropped:,} problem(s)"
        )
        why = f"the trail does not verify: {where}"
    elif report.status == "intact_unanchored" and pipeline.trail.integrity == "signed_checkpoints":
        why = (
            "the chain is intact but no checkpoint signed by a trusted key anchors it: its "
            "tail could have been cut"
        )
    elif report.status == "verified" and trust.require_pinned and not t.pinned:
        why = (
            "the trail is anchored only by the manifest's own key (not pinned), and "
            "--require-pinned asks for a key given by flag or config"
        )
    for a in pipeline.agents:
        if not a.in_trail:
            continue
        c = evidence.control(a.id, "trail_is_immutable")
        c.operated = report.events
        if why:
            c.fail(why, None)
