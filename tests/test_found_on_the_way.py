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


# -- (b) a yearly rate from a span too short is not a fact ----------------------------------------


def _period(seconds: float) -> Any:
    from harness_audit.evidence.period import review_period

    return review_period(None, "2026-01-01T00:00:00Z", f"2026-01-01T00:00:{seconds:02.0f}Z")


def test_no_yearly_rate_from_a_four_second_trail() -> None:
    from harness_audit.evidence.sampling import sample_size

    size, frequency, why = sample_size("manual", 3, _period(4), 0)
    assert size == 3 and frequency == "unknown: the period is too short"
    assert "about" not in why and "in 4 seconds, too short (under 7 days)" in why
    assert "the largest size: 60" in why
    assert "the trails' own span: no period declared" in why


def test_a_yearly_rate_is_an_estimate_with_its_basis() -> None:
    from harness_audit.evidence.period import parse_period, review_period
    from harness_audit.evidence.sampling import sample_size

    period = review_period(parse_period("2026-01-01..2026-03-31"), None, None)
    size, frequency, why = sample_size("manual", 30, period, 0)
    assert (size, frequency) == (25, "daily"), why
    assert "an estimate (about 122 a year, from 30 times in 90.0 days)" in why
    assert "period of review 2026-01-01..2026-03-31 (declared by --period)" in why


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


# -- (d) HA-207: one period asked for, and the period measured, with their sources ----------------


def _ha207(p: Any, e: Any) -> str:
    from harness_audit.checks import assess_pipeline

    [f] = [f for f in assess_pipeline(p, evidence=e).findings if f.rule == "HA-207"]
    return f.message


def test_ha207_asks_for_the_same_period_whatever_the_manifest_declares(
    tmp_path: Path, write_manifest: Callable[..., Path]
) -> None:
    from harness_audit.evidence.trails import judge_trails
    from harness_audit.trust import TrustRoot

    from .test_evidence import manifest_dict
    from .trailkit import SIGNER

    folder = _trail(tmp_path, [])
    trust = TrustRoot(keys=(SIGNER.verifier,), key_source="flag")
    said = set()
    for retention in (30, 90, None, 2555):
        m = manifest_dict()
        if retention is None:
            del m["trail"]["retention_days"]
        else:
            m["trail"]["retention_days"] = retention
        p = load_manifest(write_manifest(m))
        said.add(_ha207(p, judge_trails(p, [folder], trust=trust)))
    assert said == {
        "the trails cover 2 seconds of the period of review 2026-01-01T00:00:00Z to "
        "2026-01-01T00:00:02Z (the trails' own span: no period declared); an auditor will ask "
        "for at least 183 days (EU AI Act Art. 19(1) and 26(6): at least six months)"
    }


def test_ha207_and_the_work_paper_use_one_declared_period(
    tmp_path: Path, write_manifest: Callable[..., Path]
) -> None:
    from harness_audit.evidence.period import parse_period

    folder = _trail(tmp_path, [])
    period = parse_period("2026-01-01..2026-01-31", "the config's period (pyproject.toml)")
    p, e = _judge(tmp_path, write_manifest, folder, period=period)
    r = e.review_period()
    assert (r.start, r.end, r.days, r.source) == (
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
        31.0,
        "the config's period (pyproject.toml)",
    )
    assert "of the period of review 2026-01-01..2026-01-31 (declared by the config's period " in (
        _ha207(p, e)
    )


def test_ha207_on_a_declared_period_no_event_falls_in(
    tmp_path: Path, write_manifest: Callable[..., Path]
) -> None:
    from harness_audit.evidence.period import parse_period

    folder = _trail(tmp_path, [])
    p, e = _judge(tmp_path, write_manifest, folder, period=parse_period("2027-01-01..2027-06-30"))
    assert _ha207(p, e).startswith(
        "the trails cover 0 seconds of the period of review 2027-01-01..2027-06-30 (declared by "
        "--period)"
    )


def test_report_says_where_the_period_came_from(
    tmp_path: Path, write_manifest: Callable[..., Path], monkeypatch: Any
) -> None:
    import json

    from .test_evidence import manifest_dict
    from .trailkit import SIGNER

    folder = _trail(tmp_path, [])
    m = manifest_dict()
    m["trail"]["path"] = str(folder)
    manifest = write_manifest(m, "harness.yaml")
    key = tmp_path / "k.pub"
    key.write_text(SIGNER.verifier.text() + "\n")
    monkeypatch.chdir(tmp_path)
    args = ["report", str(manifest), "--key", str(key), "--no-pdf"]
    r = runner.invoke(app, [*args, "-o", "flag", "--period", "2026-01-01..2026-01-31"])
    assert r.exit_code == 1, r.output
    review = json.loads((tmp_path / "flag" / "findings.json").read_text())
    (tmp_path / ".harness-audit.yaml").write_text("period: 2026-01-01..2026-01-31\n")
    r = runner.invoke(app, [*args, "-o", "config"])
    assert r.exit_code == 1, r.output
    config = json.loads((tmp_path / "config" / "findings.json").read_text())

    def ha207(d: dict[str, Any]) -> str:
        found = d["pipelines"][0]["findings"]
        return next(f["message"] for f in found if f["rule"] == "HA-207")

    assert "2026-01-01..2026-01-31 (declared by --period)" in ha207(review)
    assert "2026-01-01..2026-01-31 (declared by the config's period (" in ha207(config)
    assert ".harness-audit.yaml)" in ha207(config)
