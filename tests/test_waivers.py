"""Waivers, baselines and project configuration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode

from .conftest import SAMPLES

runner = CliRunner()
REFUNDS = SAMPLES / "support-refunds"
WAIVER: dict[str, Any] = {
    "pipeline": "support-refunds",
    "agent": "*",
    "justification": "Accepted until the gateway migration lands.",
    "owner": "support-eng@example.com",
    "ticket": "RISK-1",
    "expires": "2099-12-31",
}
EVERY_RULE = ["HA-003", "HA-005", "HA-006", "HA-102", "HA-207", "HA-007"]
# issue 22: with its key pinned the sample's passes are proven, but senior_agent's checks are
# not (no event of its own): HA-007 (its SLA stage) joined the list; without the key every
# declared pass is not proven, a finding of its rule each
KEY = ("--key", str(SAMPLES / "support-refunds" / "keys" / "trail.pub"))


def waivers_file(tmp: Path, *waivers: dict[str, Any]) -> Path:
    p = tmp / "waivers.yaml"
    p.write_text(yaml.safe_dump({"waivers": list(waivers)}))
    return p


def run(*args: str) -> Any:
    return runner.invoke(app, ["scan", *args])


def test_waived_findings_stay_visible_but_do_not_fail(tmp_path: Path) -> None:
    w = waivers_file(tmp_path, *({**WAIVER, "rule": r} for r in EVERY_RULE))
    r = run(str(REFUNDS), "--waivers", str(w), "-f", "json", *KEY)
    assert r.exit_code == ExitCode.OK, r.output
    data = json.loads(r.stdout)
    findings = data["pipelines"][0]["findings"]
    assert findings and all(f["waived"] for f in findings if f["severity"] != "info")
    assert {w["state"] for w in data["waivers"]} == {"active"}
    sarif = json.loads(run(str(REFUNDS), "--waivers", str(w), "-f", "sarif", *KEY).stdout)
    assert all(
        res["suppressions"][0]["justification"]
        for res in sarif["runs"][0]["results"]
        if res["properties"]["severity"] != "info"
    )
    junit = run(str(REFUNDS), "--waivers", str(w), "-f", "junit", *KEY).stdout
    assert "waived: Accepted until the gateway migration lands." in junit


def test_expired_waiver_fails_closed(tmp_path: Path) -> None:
    w = waivers_file(
        tmp_path, *({**WAIVER, "rule": r, "expires": "2020-01-01"} for r in EVERY_RULE)
    )
    r = run(str(REFUNDS), "--waivers", str(w), "-f", "json")
    assert r.exit_code == ExitCode.FINDINGS
    assert "expired waiver for HA-006" in r.stderr
    assert {w["state"] for w in json.loads(r.stdout)["waivers"]} == {"expired"}


def test_stale_waiver_is_reported(tmp_path: Path) -> None:
    w = waivers_file(tmp_path, {**WAIVER, "rule": "HA-101"})
    r = run(str(REFUNDS), "--waivers", str(w))
    assert "stale waiver for HA-101" in r.stderr and r.exit_code == ExitCode.FINDINGS


@pytest.mark.parametrize(
    "missing", ["rule", "justification", "owner", "ticket", "expires", "agent"]
)
def test_waiver_missing_a_field_exits_2(tmp_path: Path, missing: str) -> None:
    bad = {**WAIVER, "rule": "HA-006"}
    del bad[missing]
    w = waivers_file(tmp_path, bad)
    r = run(str(REFUNDS), "--waivers", str(w))
    assert r.exit_code == ExitCode.USAGE and f"'{missing}' is a required property" in r.stderr
    assert f"{w}:" in r.stderr


def test_default_waiver_file_is_picked_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".harness-audit-waivers.yaml").write_text(
        yaml.safe_dump({"waivers": [{**WAIVER, "rule": r} for r in EVERY_RULE]})
    )
    assert run(str(REFUNDS), *KEY).exit_code == ExitCode.OK


def test_baseline_round_trip(tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    first = run(str(SAMPLES), "--write-baseline", str(base), "-f", "json")
    assert first.exit_code == ExitCode.FINDINGS and json.loads(base.read_text())["fingerprints"]
    again = run(str(SAMPLES), "--baseline", str(base), "-f", "json")
    assert again.exit_code == ExitCode.OK
    assert all(f["baselined"] for p in json.loads(again.stdout)["pipelines"] for f in p["findings"])
    # a new finding fails the build
    src = (SAMPLES / "loan-assessment-hardened" / "harness.yaml").read_text()
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "harness.yaml").write_text(
        src.replace(
            "enforced_at: harness, scopes: [email:send]",
            "enforced_at: prompt, scopes: [email:send]",
        )
    )
    new = run(str(tmp_path / "x"), "--baseline", str(base), "--no-trails", "-f", "json")
    assert new.exit_code == ExitCode.FINDINGS
    open_ = [
        f
        for p in json.loads(new.stdout)["pipelines"]
        for f in p["findings"]
        if not f["baselined"] and f["severity"] != "info"
    ]
    assert [f["rule"] for f in open_] == ["HA-003"]


def test_bad_baseline_exits_2(tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    base.write_text("{}")
    assert run(str(SAMPLES), "--baseline", str(base)).exit_code == ExitCode.USAGE


def test_config_defaults_and_flags_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.harness-audit]\npaths = ["refunds"]\nfail-on = "never"\nformat = "csv"\n'
    )
    shutil.copytree(REFUNDS, tmp_path / "refunds")
    r = run()
    assert r.exit_code == ExitCode.OK and r.stdout.startswith("pipeline,agent,rule")
    assert run("--fail-on", "any").exit_code == ExitCode.FINDINGS
    assert run("-f", "json").stdout.lstrip().startswith("{")


def test_unknown_setting_has_a_suggestion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".harness-audit.yaml").write_text("fail_on: never\n")
    r = run(str(REFUNDS))
    assert r.exit_code == ExitCode.USAGE and "did you mean 'fail-on'" in r.stderr


def test_an_expired_waiver_fails_even_when_the_baseline_holds_the_finding(tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    assert run(str(REFUNDS), "--write-baseline", str(base)).exit_code == ExitCode.FINDINGS
    assert run(str(REFUNDS), "--baseline", str(base)).exit_code == ExitCode.OK
    expired = waivers_file(
        tmp_path, *({**WAIVER, "rule": r, "expires": "2020-01-01"} for r in EVERY_RULE)
    )
    r = run(str(REFUNDS), "--baseline", str(base), "--waivers", str(expired), "-f", "json")
    assert r.exit_code == ExitCode.FINDINGS
    counted = [
        f
        for p in json.loads(r.stdout)["pipelines"]
        for f in p["findings"]
        if not f["baselined"] and not f.get("waived")
    ]
    assert counted and "expired waiver" in r.stderr


def test_write_baseline_with_a_configured_baseline_that_does_not_exist_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.harness-audit]\npaths = ["refunds"]\nbaseline = "base.json"\n'
    )
    shutil.copytree(REFUNDS, tmp_path / "refunds")
    assert run().exit_code == ExitCode.USAGE  # reading a baseline that is not there
    assert run("--write-baseline", "base.json").exit_code == ExitCode.FINDINGS
    assert json.loads((tmp_path / "base.json").read_text())["fingerprints"]
    assert run().exit_code == ExitCode.OK


def test_the_warning_wording_of_a_waiver_state() -> None:
    import datetime as dt

    from harness_audit.waivers import Waiver, WaiverState

    expires = dt.date(2020, 1, 1)
    w = Waiver("HA-106", "p", "*", "why", "a@example.com", "SEC-1", expires, 3, "w.yaml")
    assert WaiverState(w, "active", 1).warning() is None
    assert WaiverState(w, "expired", 1).warning() == (
        "w.yaml:3: expired waiver for HA-106 on p/* (ticket SEC-1, expires 2020-01-01): "
        "its findings count again"
    )
    assert str(WaiverState(w, "stale", 0).warning()).endswith(": it matches no finding")


def test_a_baseline_is_written_only_where_it_replaces_no_input(tmp_path: Path) -> None:
    from harness_audit.audit import AuditRequest, run_audit
    from harness_audit.errors import UsageError
    from harness_audit.waivers import load_baseline, write_baseline

    run = run_audit(AuditRequest((REFUNDS,)))
    with pytest.raises(UsageError, match="is an input of this run"):
        run.refuse_overwriting([REFUNDS / "harness.yaml"])
    run.refuse_overwriting([tmp_path / "base.json"])
    count = write_baseline(run.assessment, tmp_path / "base.json")
    assert count == len(load_baseline(tmp_path / "base.json")) > 0
