"""The declared reliability model of a pipeline and its allocation to stages (SLA.md).

Pure functions over a :class:`Pipeline`: per-stage effective reliability (retries, quorum,
fallbacks), the compound of the series stages, and what each stage must reach (equal or ARINC
apportionment).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness_audit.manifest.model import Agent, Pipeline

HOURS_PER_YEAR = 8760.0


def retried(p: float, retries: int) -> float:
    """Success of a stage with ``retries`` extra independent attempts: 1 − (1 − p)^(r+1)."""
    return 1.0 - (1.0 - p) ** (retries + 1)


def quorum(p: float, replicas: int, k: int) -> float:
    """At least ``k`` of ``replicas`` independent attempts succeed.

    s = Σ_{i=k}^{n} C(n,i) pⁱ (1−p)^{n−i}
    """
    return math.fsum(
        math.comb(replicas, i) * p**i * (1.0 - p) ** (replicas - i) for i in range(k, replicas + 1)
    )


def with_fallbacks(primary: float, fallbacks: list[float], coverage: float) -> float:
    """s = s₁ + (1 − s₁)·c·s₂, applied in order for each fallback tried after the last failed."""
    rescue = 0.0
    for s in reversed(fallbacks):
        rescue = coverage * (s + (1.0 - s) * rescue)
    return primary + (1.0 - primary) * rescue


def series(values: list[float]) -> float:
    """Reliability of stages in series: the product."""
    return math.prod(values)


def equal_share(target: float, n: int) -> float:
    """Equal allocation: every one of n series stages gets target^(1/n)."""
    return float(target ** (1.0 / n)) if n else 1.0


def error_budget_hours_per_year(reliability: float) -> float:
    """Hours a year a system of this reliability may fail."""
    return (1.0 - reliability) * HOURS_PER_YEAR


def error_budget_minutes(reliability: float, window_days: float) -> float:
    """Minutes per window of ``window_days`` a system of this reliability may fail."""
    return (1.0 - reliability) * window_days * 24 * 60


@dataclass(frozen=True, slots=True)
class StageReliability:
    """One agent's stage: declared and effective reliability, and the stage it backs up."""

    agent: str
    declared: float | None
    effective: float | None
    fallback_of: str | None


@dataclass(frozen=True, slots=True)
class Decomposition:
    """The declared model of a pipeline: per-stage effective reliability and the compound."""

    target: float | None
    series_stages: tuple[str, ...]
    stages: dict[str, StageReliability]
    shared_factor: float
    compound: float | None  # None when a series stage declares no reliability
    share: float | None  # equal share target^(1/n)

    @property
    def meets_target(self) -> bool | None:
        """Whether the compound reaches the target (None when either is unknown)."""
        if self.compound is None or self.target is None:
            return None
        return self.compound >= self.target


def _vote(agent: Agent) -> float | None:
    st = agent.stage
    if st is None or st.reliability is None:
        return None
    p = st.reliability
    if st.replicas:
        p = quorum(p, st.replicas, st.quorum or st.replicas // 2 + 1)
    return retried(p, st.retries)


def stages_target(target: float, shared_factor: float) -> float:
    """What the series stages must reach together: the shared dependencies are series factors
    of their own (common causes), so the stages share what they leave of the target."""
    return min(1.0, target / shared_factor) if shared_factor > 0 else 1.0


def _effective(pipeline: Pipeline) -> dict[str, float | None]:
    """Every agent's effective reliability, its fallbacks' first (depth first, in order).

    Iterative, so a fallback chain as long as the manifest allows cannot exhaust the stack;
    a fallback still being worked out (a cycle, which the loader refuses) is left out.
    """
    agents = pipeline.agent_map
    effective: dict[str, float | None] = {}
    active: set[str] = set()
    for a in pipeline.agents:
        if a.id in effective:
            continue
        stack: list[tuple[str, int]] = [(a.id, 0)]
        active.add(a.id)
        while stack:
            agent_id, i = stack[-1]
            agent = agents[agent_id]
            own = _vote(agent)
            fallback = agent.stage.fallback if agent.stage and own is not None else ()
            if i < len(fallback):
                stack[-1] = (agent_id, i + 1)
                f = fallback[i]
                if f not in effective and f not in active and f in agents:
                    active.add(f)
                    stack.append((f, 0))
                continue
            stack.pop()
            active.discard(agent_id)
            if own is not None and fallback and agent.stage:
                rescues = [effective.get(f) for f in fallback if f in effective]
                own = with_fallbacks(own, [r or 0.0 for r in rescues], agent.stage.coverage)
            effective[agent_id] = own
    return effective


def decompose(pipeline: Pipeline) -> Decomposition:
    """The declared model of ``pipeline``: effective reliability per stage (retries, quorum,
    fallbacks), the compound of the series stages with the shared dependencies, and the equal
    share."""
    fallback_of: dict[str, str] = {}
    for a in pipeline.agents:
        if a.stage:
            for f in a.stage.fallback:
                fallback_of.setdefault(f, a.id)
    effective = _effective(pipeline)
    series_ids = tuple(a.id for a in pipeline.agents if a.id not in fallback_of)
    shared = series([d.availability for d in pipeline.shared_dependencies])
    values = [effective[i] for i in series_ids]
    compound = (
        None
        if any(v is None for v in values)
        else series([v for v in values if v is not None]) * shared
    )
    target = pipeline.slo.target
    share = (
        equal_share(stages_target(target, shared), len(series_ids)) if target is not None else None
    )
    stages = {
        a.id: StageReliability(
            a.id, a.stage.reliability if a.stage else None, effective[a.id], fallback_of.get(a.id)
        )
        for a in pipeline.agents
    }
    return Decomposition(target, series_ids, stages, shared, compound, share)


# --- allocation (SLA.md) ---------------------------------------------------------------------

MINUTES_PER_DAY = 1440.0


def allocate_equal(target: float, n: int) -> list[float]:
    """Every one of n series stages gets target^(1/n); their product is the target."""
    return [equal_share(target, n)] * n


def allocate_arinc(target: float, reliabilities: list[float]) -> list[float]:
    """ARINC apportionment: wᵢ = λᵢ / Σλ, Rᵢ = R^(wᵢ), with λᵢ = −ln sᵢ (the failure rate of an
    exponential model, so the product of the allocations is exactly R)."""
    rates = [-math.log(s) if s < 1.0 else 0.0 for s in reliabilities]
    total = math.fsum(rates)
    if total == 0.0:
        return allocate_equal(target, len(reliabilities))
    return [target ** (r / total) for r in rates]
