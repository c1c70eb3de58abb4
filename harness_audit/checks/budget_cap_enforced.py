"""A harness-enforced cost cap (and spawn depth) covers the agent: the check on the manifest,
its observed side on the trails (costs within the caps, spawns within the depth, refusals by the
harness) and how the manifest enforces it."""

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
from harness_audit.trail.events import BudgetCheck, ModelCall, Spawn

if TYPE_CHECKING:
    from collections.abc import Iterable

    from harness_audit.evidence.model import Handler, Judging, Location, RunState
from harness_audit.manifest.model import Agent, Pipeline

UNKNOWN_COST = (
    "model call(s) record no cost (unknown, not $0): the cap cannot be shown to hold on them"
)
ESTIMATED_COST = (
    "model call(s) whose cost is an estimate (x_cost_estimated), not an amount the source "
    "stated: the cap cannot be shown to hold on them"
)


@check()
def budget_cap_enforced(ctx: Context, a: Agent) -> CheckResult:
    """A harness-enforced cost cap covers the agent (its own or the pipeline's), and a spawn depth
    if it spawns."""
    c = "budget_cap_enforced"
    p = ctx.pipeline.budget
    if a.human:
        return CheckResult(c, "n/a", "a human agent makes no model calls", a.line)
    own = a.budget
    warnings: tuple[tuple[str, str], ...] = ()
    if own and own.enforced_by == "harness" and own.max_cost_usd_per_run is not None:
        cover, where = own, "its own harness-enforced cap"
    elif p and p.enforced_by == "harness" and p.max_cost_usd_per_run is not None:
        cover, where = p, "the pipeline's harness-enforced cap"
        if own and own.enforced_by != "harness":
            warnings = (
                (
                    "HA-109",
                    f"the agent's own cap is enforced by {own.enforced_by!r}, not the harness",
                ),
            )
    else:
        line = own.line if own else p.line if p else a.line
        if own and own.enforced_by == "harness":
            why = "its budget is enforced by the harness but sets no max_cost_usd_per_run"
        elif own:
            why = f"its budget is enforced by {own.enforced_by!r}, not the harness"
        elif p:
            why = (
                f"no budget of its own, and the pipeline budget is enforced by {p.enforced_by!r}"
                if p.enforced_by != "harness"
                else "no budget of its own, and the pipeline budget sets no cap"
            )
        else:
            why = "no budget covers it, its own or the pipeline's"
        return CheckResult(c, "fail", f"cost is unbounded: {why}", line)
    if a.spawns:
        depth_sources = [
            b
            for b in (own, p)
            if b and b.enforced_by == "harness" and b.max_spawn_depth is not None
        ]
        if not depth_sources:
            return CheckResult(
                c,
                "fail",
                "the agent spawns sub-agents but no harness-enforced max_spawn_depth bounds them",
                (own or cover).line,
            )
    amount = cover.max_cost_usd_per_run or 0.0
    return CheckResult(c, "pass", f"capped at ${amount:g} per run by {where}", cover.line, warnings)


@enforcement(budget_cap_enforced)
def enforced(p: Pipeline, a: Agent) -> str:
    """How the manifest says the control is enforced for this agent, in one line."""
    parts = []
    for who, b in (("agent", a.budget), ("pipeline", p.budget)):
        if b is not None:
            cap = (
                "undeclared"
                if b.max_cost_usd_per_run is None
                else f"${b.max_cost_usd_per_run:g} per run"
            )
            depth = "" if b.max_spawn_depth is None else f", max_spawn_depth {b.max_spawn_depth}"
            parts.append(f"{who} cap {cap}{depth}, enforced by {b.enforced_by}")
    return "; ".join(parts) or "no budget declared"


