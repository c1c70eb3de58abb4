"""Every write, destructive or external tool is verified by an independent verifier: the check
on the manifest, its observed side on the trails (every such call that ran was verified before,
bound to its arguments, by an independent verifier that had worked) and how the manifest
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
from harness_audit.evidence.model import UNBINDABLE, effect_of
from harness_audit.manifest.model import WRITE_EFFECTS, Agent, Pipeline, independence
from harness_audit.trail.events import ToolCall

if TYPE_CHECKING:
    from collections.abc import Iterable

    from harness_audit.evidence.model import Handler, Judging, Location, RunState


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


@observed(independent_verification)
class Verified(Observed):
    """A passing verification counts only when bound to the call's ``args_digest`` (when the
    call has one, a verification without it does not count: fail closed), only from a verifier
    independent of the actor, and only when anchored and the verifier had worked."""

    def __init__(self, judge: Judging) -> None:
        super().__init__(judge)
        self.agents, self.operated, self.tools = judge.agents, judge.operated, judge.tools

    def handlers(self) -> Iterable[tuple[type, Handler]]:
        """Tool calls."""
        return [(ToolCall, self.tool_call)]

    def tool_call(self, ev: ToolCall, actor: str, run: RunState, where: Location) -> None:
        """A write call that ran, against the verifications the run kept for its span."""
        if ev.outcome != "ok":
            return
        effect = ev.effect if ev.effect != "unknown" else effect_of(ev, actor, self.tools)
        if effect not in WRITE_EFFECTS:
            return
        check = "independent_verification"
        checks = run.verifications.get(ev.span, [])
        passes = [x for x in checks if x.verdict == "pass"]
        if not passes:
            self.operated(actor, check, where).fail(
                f"{ev.effect} call {ev.tool!r} ran with no passing verification of it before", where
            )
            return
        digest = ev.args_digest if isinstance(ev.args_digest, str) else None
        reasons = []
        bound = []
        for x in passes:
            if not x.anchored:
                reasons.append(
                    f"{x.verifier}'s pass is not anchored by a trusted checkpoint: "
                    "it proves no pass"
                )
            elif not x.worked:
                reasons.append(
                    f"{x.verifier} passed it before making any model call of its "
                    "own in the run: a verification with no work behind it does not "
                    "count"
                )
            elif digest is None or x.digest in (digest, UNBINDABLE):
                bound.append(x)
            elif x.digest is None:
                reasons.append(
                    f"{x.verifier} verified it with no args_digest while the call "
                    "has one: not bound to this exact action, so it does not count "
                    "(fail closed)"
                )
            else:
                reasons.append(f"{x.verifier} verified other arguments (args_digest differs)")
        if not bound:
            self.operated(actor, check, where).fail(
                f"{ev.effect} call {ev.tool!r}: " + "; ".join(reasons), where
            )
            return
        agent = self.agents.get(actor)
        own = run.models.get(actor) or (agent.model if agent else None)
        human = bool(agent and agent.human)
        for x in bound:
            kind = independence(actor, own, human, x.verifier, x.model, x.human)
            if kind in ("independent", "same_provider"):  # its row points at the verification
                self.operated(actor, check, where, x.where)
                return
        who = ", ".join(
            f"{x.verifier} ({x.model.label if x.model else 'human' if x.human else '?'})"
            for x in bound
        )
        self.operated(actor, check, where).fail(
            f"{ev.effect} call {ev.tool!r} was verified only by {who}: not independent of "
            f"{actor} ({own.label if own else 'unknown model'})",
            where,
        )
