"""The harness, not the prompt, enforces the agent's scopes: the check on the manifest, its
observed side on the trails (every call and access within the scopes) and how the manifest
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
from harness_audit.trail.events import DataAccess, ToolCall

if TYPE_CHECKING:
    from collections.abc import Iterable

    from harness_audit.evidence.model import Handler, Judging, Location, RunState
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


@observed(access_enforced_at_harness)
class Scoped(Observed):
    """Every tool call and data access of a declared agent that the harness let through is
    within the agent's declared scopes; one it refused counts as the control operating
    (``denied``: evidence that enforcement works)."""

    def __init__(self, judge: Judging) -> None:
        super().__init__(judge)
        self.agents, self.operated = judge.agents, judge.operated

    def handlers(self) -> Iterable[tuple[type, Handler]]:
        """Tool calls and data accesses."""
        return [(ToolCall, self.tool_call), (DataAccess, self.data_access)]

    def tool_call(self, ev: ToolCall, actor: str, run: RunState, where: Location) -> None:
        """A denied call, or the scope of one that ran."""
        if ev.outcome == "denied":
            self.operated(actor, "access_enforced_at_harness", where).denied += 1
        elif ev.outcome == "ok":
            self._scope(actor, ev.scope, f"tool {ev.tool!r}", where)

    def data_access(self, ev: DataAccess, actor: str, run: RunState, where: Location) -> None:
        """A denied access, or the scope of one that was let through."""
        if ev.outcome == "denied":
            self.operated(actor, "access_enforced_at_harness", where).denied += 1
            return
        self._scope(actor, ev.scope, f"data access to {ev.resource!r}", where)

    def _scope(self, actor: str, scope: str, what: str, where: Location) -> None:
        agent = self.agents.get(actor)
        if agent is None:
            return
        c = self.operated(actor, "access_enforced_at_harness", where)
        scopes = agent.access.scopes if agent.access else ()
        if scope not in scopes:
            c.fail(
                f"{what} used scope {scope!r}, outside the declared scopes "
                f"({', '.join(scopes) or 'none'})",
                where,
            )
