"""The work paper's samples (issue 16): how large each control's sample is
(``rules/sampling.yaml``) and the sample drawn from its population CSV, in the process that
judged the pipeline (:func:`harness_audit.audit._judge`), so the report only lays them out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness_audit.checks.catalogue import load_controls, load_sampling
from harness_audit.checks.checks import CHECKS
from harness_audit.evidence.period import ReviewPeriod, span_text
from harness_audit.evidence.population import Sample, control_key, count_rows, csv_name, draw
from harness_audit.manifest.model import Agent, Pipeline

if TYPE_CHECKING:
    from harness_audit.evidence.model import Evidence


def control_nature(p: Pipeline, a: Agent, check: str, entry: dict[str, Any]) -> str:
    """The control's nature (``rules/controls.yaml``): manual when every verifier of the
    agent is a person and the check says so, else the table's."""
    human = {v.id for v in p.agents if v.human}
    verifiers = {v.id for v in p.agents if a.id in v.verifies} | {
        x for tool in a.tools for x in tool.verified_by
    }
    if verifiers and verifiers <= human and entry.get("nature_if_human_verifier"):
        return str(entry["nature_if_human_verifier"])
    return str(entry["nature"])


def sample_size(
    nature: str, population: int, period: ReviewPeriod | None, asked: int
) -> tuple[int, str, str]:
    """(size, frequency as judged, rationale) from ``rules/sampling.yaml``; ``asked`` (``--sample
    N``, when not 0) wins. A manual control's yearly rate is an estimate from its population over
    the period of review, given with that basis; over a period shorter than the table's
    ``min_days_for_a_rate`` no rate is given and the largest size is taken (fail closed)."""
    table = load_sampling()
    if population == 0:
        return 0, "none: the population is empty", "the population is empty: nothing to sample"
    if asked:
        return min(asked, population), "as asked", f"{asked} as asked with --sample"
    if nature != "manual":
        auto = table["automated"]
        return (
            min(int(auto["size"]), population),
            "automated",
            " ".join(str(auto["rationale"]).split()),
        )
    rows = table["manual"]
    source = f"by the table in rules/sampling.yaml ({table['source']['title']})"
    min_days = float(table.get("min_days_for_a_rate", 7))
    days = period.days if period is not None else None
    where = period.text if period is not None else "no period: no trails"
    times = "once" if population == 1 else f"{population:,} times"
    if days is None or days < min_days:
        size = int(rows[-1]["size"])
        span = "no time" if days is None else span_text(days)
        return (
            min(size, population),
            "unknown: the period is too short",
            (
                f"manual control operating {times} in {span}, too short (under {min_days:g} "
                f"days) to estimate how often it operates in a year, so the largest size: "
                f"{size} {source}; period of review {where}"
            ),
        )
    per_year = population * 365 / days
    for row in rows:
        limit = row.get("max_per_year")
        if limit is None or per_year <= limit:
            size = int(row["size"])
            return (
                min(size, population),
                str(row["frequency"]),
                (
                    f"manual control operating {row['frequency']}, an estimate (about "
                    f"{per_year:,.0f} a year, from {times} in {span_text(days)}): {size} "
                    f"{source}; period of review {where}"
                ),
            )
    raise AssertionError("the last row of the manual table has no limit")


Drawn = dict[str, tuple[int, str, Sample]]
"""One pipeline's samples by control (``agent/check``): (size, the size's rationale, sample)."""


def draw_samples(p: Pipeline, e: Evidence | None, folder: Path, seed: int, asked: int) -> Drawn:
    """Each control's sample drawn from its population CSV in ``folder`` (the ones the judging
    pass wrote), sized by :func:`sample_size`. The judging process calls it as soon as the
    pipeline is judged, so with ``report --jobs N`` one pipeline's draw overlaps the others'
    judging (issue 28, item 3); each sample depends on its own CSV and seed string alone."""
    out: Drawn = {}
    period = e.review_period() if e is not None else None
    for a in p.agents:
        for check in CHECKS:
            csv_path = folder / csv_name(p.name, a.id, check)
            if csv_path.is_file():
                nature = control_nature(p, a, check, load_controls()[check])
                size, _, rationale = sample_size(nature, count_rows(csv_path), period, asked)
                key = control_key(a.id, check)
                out[key] = (size, rationale, draw(csv_path, size, seed, key))
    return out
