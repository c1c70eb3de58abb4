"""What the commands do below the parsing (harness_audit/actions.py), called without the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness_audit import actions
from harness_audit.errors import ExitCode, HarnessAuditError, UsageError

from .conftest import SAMPLES

HARDENED = SAMPLES / "loan-assessment-hardened"
TRUST = {
    "key": None,
    "checkpoint": None,
    "trusted_state": None,
    "witness_key": None,
    "witness_quorum": None,
}
AUDIT = {
    **TRUST,
    "trails": None,
    "no_trails": False,
    "sample": 0,
    "seed": 0,
    "jobs": 1,
    "dask": None,
    "waivers": None,
    "period": None,
    "max_gap": None,
}


def said(e: HarnessAuditError) -> str:
    return " ".join(f"{d.message} {d.expected or ''}" for d in e.diagnostics())


def test_a_setting_is_named_as_the_flag_or_as_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert actions.setting_source("max_gap", set()) == "--max-gap"
    (tmp_path / "pyproject.toml").write_text('[tool.harness-audit]\nperiod = "x"\n')
    monkeypatch.chdir(tmp_path)
    assert actions.setting_source("period", {"period"}) == (
        f"the config's period ({Path('pyproject.toml')} [tool.harness-audit])"
    )


def test_the_trust_root_says_where_its_keys_came_from() -> None:
    s = {**TRUST, "key": ["a+b+c"], "witness_quorum": 2, "require_pinned": True}
    flag, config = actions.trust_root(s, set()), actions.trust_root(s, {"key"})
    assert (flag.key_source, config.key_source) == ("flag", "config")
    assert flag.keys == ("a+b+c",) and flag.quorum == 2 and flag.require_pinned
    assert not actions.trust_root(TRUST, set()).require_pinned  # verify does not take it


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("max_gap", "soon", "--max-gap"),
        ("sealed_late_after", "0h", "--sealed-late-after"),
        ("period", "2026-13-01..2026-01-01", "--period"),
    ],
)
def test_a_bad_duration_or_period_names_its_flag(setting: str, value: str, named: str) -> None:
    with pytest.raises(UsageError) as e:
        actions.audit_request({**AUDIT, setting: value}, set(), None, None)
    assert named in str(e.value.diagnostics())


def test_an_audit_request_takes_every_shared_setting() -> None:
    s = {**AUDIT, "sample": 3, "seed": 7, "jobs": 2, "max_gap": "90m", "no_trails": True}
    r = actions.audit_request(s, set(), [HARDENED], Path("b.json"))
    assert (r.paths, r.sample, r.seed, r.jobs, r.max_gap_s) == ((HARDENED,), 3, 7, 2, 5400.0)
    assert r.baseline == Path("b.json") and not r.use_trails and r.sealed_late_after_s is None
    assert actions.audit_request(AUDIT, set(), None, None).paths == (Path("."),)


def test_verify_renders_the_report_and_returns_its_exit_code() -> None:
    rendered: list[Any] = []
    s = {
        **TRUST,
        "trail": [HARDENED / "trails"],
        "key": [str(HARDENED / "keys" / "trail.pub")],
        "allow_unanchored": False,
        "jobs": 1,
        "dask": None,
        "fmt": "json",
        "output": None,
    }
    code = actions.verify(s, set(), lambda r, t: rendered.append((r, t)))
    assert code == ExitCode.OK and rendered[0][0].ok and rendered[0][1] == []
    code = actions.verify({**s, "key": None}, set(), lambda r, t: rendered.append((r, t)))
    assert code == ExitCode.FINDINGS and not rendered[1][0].ok  # no trusted key: not anchored


REPORT = {
    **AUDIT,
    "paths": None,
    "output": None,
    "key": None,
    "summary_only": False,
    "no_pdf": False,
    "sign_key": None,
    "population_out": None,
}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, "--output DIR is required"),
        ({"paths": ["verify"]}, "give one pack folder"),
        ({"paths": ["resample", "a", "b"], "size": 5}, "give one pack folder"),
        ({"output": Path("s.pdf"), "summary_only": True, "no_pdf": True}, "--no-pdf does not"),
        ({"output": Path("s.pdf"), "summary_only": True, "sign_key": Path("k")}, "--sign-key"),
    ],
)
def test_report_refuses_what_does_not_fit_together(given: dict[str, Any], expected: str) -> None:
    with pytest.raises(UsageError) as e:
        actions.report({**REPORT, **given}, set(), print, print)
    assert expected in said(e.value)


@pytest.mark.parametrize(
    "given",
    [
        {},
        {"run": "r", "list_runs": True},
        {"since": "2026-01-01"},
        {"subject": "s", "export": Path("x")},
    ],
)
def test_replay_takes_one_mode(given: dict[str, Any]) -> None:
    s = {
        **TRUST,
        "trail": [HARDENED / "trails"],
        "run": None,
        "subject": None,
        "since": None,
        "list_runs": False,
        "export": None,
        "manifest": None,
        "allow_unanchored": False,
        **given,
    }
    with pytest.raises(UsageError):
        actions.replay(s, set(), print, print)


def test_init_from_a_trail_takes_nothing_else() -> None:
    s = {"paths": [Path("x")], "source": "auto", "output": Path("-"), "name": None}
    s |= {"from_trail": HARDENED / "trails", "check": None, "force": False}
    with pytest.raises(UsageError) as e:
        actions.init(s, print, print, print)
    assert "drafts from a trail alone" in said(e.value)


def test_scan_writes_the_baseline_and_says_so(tmp_path: Path) -> None:
    lines: list[str] = []
    results: list[Any] = []
    baseline = tmp_path / "baseline.json"
    s = {**AUDIT, "paths": [SAMPLES / "loan-assessment"], "fmt": None, "output": None}
    s |= {"fail_on": "never", "baseline": baseline, "write_baseline": baseline}
    code = actions.scan(s, set(), lambda r, t: results.append(r), lines.append)
    assert code == ExitCode.OK and baseline.exists() and len(results) == 1
    assert any(line.startswith("wrote the baseline (") for line in lines), lines
