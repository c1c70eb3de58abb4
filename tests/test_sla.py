"""The reliability math (SLA.md): closed forms, properties, and a Monte Carlo cross-check."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode
from harness_audit.manifest import load_manifest
from harness_audit.sla import (
    allocate_arinc,
    allocate_equal,
    analyse,
    confidence_bounds,
    decompose,
    error_budget_hours_per_year,
    error_budget_minutes,
    judge_observed,
    observe,
    quorum,
    retried,
    runs_to_claim,
    series,
    what_if,
    with_fallbacks,
)

from .conftest import SAMPLES

p_ = st.floats(0.5, 1.0, exclude_min=True)


# closed-form known answers
def test_ten_stages_at_99() -> None:
    assert series([0.99] * 10) == pytest.approx(0.904382075, abs=1e-9)


def test_error_budgets() -> None:
    assert error_budget_hours_per_year(0.999) == pytest.approx(8.76)
    assert error_budget_minutes(0.999, 30) == pytest.approx(43.2)


def test_two_of_three() -> None:
    assert quorum(0.99, 3, 2) == pytest.approx(0.999702, abs=1e-12)


def test_zero_failures_runs_to_claim() -> None:
    assert runs_to_claim(0.999) == 2995
    lower, _, method = confidence_bounds(2995, 2995)
    assert lower >= 0.999 and method == "clopper-pearson"
    assert confidence_bounds(2994, 2994)[0] < 0.999


def test_equal_allocation_of_the_example() -> None:
    assert allocate_equal(0.999, 5)[0] == pytest.approx(0.9998, abs=1e-6)


def test_retry_and_fallback_forms() -> None:
    assert retried(0.9, 1) == pytest.approx(0.99)
    assert with_fallbacks(0.9, [0.8], 0.5) == pytest.approx(0.9 + 0.1 * 0.5 * 0.8)


def test_wilson_against_a_known_value() -> None:
    # 990/1000 at one-sided 95% (z = 1.645): Wilson lower bound 0.98334
    assert confidence_bounds(990, 1000)[0] == pytest.approx(0.98334, abs=1e-5)


# properties
@settings(max_examples=200)
@given(st.lists(p_, min_size=1, max_size=12))
def test_compound_never_exceeds_the_weakest_stage(ps: list[float]) -> None:
    assert series(ps) <= min(ps) + 1e-15


@given(p_, st.integers(0, 5))
def test_retries_never_lower_reliability(p: float, r: int) -> None:
    assert retried(p, r + 1) >= retried(p, r) >= p - 1e-15


@given(st.floats(0.5, 1.0), st.integers(1, 20))
def test_equal_allocation_product_is_the_target(target: float, n: int) -> None:
    assert math.prod(allocate_equal(target, n)) == pytest.approx(target, rel=1e-12)


@given(st.floats(0.5, 1.0), st.lists(p_, min_size=1, max_size=10))
def test_arinc_product_is_the_target(target: float, ps: list[float]) -> None:
    assert math.prod(allocate_arinc(target, ps)) == pytest.approx(target, rel=1e-9)


@given(st.integers(1, 400), st.data())
def test_bounds_contain_the_estimate(n: int, data: Any) -> None:
    k = data.draw(st.integers(0, n))
    lo, hi, _ = confidence_bounds(k, n)
    assert 0 <= lo <= k / n <= hi <= 1


# a mixed topology, by formula and by simulation
def test_monte_carlo_agrees_with_the_formula(write_manifest, manifest) -> None:
    manifest["slo"]["target"] = 0.9
    manifest["shared_dependencies"] = [{"name": "api", "availability": 0.97, "used_by": ["a"]}]
    a = manifest["agents"][0]
    a["stage"] = {"reliability": 0.8, "retries": 1, "fallback": ["fb"], "coverage": 0.9}
    fb = {"id": "fb", "model": a["model"], "stage": {"reliability": 0.7}}
    vote = {
        "id": "vote",
        "model": a["model"],
        "depends_on": ["a"],
        "stage": {"reliability": 0.85, "replicas": 3, "quorum": 2, "retries": 1},
    }
    manifest["agents"] += [fb, vote]
    d = decompose(load_manifest(write_manifest(manifest)))
    rnd = random.Random(7)
    n = 200_000

    def attempt(p: float) -> bool:
        return rnd.random() < p

    ok = 0
    for _ in range(n):
        s1 = attempt(0.8) or attempt(0.8)
        if not s1 and attempt(0.9):
            s1 = attempt(0.7)
        votes = any(sum(attempt(0.85) for _ in range(3)) >= 2 for _ in range(2))
        ok += s1 and votes and attempt(0.97)
    estimate = ok / n
    se = math.sqrt(estimate * (1 - estimate) / n)
    assert d.compound is not None
    assert abs(estimate - d.compound) < 4 * se, (estimate, d.compound)


# observed rates from trails
def test_observed_counts_on_a_sample() -> None:
    from harness_audit.trail.reader import read_events

    p = load_manifest(SAMPLES / "support-refunds" / "harness.yaml")
    obs = observe(p, (e for _, _, e in read_events([SAMPLES / "support-refunds" / "trails"])))
    assert obs.runs == 32 and obs.open_runs == 0
    assert {a: (c.attempts, c.successes) for a, c in obs.counts.items()}["resolver"] == (32, 32)


def test_a_failing_stage_and_the_stages_after_it(write_manifest, manifest) -> None:
    from types import SimpleNamespace as E

    b = dict(manifest["agents"][0], id="b", depends_on=["a"])
    manifest["agents"].append(b)
    p = load_manifest(write_manifest(manifest))

    def ev(run: str, agent: str, kind: str, **kw: Any) -> Any:
        return E(run=run, agent=agent, kind=kind, outcome=kw.get("outcome"))

    events = [
        ev("1", "a", "model_call"),
        ev("1", "b", "model_call"),
        ev("1", "harness", "run_end"),
        ev("2", "a", "error"),
        ev("2", "harness", "run_end"),
        ev("3", "a", "tool_call", outcome="ok"),
        ev("3", "harness", "run_end"),
        ev("4", "a", "model_call"),
    ]
    obs = observe(p, events)
    got = {k: (c.attempts, c.successes) for k, c in obs.counts.items()}
    # run 2: a failed, so b was never attempted; run 3: b never ran though a succeeded
    assert got == {"a": (3, 2), "b": (2, 1)} and obs.open_runs == 1


@pytest.mark.parametrize(
    ("k", "n", "verdict"),
    [(3000, 3000, "meets"), (900, 1000, "misses"), (100, 100, "not enough data")],
)
def test_verdicts(k: int, n: int, verdict: str) -> None:
    assert judge_observed(k, n, 0.999).verdict == verdict


# what-if and the command
def test_what_if_changes_the_compound() -> None:
    p = load_manifest(SAMPLES / "loan-assessment" / "harness.yaml")
    before = analyse(p).compound
    after = analyse(what_if(p, "credit_risk.retries=2")).compound
    assert before is not None and after is not None and after > before
    assert analyse(what_if(p, "slo.target=0.9")).meets_target is True


def test_analyse_manifests_keeps_the_reports_before_the_changes() -> None:
    from harness_audit.errors import UsageError
    from harness_audit.sla.analysis import analyse_manifests

    loan = SAMPLES / "loan-assessment" / "harness.yaml"
    plain = analyse_manifests([loan])
    assert plain.before is None and plain.changes == () and plain.fails
    changed = analyse_manifests([loan], changes=["slo.target=0.9"])
    assert changed.before == plain.reports and not changed.fails
    with pytest.raises(UsageError, match="--set"):
        analyse_manifests([loan], changes=["noequals"])


@pytest.mark.parametrize(
    "bad",
    [
        "credit_risk.reliability=1.5",
        "credit_risk.reliability=0",
        "nobody.reliability=0.9",
        "credit_risk.colour=red",
        "credit_risk.quorum=3",
        "credit_risk.retries=x",
        "noequals",
    ],
)
def test_bad_what_if_exits_2(bad: str) -> None:
    r = CliRunner().invoke(
        app, ["sla", str(SAMPLES / "loan-assessment" / "harness.yaml"), "--set", bad]
    )
    assert r.exit_code == ExitCode.USAGE and "--set" in r.stderr


def test_sla_command_json_and_exit_codes() -> None:
    runner = CliRunner()
    miss = runner.invoke(
        app, ["sla", str(SAMPLES / "loan-assessment" / "harness.yaml"), "-f", "json"]
    )
    assert miss.exit_code == ExitCode.FINDINGS
    data = json.loads(miss.stdout)
    assert data["target"] == 0.999 and data["meets_target"] is False
    assert data["error_budget"] == {"per_year_hours": 8.76, "per_window_minutes": 43.2}
    stage = data["stages"][0]
    assert {"agent", "declared", "effective", "required", "headroom"} <= set(stage)
    assert stage["required"] == pytest.approx(0.9998, abs=1e-6)
    ok = runner.invoke(
        app,
        [
            "sla",
            str(SAMPLES / "support-refunds" / "harness.yaml"),
            "--trails",
            str(SAMPLES / "support-refunds" / "trails"),
            "--allocate",
            "arinc",
            "-f",
            "json",
        ],
    )
    assert ok.exit_code == ExitCode.OK
    observed = [s["observed"] for s in json.loads(ok.stdout)["stages"] if "observed" in s]
    assert observed and all(
        o["verdict"] == "not enough data" and o["runs_needed"] > 2000 for o in observed
    )
    cost = runner.invoke(
        app, ["sla", str(SAMPLES / "support-refunds" / "harness.yaml"), "--allocate", "cost"]
    )
    assert cost.exit_code == ExitCode.USAGE  # not offered: the manifest has no cost curve
    assert "cost" not in runner.invoke(app, ["sla", "--help"]).stdout.split("--allocate")[1][:40]


def test_what_if_shows_before_and_after_side_by_side(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "150")
    runner = CliRunner()
    loan = str(SAMPLES / "loan-assessment" / "harness.yaml")
    r = runner.invoke(app, ["sla", loan, "--set", "credit_risk.retries=2"])
    assert "what-if: credit_risk.retries=2" in r.stdout
    row = next(x for x in r.stdout.splitlines() if x.strip().startswith("credit_risk  "))
    assert "99.000%" in row and "100.000%" in row  # effective before and after
    data = json.loads(
        runner.invoke(app, ["sla", loan, "--set", "credit_risk.retries=2", "-f", "json"]).stdout
    )
    assert data["what_if"]["changes"] == ["credit_risk.retries=2"]
    assert data["what_if"]["before"]["compound"] < data["compound"]


@pytest.mark.parametrize(
    "name", ["reliability_above_one", "quorum_above_replicas", "fallback_to_itself"]
)
def test_impossible_models_exit_2_with_the_line(name: str) -> None:
    from .conftest import DATA

    path = DATA / "manifests" / "bad" / f"{name}.harness.yaml"
    r = CliRunner().invoke(app, ["sla", str(path)])
    assert r.exit_code == ExitCode.USAGE and f"{path}:8:" in r.stderr


def test_missing_target_fails(write_manifest, manifest) -> None:
    del manifest["slo"]
    r = CliRunner().invoke(app, ["sla", str(write_manifest(manifest))])
    assert r.exit_code == ExitCode.FINDINGS


def test_a_call_of_unknown_outcome_is_no_success() -> None:
    """Unknown is not zero: a stage whose tool call's outcome the source did not state
    (``x_outcome: "unknown"``, an import's marker; ``outcome`` says ``ok``) is neither a
    success nor an attempt of the observed rate; it is counted as unknown, and the check's
    pass is then not proven."""
    import msgspec

    from harness_audit.trail.events import AnyEvent, ToolCall

    p = load_manifest(SAMPLES / "support-refunds" / "harness.yaml")
    agent = next(a.id for a in p.agents if a.in_trail and not a.depends_on)
    base = {"v": 1, "seq": 0, "ts": "2026-01-01T00:00:00Z", "parent": None, "prev": "0" * 64}
    base["hash"] = "0" * 64

    def event(run: str, extra: dict[str, Any]) -> Any:
        return msgspec.json.decode(json.dumps(base | {"run": run} | extra), type=AnyEvent)

    call = {"span": "c", "agent": agent, "kind": "tool_call", "tool": "t", "effect": "read"}
    call |= {"scope": "s", "outcome": "ok"}
    end = {"span": "e", "agent": "harness", "kind": "run_end", "pipeline": p.name}
    end["outcome"] = "ok"
    events = [
        event("known", call),
        event("known", end),
        event("unstated", call | {"x_outcome": "unknown"}),
        event("unstated", end),
    ]
    assert isinstance(events[2], ToolCall) and events[2].x_outcome == "unknown"
    c = observe(p, events).counts[agent]
    assert (c.attempts, c.successes, c.unknown) == (1, 1, 1)
