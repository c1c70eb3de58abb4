"""The pipeline's trail is enabled and records the agent: the check on the manifest, its
observed side on the trails (every agent has anchored events) and how the manifest enforces it."""

from __future__ import annotations

from typing import TYPE_CHECKING, get_args

from harness_audit.checks.registry import (
    CheckResult,
    Context,
    Observed,
    check,
    enforcement,
    observed,
)
from harness_audit.trail.events import AnyEvent

if TYPE_CHECKING:
    from collections.abc import Iterable

    from harness_audit.evidence.model import Handler, Judging, Location, RunState
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
        f"{'in' if a.in_trail else 'excluded from'} the trail; path: {t.path or 'undeclared'}"
    )


@observed(has_audit_trail)
class Recorded(Observed):
    """Every event of a declared agent that a trusted checkpoint anchors shows the control
    operating (an unanchored one never makes its agent seen); an agent in the trail with no
    such event fails it when the pass ends (a silent agent)."""

    def __init__(self, judge: Judging) -> None:
        super().__init__(judge)
        self.agents, self.operated = judge.agents, judge.operated
        self.seen: set[str] = set()
        self.seen_unanchored: dict[str, int] = {}  # agent -> its events no checkpoint anchors

    def handlers(self) -> Iterable[tuple[type, Handler]]:
        """Every kind of event."""
        return [(kind, self.event) for kind in get_args(AnyEvent)]

    def event(self, ev: AnyEvent, actor: str, run: RunState, where: Location) -> None:
        """An event of ``actor``: in the population, and seen when anchored."""
        if actor in self.agents:
            self.operated(actor, "has_audit_trail", where)
            if where.anchored:
                self.seen.add(actor)
            else:
                self.seen_unanchored[actor] = self.seen_unanchored.get(actor, 0) + 1

    def finish(self) -> None:
        """Fail every agent in the trail that was never seen; one named only as a stand-in
        (``x_agent_from``) is not failed as silent: its events may be there under another
        name, so its check is not proven (the assessment says why)."""
        for a in self.judge.p.agents:
            if a.in_trail and a.id not in self.seen and a.id not in self.judge.stand_ins:
                n = self.seen_unanchored.get(a.id, 0)
                self.judge.control(a.id, "has_audit_trail").fail(
                    f"none of its {n:,} event(s) is anchored by a trusted checkpoint, so they "
                    "prove no pass"
                    if n
                    else "no event at all from this agent in the trails (a silent agent)",
                    None,
                )
