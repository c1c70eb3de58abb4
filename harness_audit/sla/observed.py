"""Observed outcomes per stage from trail events (SLA.md, Observed).

An :class:`Observer` counts, per series stage, one attempt per finished run and whether it
succeeded; memory is bounded by the runs still open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness_audit.manifest.model import Pipeline
from harness_audit.sla.model import decompose
from harness_audit.trail.events import AnyEvent, ToolCall, actor_of


@dataclass
class StageCount:
    """Attempts and successes of one stage over the finished runs."""

    attempts: int = 0
    successes: int = 0
    unknown: int = 0  # runs where the stage's result is unknown (an outcome not stated)


@dataclass
class Observations:
    """Counts per series stage, the runs that finished and the runs still open."""

    counts: dict[str, StageCount]
    runs: int
    open_runs: int


class Observer:
    """Attempts and successes per series stage, one attempt per stage per finished run.

    In a run, a stage fails when its agent logs an ``error`` or a ``tool_call`` with outcome
    ``error``, or when the run ends without it though every stage it depends on succeeded
    (SLA.md), unless the harness stopped the run on purpose (``run_end`` outcome ``blocked``,
    ``cancelled`` or ``denied``); a stage whose fallback succeeded counts as succeeded, as in
    the declared model. Feed events with :meth:`feed`; memory is bounded by the runs still open.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.agents = pipeline.agent_map
        self.counts = {
            a: StageCount() for a in decompose(pipeline).series_stages if self.agents[a].in_trail
        }  # an unrecorded agent cannot be observed
        self.state: dict[str, dict[str, bool]] = {}  # run -> agent -> failed?
        self.unknown: dict[str, set[str]] = {}  # run -> agents with a call of unknown outcome
        self.finished = 0

    def feed(self, ev: AnyEvent) -> None:
        """Count one event: a failure of its actor's stage, or the end of its run."""
        actor = actor_of(ev.agent, self.agents)
        self.see(ev, actor, actor in self.agents)

    def see(self, ev: AnyEvent, actor: str, declared: bool) -> None:
        """:meth:`feed` when the caller knows the event's actor (:func:`actor_of`) and whether
        the pipeline declares it (the evidence judge, once per event)."""
        state = self.state
        run = state.get(ev.run)
        if run is None:
            run = state[ev.run] = {}
        if declared:
            if ev.kind == "error":
                run[actor] = True
            elif ev.kind == "tool_call":
                if ev.outcome == "error":
                    run[actor] = True
                elif actor not in run:
                    run[actor] = False
                if isinstance(ev, ToolCall) and ev.x_outcome == "unknown":
                    self.unknown.setdefault(ev.run, set()).add(actor)
            elif actor not in run:
                run[actor] = False
        if ev.kind == "run_end":
            self.finished += 1
            # a run the harness stopped on purpose (a budget or policy block) says nothing of
            # the reliability of the stages it never reached
            _judge_run(
                self.pipeline,
                self.state.pop(ev.run),
                self.counts,
                unreached_fail=ev.outcome not in STOPPED,
                unknown=self.unknown.pop(ev.run, set()),
            )

    def forget(self, run: str) -> None:
        """A run that will never end (evicted by the caller): not judged."""
        self.state.pop(run, None)
        self.unknown.pop(run, None)

    def result(self) -> Observations:
        """The counts so far."""
        return Observations(self.counts, self.finished, len(self.state))


def observe(pipeline: Pipeline, events: Iterable[AnyEvent]) -> Observations:
    """Feed every event to an :class:`Observer`; runs that never end are counted, not judged."""
    observer = Observer(pipeline)
    for ev in events:
        observer.feed(ev)
    return observer.result()


STOPPED = frozenset({"blocked", "cancelled", "denied"})


def _judge_run(
    pipeline: Pipeline,
    seen: dict[str, bool],
    counts: dict[str, StageCount],
    unreached_fail: bool = True,
    unknown: set[str] | frozenset[str] = frozenset(),
) -> None:
    agents = pipeline.agent_map
    ok: dict[str, bool] = {}
    for agent_id in counts:
        a = agents[agent_id]
        fallbacks = a.stage.fallback if a.stage else ()
        if agent_id in seen:
            good = not seen[agent_id] or any(f in seen and not seen[f] for f in fallbacks)
        elif unreached_fail and all(
            ok.get(dep, dep in seen and not seen[dep]) for dep in a.depends_on
        ):
            good = any(f in seen and not seen[f] for f in fallbacks)
        else:
            continue  # an upstream stage failed: this one was never attempted
        ok[agent_id] = good
        if good and agent_id in unknown:  # a success nobody stated: unknown, not counted
            counts[agent_id].unknown += 1
            continue
        counts[agent_id].attempts += 1
        counts[agent_id].successes += good
