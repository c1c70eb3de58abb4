"""Compound reliability of a pipeline and what each stage must reach (SLA.md).

Pure functions over a :class:`Pipeline`; the same code serves ``sla`` and the
``sla_decomposed_per_stage`` check.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

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
    return math.prod(values)


def equal_share(target: float, n: int) -> float:
    """Equal allocation: every one of n series stages gets target^(1/n)."""
    return float(target ** (1.0 / n)) if n else 1.0


def error_budget_hours_per_year(reliability: float) -> float:
    return (1.0 - reliability) * HOURS_PER_YEAR


def error_budget_minutes(reliability: float, window_days: float) -> float:
    return (1.0 - reliability) * window_days * 24 * 60


@dataclass(frozen=True, slots=True)
class StageReliability:
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


def decompose(pipeline: Pipeline) -> Decomposition:
    agents = pipeline.agent_map
    fallback_of: dict[str, str] = {}
    for a in pipeline.agents:
        if a.stage:
            for f in a.stage.fallback:
                fallback_of.setdefault(f, a.id)
    effective: dict[str, float | None] = {}

    def eff(agent_id: str, active: frozenset[str]) -> float | None:
        if agent_id in effective:
            return effective[agent_id]
        agent = agents[agent_id]
        own = _vote(agent)
        if own is not None and agent.stage and agent.stage.fallback:
            rescues = [eff(f, active | {agent_id}) for f in agent.stage.fallback
                       if f not in active]
            own = with_fallbacks(own, [r or 0.0 for r in rescues], agent.stage.coverage)
        effective[agent_id] = own
        return own

    for a in pipeline.agents:
        eff(a.id, frozenset())
    series_ids = tuple(a.id for a in pipeline.agents if a.id not in fallback_of)
    shared = series([d.availability for d in pipeline.shared_dependencies])
    values = [effective[i] for i in series_ids]
    compound = None if any(v is None for v in values) else series(
        [v for v in values if v is not None]) * shared
    target = pipeline.slo.target
    share = (equal_share(stages_target(target, shared), len(series_ids))
             if target is not None else None)
    stages = {
        a.id: StageReliability(a.id, a.stage.reliability if a.stage else None, effective[a.id],
                               fallback_of.get(a.id))
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


# --- observed rates (SLA.md, Observed) -------------------------------------------------------

Z95 = 1.6448536269514722  # one-sided 95%: the 0.95 quantile of the standard normal
ALPHA = 0.05
SMALL_N = 100


def wilson_bounds(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """One-sided Wilson score bounds (lower, upper) for k successes in n trials."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    denom = 1 + z2 / n
    lower = max(0.0, (centre - spread) / denom)
    upper = min(1.0, (centre + spread) / denom)
    return min(lower, p), max(upper, p)  # rounding must not put the estimate outside


