"""Issue 22, item 8, "found on the way": an undeclared value is shown as undeclared (never
formatted as a number, never ``None``); rates are not extrapolated from a span too short;
a ``budget_check`` that overspent but says ``ok`` is a finding at its event; HA-207 asks for one
period whatever the manifest declares, and says where the period it measured came from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.manifest import load_manifest

from .conftest import base_manifest

runner = CliRunner()


def _undeclared() -> dict[str, Any]:
    """A manifest as `init` drafts one: no target, no stage reliability, no cap, no key."""
    m = base_manifest()
    m["slo"] = {}
    m["agents"][0]["stage"] = {}
    m["budget"] = {"enforced_by": "none"}
    m["trail"] = {"enabled": False, "integrity": "none"}
    return m


def test_enforcement_text_says_undeclared(write_manifest: Callable[..., Path]) -> None:
    from harness_audit.checks.checks import CHECKS
    from harness_audit.checks.registry import enforcement_text

    p = load_manifest(write_manifest(_undeclared()))
    texts = {c: enforcement_text(c, p, p.agents[0]) for c in CHECKS}
    assert texts["sla_decomposed_per_stage"] == (
        "slo target undeclared; stage reliability undeclared, retries 0"
    )
    assert texts["budget_cap_enforced"] == "pipeline cap undeclared, enforced by none"
    assert texts["trail_is_immutable"] == "trail.integrity: none; public key: undeclared"
    assert texts["has_audit_trail"].endswith("path: undeclared")
    assert not any("None" in t or "{}" in t for t in texts.values()), texts


def test_report_on_a_drafted_manifest_shows_undeclared(
    write_manifest: Callable[..., Path], tmp_path: Path
) -> None:
    """`stage: {}` once ended `report` in an internal TypeError (formatted as a number)."""
    path = write_manifest(_undeclared())
    r = runner.invoke(app, ["report", str(path), "-o", str(tmp_path / "pack"), "--no-pdf"])
    assert r.exit_code == 1 and "internal error" not in r.output, r.output
    html = (tmp_path / "pack" / "evidence.html").read_text()
    assert "slo target undeclared; stage reliability undeclared" in html
    assert "Target undeclared; declared compound unknown (1 stage reliability undeclared)" in html
    assert "cannot be judged: no slo.target declared" in html
    assert "misses the target" not in html  # an unstated target is not missed
    s = runner.invoke(app, ["sla", str(path)])
    assert "target undeclared  compound unknown" in s.stdout, s.stdout
    assert "cannot be judged: no slo.target" in " ".join(s.stdout.split())


# -- (c) a budget_check that overspent but says ok ------------------------------------------------


def _trail(tmp_path: Path, budget_checks: list[tuple[str, int, int, str]]) -> Path:
    from .test_evidence import GPT, Trail

    t = Trail()
    t.add("r", "harness", "run_start", None, pipeline="ev")
    t.add("r", "a", "model_call", model=GPT, input_tokens=1, output_tokens=1, cost_microusd=1000)
    for agent, spent, cap, outcome in budget_checks:
        t.add(
            "r",
            agent,
            "budget_check",
            spent_microusd=spent,
            cap_microusd=cap,
            outcome=outcome,
        )
    t.add("r", "harness", "run_end", pipeline="ev", outcome="ok")
    return t.write(tmp_path / "trails")


def _judge(tmp_path: Path, write_manifest: Callable[..., Path], folder: Path, **kw: Any) -> Any:
    from harness_audit.evidence.trails import judge_trails
    from harness_audit.trust import TrustRoot

    from .test_evidence import manifest_dict
    from .trailkit import SIGNER

    p = load_manifest(write_manifest(manifest_dict(), "harness.yaml"))
    trust = TrustRoot(keys=(SIGNER.verifier,), key_source="flag")
    return p, judge_trails(p, [folder], trust=trust, **kw)


def test_an_overspent_budget_check_that_says_ok_fails_at_its_seq(
    tmp_path: Path, write_manifest: Callable[..., Path]
) -> None:
    from harness_audit.checks import assess_pipeline

    folder = _trail(tmp_path, [("a", 2000, 5000, "ok"), ("a", 9000, 5000, "ok")])
    p, e = _judge(tmp_path, write_manifest, folder)
    c = e.controls[("a", "budget_cap_enforced")]
    assert c.failed == 1 and [x.seq for x in c.failures] == [3]
    assert c.reason == (
        "a budget_check in run 'r' says ok while its spend $0.0090 exceeds its cap $0.005: "
        "the harness let the run go on over its cap"
    )
    [f] = [
        f
        for f in assess_pipeline(p, evidence=e).findings
        if f.check == "budget_cap_enforced" and f.seq is not None
    ]
    assert f.rule == "HA-004" and f.seq == 3 and "says ok while its spend" in f.message


def test_the_harness_own_overspent_check_fails_the_agents_of_the_run(
    tmp_path: Path, write_manifest: Callable[..., Path]
) -> None:
    folder = _trail(tmp_path, [("harness", 20_000, 10_000, "ok"), ("harness", 1, 10_000, "ok")])
    _, e = _judge(tmp_path, write_manifest, folder)
    assert [x.seq for x in e.controls[("a", "budget_cap_enforced")].failures] == [2]
    assert (
        not e.controls.get(("b", "budget_cap_enforced"), None)
        or not e.controls[("b", "budget_cap_enforced")].failed
    )  # b spent nothing in the run


def test_a_blocked_or_honest_budget_check_is_no_failure(
    tmp_path: Path, write_manifest: Callable[..., Path]
) -> None:
    folder = _trail(tmp_path, [("a", 9000, 5000, "blocked"), ("a", 5000, 5000, "ok")])
    _, e = _judge(tmp_path, write_manifest, folder)
    c = e.controls[("a", "budget_cap_enforced")]
    assert (c.failed, c.denied) == (0, 1)
