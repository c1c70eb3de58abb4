"""The analysis behind ``harness-audit sla``: the declared compound, what each stage must
reach, and (with trails) whether its observed rate meets that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from harness_audit.manifest.model import Pipeline
from harness_audit.sla.model import (
    MINUTES_PER_DAY,
    allocate_arinc,
    allocate_equal,
    decompose,
    error_budget_hours_per_year,
    error_budget_minutes,
    stages_target,
)
from harness_audit.sla.observed import Observations
from harness_audit.sla.statistics import Observed, judge_observed


@dataclass(frozen=True, slots=True)
class StageReport:
    """One stage in the ``sla`` report: declared, effective and required reliability, headroom,
    budgets, and the observed rate when trails were given."""

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
    """The ``sla`` analysis of one pipeline: target, compound, error budget and every stage."""

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
        """Whether the declared compound reaches the target (None when either is unknown)."""
        if self.compound is None or self.target is None:
            return None
        return self.compound >= self.target

    @property
    def error_budget_hours_per_year(self) -> float | None:
        """Hours a year the target allows the pipeline to fail."""
        return None if self.target is None else error_budget_hours_per_year(self.target)

    @property
    def error_budget_minutes_per_window(self) -> float | None:
        """Minutes per SLO window the target allows the pipeline to fail."""
        return None if self.target is None else error_budget_minutes(self.target, self.window_days)

    @property
    def fails(self) -> bool:
        """The target is missed: by the declared compound, or by a stage's observed rate."""
        if self.meets_target is False or self.target is None:
            return True
        return any(s.observed and s.observed.verdict == "misses" for s in self.stages)


def analyse(
    pipeline: Pipeline, method: str = "equal", observations: Observations | None = None
) -> SlaReport:
    """The ``sla`` report: what each series stage must reach (``equal`` or ``arinc``
    allocation), and with ``observations`` whether its observed rate meets that."""
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
            if c.unknown:
                obs = replace(obs, unknown=c.unknown)
        stages.append(
            StageReport(
                a.id,
                st.fallback_of is None,
                st.declared,
                eff,
                req,
                None if req is None or eff is None else eff - req,
                None if req is None else (1 - req) * 1e6,
                None if req is None else (1 - req) * window * MINUTES_PER_DAY,
                st.fallback_of,
                obs,
            )
        )
    return SlaReport(
        pipeline.name,
        pipeline.file,
        target,
        window,
        method,
        d.compound,
        d.shared_factor,
        tuple(stages),
        observations.runs if observations else None,
        observations.open_runs if observations else None,
    )


@dataclass(frozen=True, slots=True)
class SlaResult:
    """What ``sla`` renders: the reports and, with ``--set``, the same before the changes."""

    reports: list[SlaReport]
    before: list[SlaReport] | None = None
    changes: tuple[str, ...] = ()

    @property
    def fails(self) -> bool:
        """True when a pipeline misses its target (after the changes)."""
        return any(r.fails for r in self.reports)


def analyse_manifests(
    manifests: Sequence[Path],
    method: str = "equal",
    trails: Path | None = None,
    changes: Sequence[str] = (),
) -> SlaResult:
    """``harness-audit sla``: each manifest's report, with each stage's observed rate when
    ``trails`` are given, after the what-if ``changes`` (``AGENT.reliability=0.999``; the
    reports before them are kept beside, to compare)."""
    from harness_audit.errors import Diagnostic, UsageError
    from harness_audit.foreign import named_trail_files
    from harness_audit.manifest import load_all
    from harness_audit.sla.observed import observe
    from harness_audit.sla.what_if import what_if
    from harness_audit.trail.reader import read_events

    reports, before = [], []
    if trails:
        named_trail_files([trails])
    for original in load_all(list(manifests)):
        p = original
        for change in changes:
            try:
                p = what_if(p, change)
            except ValueError as e:
                raise UsageError(Diagnostic("--set", str(e))) from e
        obs = observe(p, (ev for _, _, ev in read_events([trails]))) if trails else None
        reports.append(analyse(p, method, obs))
        if changes:
            before.append(analyse(original, method, obs))
    return SlaResult(reports, before if changes else None, tuple(changes))