@observed(budget_cap_enforced)
class Capped(Observed):
    """Caps are judged as costs accrue: the model call that crosses a cap is the failure (once
    per agent and run), so a run that never ends is judged too; the first model call of a
    capped agent in a run shows the control operating. Spawns are judged against
    ``max_spawn_depth``, and a call the harness blocked counts as it operating (``denied``)."""

    def __init__(self, judge: Judging) -> None:
        super().__init__(judge)
        p = judge.p
        self.agents, self.operated, self.control = judge.agents, judge.operated, judge.control
        self.limits = {a.id: _spawn_limit(p, a) for a in p.agents}
        self.caps = {
            a.id: round(a.budget.max_cost_usd_per_run * 1e6)
            for a in p.agents
            if a.budget and a.budget.max_cost_usd_per_run is not None
        }
        cap = p.budget.max_cost_usd_per_run if p.budget else None
        self.pipeline_cap = round(cap * 1e6) if cap is not None else None

    def handlers(self) -> Iterable[tuple[type, Handler]]:
        """Model calls, spawns and budget checks."""
        return [(ModelCall, self.model_call), (Spawn, self.spawn), (BudgetCheck, self.budget_check)]

    def model_call(self, ev: ModelCall, actor: str, run: RunState, where: Location) -> None:
        """The actor's cost in the run (``run.total`` is the judge's, every actor's)."""
        first = actor not in run.cost
        spent = run.cost[actor] = run.cost.get(actor, 0) + ev.cost_microusd
        own = self.caps.get(actor)
        pcap = self.pipeline_cap
        if first and actor in self.agents and (own is not None or pcap is not None):
            self.operated(actor, "budget_cap_enforced", where)
        if actor in self.agents and (own is not None or pcap is not None):
            # IMPORT.md: no cost means unknown cost, not $0 (an import marks it ``x_cost:
            # unknown``; a 0 unmarked is read the same); an estimate is no stated amount
            # either: a cap is not shown to hold on either
            if ev.cost_microusd == 0 or ev.x_cost == "unknown":
                c = self.control(actor, "budget_cap_enforced")
                c.unknown += 1
                c.unknown_reason = UNKNOWN_COST
            elif ev.x_cost_estimated is True:
                c = self.control(actor, "budget_cap_enforced")
                c.unknown += 1
                if c.unknown_reason is None:
                    c.unknown_reason = ESTIMATED_COST
        if own is not None and spent > own and actor not in run.capped:
            run.capped.add(actor)
            self.control(actor, "budget_cap_enforced").fail(
                f"run {ev.run!r} spent ${spent / 1e6:.4f} on {actor!r} by this call, above its "
                f"cap ${own / 1e6:g}",
                where,
            )
        if pcap is not None and run.total > pcap:
            for agent_id in run.cost:  # every agent the pipeline cap covers, in the run so far
                if (
                    agent_id in self.agents
                    and agent_id not in self.caps
                    and agent_id not in run.capped
                ):
                    run.capped.add(agent_id)
                    self.control(agent_id, "budget_cap_enforced").fail(
                        f"run {ev.run!r} spent ${run.total / 1e6:.4f} in all by this call, above "
                        f"the pipeline cap ${pcap / 1e6:g}",
                        where,
                    )

    def spawn(self, ev: Spawn, actor: str, run: RunState, where: Location) -> None:
        """Depth is judged on the spawn chain too, not only on the event's ``depth``: the
        spawner's depth is its span's (inherited from parent to child from the spawn that
        started it), or, when its chain is cut, the deepest spawn of that agent in the run; a
        self-spawning agent a -> a -> a goes one deeper at each spawn."""
        if ev.parent is not None and ev.parent in run.spans:
            base = run.depth.get(ev.parent, 0)
        else:
            base = run.agent_depth.get(actor, 0)
        derived = base + 1
        depth = max(ev.depth, derived)
        run.depth[ev.span] = depth
        run.agent_depth[ev.child] = max(run.agent_depth.get(ev.child, 0), depth)
        if actor not in self.agents:
            return
        c = self.operated(actor, "budget_cap_enforced", where)
        limit = self.limits.get(actor)
        if limit is not None and depth > limit:
            said = (
                ""
                if derived == ev.depth
                else (f" (by the spawn chain {derived}; the event says {ev.depth})")
            )
            c.fail(
                f"spawned {ev.child!r} at depth {depth}{said}, deeper than max_spawn_depth {limit}",
                where,
            )

    def budget_check(self, ev: BudgetCheck, actor: str, run: RunState, where: Location) -> None:
        """A call the harness blocked for its budget counts as the control operating; a check
        that says ``ok`` while its own spend exceeds its own cap is a failure at that event,
        of the agent it checked (the harness's own check: of the agents that spent in the run,
        else of every agent, since the cap was not enforced for the run)."""
        if ev.outcome == "blocked":
            if actor in self.agents:
                self.operated(actor, "budget_cap_enforced", where).denied += 1
            return
        if ev.spent_microusd <= ev.cap_microusd:
            return
        if actor in self.agents:
            checked = [actor]
        else:
            checked = [a for a in (*run.cost, *run.models) if a in self.agents] or list(self.agents)
        reason = (
            f"a budget_check in run {ev.run!r} says ok while its spend "
            f"${ev.spent_microusd / 1e6:.4f} exceeds its cap ${ev.cap_microusd / 1e6:g}: "
            "the harness let the run go on over its cap"
        )
        for agent_id in dict.fromkeys(checked):
            self.operated(agent_id, "budget_cap_enforced", where).fail(reason, where)


def _spawn_limit(p: Pipeline, a: Agent) -> int | None:
    for b in (a.budget, p.budget):
        if b is not None and b.max_spawn_depth is not None:
            return b.max_spawn_depth
    return None