def _binom_tail_ge(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space."""
    if p <= 0.0:
        return 1.0 if k <= 0 else 0.0
    if p >= 1.0:
        return 1.0
    lp, lq = math.log(p), math.log1p(-p)
    lc = math.lgamma(n + 1)
    return math.fsum(math.exp(lc - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp
                              + (n - i) * lq) for i in range(k, n + 1))


def clopper_pearson_bounds(k: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """One-sided exact (Clopper–Pearson) bounds at confidence 1 − alpha."""
    if n == 0:
        return 0.0, 1.0
    if k == n:
        lower = alpha ** (1.0 / n)  # closed form: p^n = alpha
    elif k == 0:
        lower = 0.0
    else:
        lower = _bisect(lambda p: _binom_tail_ge(k, n, p) - alpha)
    if k == 0:
        upper = 1 - alpha ** (1.0 / n)
    elif k == n:
        upper = 1.0
    else:  # P(X <= k) = alpha  <=>  P(X >= k+1) = 1 - alpha
        upper = _bisect(lambda p: _binom_tail_ge(k + 1, n, p) - (1 - alpha))
    return lower, upper


def _bisect(f: Callable[[float], float]) -> float:
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def confidence_bounds(k: int, n: int) -> tuple[float, float, str]:
    """(lower, upper, method): exact when k = n or n is small, Wilson otherwise (SLA.md)."""
    if n == 0:
        return 0.0, 1.0, "none"
    if k == n or n <= SMALL_N:
        lo, hi = clopper_pearson_bounds(k, n)
        return lo, hi, "clopper-pearson"
    lo, hi = wilson_bounds(k, n)
    return lo, hi, "wilson"


def runs_to_claim(required: float, confidence: float = 0.95) -> int:
    """Runs with zero failures needed to claim ``required`` at ``confidence``:
    n >= ln(1 − confidence) / ln(required) (2,995 runs for 99.9% at 95%)."""
    if required >= 1.0:
        return 0
    return math.ceil(math.log(1 - confidence) / math.log(required) - 1e-9)


def runs_still_needed(k: int, n: int, required: float) -> int | None:
    """More runs, all successful, until the lower bound reaches ``required`` (None: never,
    e.g. required = 1)."""
    if required >= 1.0:
        return None
    if confidence_bounds(k, n)[0] >= required:
        return 0
    lo, hi = 0, max(1, runs_to_claim(required))
    while confidence_bounds(k + hi, n + hi)[0] < required:
        lo, hi = hi, hi * 2
        if hi > 10**9:
            return None
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if confidence_bounds(k + mid, n + mid)[0] >= required:
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True, slots=True)
class Observed:
    attempts: int
    successes: int
    rate: float | None
    lower: float
    upper: float
    method: str
    verdict: str  # meets | misses | not enough data
    runs_needed: int | None


def judge_observed(successes: int, attempts: int, required: float) -> Observed:
    lo, hi, method = confidence_bounds(successes, attempts)
    if attempts and lo >= required:
        verdict, needed = "meets", 0
    elif attempts and hi < required:
        verdict, needed = "misses", None
    else:
        verdict, needed = "not enough data", runs_still_needed(successes, attempts, required)
    return Observed(attempts, successes, successes / attempts if attempts else None, lo, hi,
                    method, verdict, needed)


# --- observed outcomes per stage from trail events -------------------------------------------


@dataclass
class StageCount:
    attempts: int = 0
    successes: int = 0


@dataclass
class Observations:
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
        self.counts = {a: StageCount() for a in decompose(pipeline).series_stages
                       if self.agents[a].in_trail}  # an unrecorded agent cannot be observed
        self.state: dict[str, dict[str, bool]] = {}  # run -> agent -> failed?
        self.finished = 0

    def feed(self, ev: Any) -> None:
        run = self.state.setdefault(ev.run, {})
        actor = ev.agent[6:] if ev.agent.startswith("human:") else ev.agent
        if actor in self.agents:
            failed = ev.kind == "error" or (ev.kind == "tool_call" and ev.outcome == "error")
            run[actor] = run.get(actor, False) or failed
        if ev.kind == "run_end":
            self.finished += 1
            # a run the harness stopped on purpose (a budget or policy block) says nothing of
            # the reliability of the stages it never reached
            _judge_run(self.pipeline, self.state.pop(ev.run), self.counts,
                       unreached_fail=ev.outcome not in STOPPED)

    def forget(self, run: str) -> None:
        """A run that will never end (evicted by the caller): not judged."""
        self.state.pop(run, None)

    def result(self) -> Observations:
        return Observations(self.counts, self.finished, len(self.state))


def observe(pipeline: Pipeline, events: Iterable[Any]) -> Observations:
    """Feed every event to an :class:`Observer`; runs that never end are counted, not judged."""
    observer = Observer(pipeline)
    for ev in events:
        observer.feed(ev)
    return observer.result()


STOPPED = frozenset({"blocked", "cancelled", "denied"})


def _judge_run(pipeline: Pipeline, seen: dict[str, bool], counts: dict[str, StageCount],
               unreached_fail: bool = True) -> None:
    agents = pipeline.agent_map
    ok: dict[str, bool] = {}
    for agent_id in counts:
        a = agents[agent_id]
        fallbacks = a.stage.fallback if a.stage else ()
        if agent_id in seen:
            good = not seen[agent_id] or any(f in seen and not seen[f] for f in fallbacks)
        elif unreached_fail and all(ok.get(dep, dep in seen and not seen[dep])
                                    for dep in a.depends_on):
            good = any(f in seen and not seen[f] for f in fallbacks)
        else:
            continue  # an upstream stage failed: this one was never attempted
        ok[agent_id] = good
        counts[agent_id].attempts += 1
        counts[agent_id].successes += good


# --- the analysis behind `harness-audit sla` -------------------------------------------------


@dataclass(frozen=True, slots=True)
class StageReport:
    agent: str
    series: bool
    declared: float | None
    effective: float | None
    required: float | None
    headroom: float | None
    failures_per_million: float | None
    minutes_per_window: float | None
    fallback_of: str | None
    observed: Observed | None


@dataclass(frozen=True)
class SlaReport:
    pipeline: str
    file: str
    target: float | None
    window_days: float
    method: str
    compound: float | None
    shared_factor: float
    stages: tuple[StageReport, ...]
    runs: int | None = None
    open_runs: int | None = None

    @property
    def meets_target(self) -> bool | None:
        if self.compound is None or self.target is None:
            return None
        return self.compound >= self.target

    @property
    def error_budget_hours_per_year(self) -> float | None:
        return None if self.target is None else error_budget_hours_per_year(self.target)

    @property
    def error_budget_minutes_per_window(self) -> float | None:
        return None if self.target is None else error_budget_minutes(self.target,
                                                                     self.window_days)

    @property
    def fails(self) -> bool:
        """The target is missed: by the declared compound, or by a stage's observed rate."""
        if self.meets_target is False or self.target is None:
            return True
        return any(s.observed and s.observed.verdict == "misses" for s in self.stages)


def analyse(pipeline: Pipeline, method: str = "equal",
            observations: Observations | None = None) -> SlaReport:
    d = decompose(pipeline)
    target = pipeline.slo.target
    series_ids = list(d.series_stages)
    required: dict[str, float] = {}
    if target is not None and series_ids:
        stage_target = stages_target(target, d.shared_factor)
        if method == "arinc":
            basis = []
            for sid in series_ids:
                c = observations.counts.get(sid) if observations else None
                if c and c.attempts:
                    basis.append((c.successes + 0.5) / (c.attempts + 1))  # never exactly 1
                else:
                    basis.append(d.stages[sid].effective or 0.5)
            shares = allocate_arinc(stage_target, basis)
        else:
            shares = allocate_equal(stage_target, len(series_ids))
        required = dict(zip(series_ids, shares, strict=True))
    window = pipeline.slo.window_days
    stages = []
    for a in pipeline.agents:
        st = d.stages[a.id]
        req = required.get(a.id) if not st.fallback_of else None
        eff = st.effective
        obs = None
        if observations and req is not None and a.id in observations.counts:
            c = observations.counts[a.id]
            obs = judge_observed(c.successes, c.attempts, req)
        stages.append(StageReport(
            a.id, st.fallback_of is None, st.declared, eff, req,
            None if req is None or eff is None else eff - req,
            None if req is None else (1 - req) * 1e6,
            None if req is None else (1 - req) * window * MINUTES_PER_DAY,
            st.fallback_of, obs))
    return SlaReport(pipeline.name, pipeline.file, target, window, method, d.compound,
                     d.shared_factor, tuple(stages),
                     observations.runs if observations else None,
                     observations.open_runs if observations else None)


# --- what-if -----------------------------------------------------------------------------------

_STAGE_FIELDS = {"reliability": float, "retries": int, "coverage": float, "replicas": int,
                 "quorum": int}


def what_if(pipeline: Pipeline, assignment: str) -> Pipeline:
    """Apply ``agent.field=value`` (a stage field) or ``slo.target=value``; ValueError if bad."""
    import dataclasses

    key, sep, raw = assignment.partition("=")
    owner, dot, name = key.strip().rpartition(".")
    if not sep or not dot:
        raise ValueError(f"{assignment!r} is not AGENT.FIELD=VALUE or slo.target=VALUE")
    if owner == "slo" and name == "target":
        value = _number(raw, float)
        if not 0 < value <= 1:
            raise ValueError(f"slo.target {value} is not in (0, 1]")
        return dataclasses.replace(pipeline, slo=dataclasses.replace(pipeline.slo, target=value))
    agents = pipeline.agent_map
    if owner not in agents:
        raise ValueError(f"no agent {owner!r} in {pipeline.name}")
    if name not in _STAGE_FIELDS:
        raise ValueError(f"{name!r} is not one of {', '.join(_STAGE_FIELDS)}")
    value = _number(raw, _STAGE_FIELDS[name])
    if name in ("reliability",) and not 0 < value <= 1:
        raise ValueError(f"reliability {value} is not in (0, 1]")
    if name == "coverage" and not 0 <= value <= 1:
        raise ValueError(f"coverage {value} is not in [0, 1]")
    if (name == "retries" and value < 0) or (name in ("replicas", "quorum") and value < 1):
        raise ValueError(f"{name} {value} is out of range")
    agent = agents[owner]
    from harness_audit.manifest.model import Stage

    stage = dataclasses.replace(agent.stage or Stage(), **{name: value})
    if stage.quorum and stage.quorum > (stage.replicas or 1):
        raise ValueError(f"quorum {stage.quorum} is more than the {stage.replicas or 1} "
                         "replicas")
    new_agent = dataclasses.replace(agent, stage=stage)
    return dataclasses.replace(pipeline, agents=tuple(new_agent if a.id == owner else a
                                                      for a in pipeline.agents))


def _number(raw: str, kind: type) -> Any:
    try:
        return kind(raw.strip())
    except ValueError as e:
        raise ValueError(f"{raw.strip()!r} is not a {kind.__name__}") from e
