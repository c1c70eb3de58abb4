"""Issue 22, "A green is earned": for any trail and manifest, a check is ``pass`` only if at
least one event of its population exists, the trail verified with a pinned key, and the period
is covered (no coverage gap); otherwise it is not ``pass``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness_audit.checks import assess_pipeline
from harness_audit.evidence.period import parse_period
from harness_audit.evidence.trails import judge_trails
from harness_audit.manifest import load_manifest
from harness_audit.trust import TrustRoot

from .test_evidence import CLAUDE, GPT, Trail, manifest_dict
from .trailkit import OTHER, SIGNER

KEYS = st.sampled_from(["pinned", "manifest", "other"])  # which key the auditor trusts
PERIODS = st.sampled_from(
    [None, "2026-01-01T00:00:00Z..2026-01-01T00:01:00Z", "2026-01-01..2026-01-03"]
)


@st.composite
def trails(draw: Any) -> Trail:
    """Small trails: clean runs, runs of one agent only, model calls with no cost, empty."""
    t = Trail()
    for r in range(draw(st.integers(0, 3))):
        shape = draw(st.sampled_from(["clean", "one agent", "no cost"]))
        run = f"r{r}"
        if shape == "clean":
            t.clean_run(run)
            continue
        t.add(run, "harness", "run_start", None, pipeline="ev")
        agent, model = draw(st.sampled_from([("a", GPT), ("b", GPT), ("v", CLAUDE)]))
        cost = 0 if shape == "no cost" else 1000
        t.add(
            run,
            agent,
            "model_call",
            model=model,
            input_tokens=1,
            output_tokens=1,
            cost_microusd=cost,
        )
        t.add(run, "harness", "run_end", pipeline="ev", outcome="ok")
    return t


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(trail=trails(), key=KEYS, period=PERIODS, drop_gate=st.booleans())
def test_a_pass_is_earned(trail: Trail, key: str, period: str | None, drop_gate: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "k.pub").write_text(SIGNER.verifier.text() + "\n")
        (root / "other.pub").write_text(OTHER.verifier.text() + "\n")
        m = manifest_dict()
        if drop_gate:  # a manifest variant: the destructive tool loses its gate (a declared fail)
            del m["agents"][0]["tools"][1]["human_gate"]
        (root / "harness.yaml").write_text(yaml.safe_dump(m))
        p = load_manifest(root / "harness.yaml")
        folder = trail.write(root / "trails")
        trust = {
            "pinned": TrustRoot((str(root / "k.pub"),), "flag"),
            "manifest": None,
            "other": TrustRoot((str(root / "other.pub"),), "flag"),
        }[key]
        e = judge_trails(p, [folder], trust=trust, period=parse_period(period) if period else None)
        result = assess_pipeline(p, evidence=e)
        gaps = e.coverage.gaps() if e.coverage is not None else []
        for a in result.agents:
            for check, r in a.checks.items():
                if r.status != "pass":
                    continue
                control = e.controls.get((a.id, check))
                assert control is not None and control.operated > 0, (a.id, check, r.reason)
                assert e.verify is not None and e.verify.status == "verified", r.reason
                assert e.trust is not None and e.trust.pinned, r.reason
                assert not gaps, r.reason
                assert "on a trail anchored by the pinned key" in r.reason
        if result.band == "audit-ready":
            assert all(
                r.status in ("pass", "n/a") for a in result.agents for r in a.checks.values()
            )
