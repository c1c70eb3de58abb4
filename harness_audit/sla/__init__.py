"""Compound reliability of a pipeline and what each stage must reach (SLA.md).

Pure functions over a :class:`~harness_audit.manifest.model.Pipeline`; the same code serves
``sla`` and the ``sla_decomposed_per_stage`` check. The package is split along its sections:

- :mod:`~harness_audit.sla.model`: the declared model (retries, quorum, fallbacks, the
  compound) and its allocation to stages (equal, ARINC);
- :mod:`~harness_audit.sla.statistics`: confidence bounds (Wilson, Clopper–Pearson);
- :mod:`~harness_audit.sla.observed`: outcomes per stage counted from trail events;
- :mod:`~harness_audit.sla.analysis`: the report behind ``harness-audit sla``;
- :mod:`~harness_audit.sla.what_if`: ``--set`` changes.

Every name is importable from ``harness_audit.sla`` as before the split.
"""

from harness_audit.sla.analysis import SlaReport, StageReport, analyse
from harness_audit.sla.model import (
    HOURS_PER_YEAR,
    MINUTES_PER_DAY,
    Decomposition,
    StageReliability,
    allocate_arinc,
    allocate_equal,
    decompose,
    equal_share,
    error_budget_hours_per_year,
    error_budget_minutes,
    quorum,
    retried,
    series,
    stages_target,
    with_fallbacks,
)
from harness_audit.sla.observed import STOPPED, Observations, Observer, StageCount, observe
from harness_audit.sla.statistics import (
    ALPHA,
    SMALL_N,
    Z95,
    Observed,
    clopper_pearson_bounds,
    confidence_bounds,
    judge_observed,
    runs_still_needed,
    runs_to_claim,
    wilson_bounds,
)
from harness_audit.sla.what_if import what_if

__all__ = [
    "ALPHA",
    "HOURS_PER_YEAR",
    "MINUTES_PER_DAY",
    "SMALL_N",
    "STOPPED",
    "Z95",
    "Decomposition",
    "Observations",
    "Observed",
    "Observer",
    "SlaReport",
    "StageCount",
    "StageReliability",
    "StageReport",
    "allocate_arinc",
    "allocate_equal",
    "analyse",
    "clopper_pearson_bounds",
    "confidence_bounds",
    "decompose",
    "equal_share",
    "error_budget_hours_per_year",
    "error_budget_minutes",
    "judge_observed",
    "observe",
    "quorum",
    "retried",
    "runs_still_needed",
    "runs_to_claim",
    "series",
    "stages_target",
    "what_if",
    "wilson_bounds",
    "with_fallbacks",
]
