"""The agent's stage reaches its share of the pipeline's reliability target: the check on the
manifest, its observed side on the trails (the stage's observed success rate) and how the
manifest enforces it."""

from __future__ import annotations

from harness_audit.checks.registry import (
    CheckResult,
    Context,
    Observed,
    check,
    enforcement,
    observed,
)
from harness_audit.manifest.model import Agent, Pipeline


def _fmt(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")


@check()
def sla_decomposed_per_stage(ctx: Context, a: Agent) -> CheckResult:
    """The agent's stage declares a reliability that reaches its share of the pipeline's target."""
    c = "sla_decomposed_per_stage"
    p, d = ctx.pipeline, ctx.sla
    if p.slo.target is None:
        return CheckResult(
            c, "fail", "the pipeline declares no slo.target to decompose", p.slo.line or a.line
        )
    stage = d.stages[a.id]
    if stage.declared is None:
        return CheckResult(
            c,
            "fail",
            "the agent declares no stage.reliability",
            a.stage.line if a.stage else a.line,
        )
    line = a.stage.line if a.stage else a.line
    if d.compound is not None and d.meets_target:
        return CheckResult(
            c, "pass", f"compound {_fmt(d.compound)} meets the target {_fmt(p.slo.target)}", line
        )
    judged = d.stages[stage.fallback_of] if stage.fallback_of else stage
    share = d.share or 1.0
    eff = judged.effective or 0.0
    what = (
        f"the stage it backs up ({stage.fallback_of})"
        if stage.fallback_of
        else "its effective reliability"
    )
    n = len(d.series_stages)
    if eff >= share:
        return CheckResult(
            c,
            "pass",
            f"{what} {_fmt(eff)} reaches its equal share "
            f"{_fmt(share)} of {_fmt(p.slo.target)} over {n} stages",
            line,
        )
    return CheckResult(
        c,
        "fail",
        f"{what} {_fmt(eff)} is below its equal share {_fmt(share)} "
        f"of the target {_fmt(p.slo.target)} over {n} stages",
        line,
    )


@enforcement(sla_decomposed_per_stage)
def enforced(p: Pipeline, a: Agent) -> str:
    """How the manifest says the control is enforced for this agent, in one line."""
    s = a.stage
    if s is None:
        stage = "no stage declared"
    elif s.reliability is None:
        stage = f"stage reliability undeclared, retries {s.retries}"
    else:
        stage = f"stage reliability {_fmt(s.reliability)}, retries {s.retries}"
    target = "undeclared" if p.slo is None or p.slo.target is None else _fmt(p.slo.target)
    return f"slo target {target}; {stage}"


@observed(sla_decomposed_per_stage, rows=False)
class Rates(Observed):
    """The stages' observed success rates (the judge's SLA observer, on anchored events): a
    stage operated once per observed attempt, and fails when its 95% upper bound misses the
    required rate."""

    def finish(self) -> None:
        """Judge every stage with observed attempts."""
        sla = self.judge.sla
        assert sla is not None  # the judge analyses the observations before finishing checks
        for st in sla.stages:
            if st.observed is None:
                continue
            c = self.judge.control(st.agent, "sla_decomposed_per_stage")
            c.operated += st.observed.attempts
            if st.observed.unknown:  # a pass is not proven on results nobody stated
                c.unknown += st.observed.unknown
                c.unknown_reason = "run(s) where a tool call's outcome was not stated"
            if st.observed.verdict == "misses":
                c.fail(
                    f"observed {st.observed.successes}/{st.observed.attempts} successes "
                    f"(95% upper bound {st.observed.upper:.4f}) misses the required "
                    f"{st.required:.6f}",
                    None,
                )
