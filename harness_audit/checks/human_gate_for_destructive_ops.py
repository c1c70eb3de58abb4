"""Every destructive or external tool waits for a human's approval: the check on the manifest,
its observed side on the trails (every such call that ran was approved before by a person
other than the agent, among the tool's approvers, for its arguments) and how the manifest
enforces it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness_audit.checks.registry import (
    CheckResult,
    Context,
    Observed,
    check,
    enforcement,
    observed,
)
from harness_audit.evidence.model import effect_of
from harness_audit.manifest.model import DESTRUCTIVE_EFFECTS, Agent, Pipeline
from harness_audit.trail.events import ToolCall

if TYPE_CHECKING:
    from collections.abc import Iterable

    from harness_audit.evidence.model import Handler, Judging, Location, RunState


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


@observed(human_gate_for_destructive_ops)
class Gated(Observed):
    """A destructive or external call that ran was approved before, anchored, by a person
    other than the agent, among the tool's approvers when it names them, for its arguments."""

    def __init__(self, judge: Judging) -> None:
        super().__init__(judge)
        self.operated, self.tools = judge.operated, judge.tools

    def handlers(self) -> Iterable[tuple[type, Handler]]:
        """Tool calls."""
        return [(ToolCall, self.tool_call)]

    def tool_call(self, ev: ToolCall, actor: str, run: RunState, where: Location) -> None:
        """A destructive call that ran, against the approvals the run kept for its span."""
        if ev.outcome != "ok":
            return
        effect = ev.effect if ev.effect != "unknown" else effect_of(ev, actor, self.tools)
        if effect not in DESTRUCTIVE_EFFECTS:
            return
        approvals = [a for a in run.approvals.get(ev.span, []) if a[0] == "approved"]
        if not approvals:
            self.operated(actor, "human_gate_for_destructive_ops", where).fail(
                f"{ev.effect} call {ev.tool!r} ran with no approval of it before", where
            )
            return
        digest = ev.args_digest if isinstance(ev.args_digest, str) else None
        tool = self.tools.get((actor, ev.tool))
        listed = tool.human_gate.approvers if tool else ()
        reasons = []
        for _, approver, adigest, at in approvals:
            if not at.anchored:
                reasons.append(
                    f"the approval by {approver!r} is not anchored by a trusted "
                    "checkpoint: it proves no pass"
                )
            elif not approver.startswith("human:") or approver[6:] == actor:
                reasons.append(f"approved by {approver!r}, not a person other than the agent")
            elif listed and approver[6:] not in listed and approver not in listed:
                reasons.append(
                    f"approved by {approver!r}, who is not among the tool's "
                    f"approvers ({', '.join(listed)})"
                )
            elif digest and adigest and adigest != digest:
                reasons.append(
                    f"{approver} approved other arguments (args_digest differs): an "
                    "approval is for one exact action"
                )
            else:  # the approval that evidences the control: its row points at it
                self.operated(actor, "human_gate_for_destructive_ops", where, at)
                return
        self.operated(actor, "human_gate_for_destructive_ops", where).fail(
            f"{ev.effect} call {ev.tool!r}: " + "; ".join(reasons), where
        )
