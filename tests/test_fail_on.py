"""Issue 26, item 2: gates by severity. ``--fail-on critical|high|medium|low`` exits 1 when an
unwaived finding is at or above that severity, and only then; ``scan`` and ``report`` take the
same option and the same ``fail-on`` config key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode
from harness_audit.findings import SEVERITY_ORDER

from .conftest import SAMPLES

runner = CliRunner()
LEVELS = ("critical", "high", "medium", "low")


def _worst(path: Path, *args: str) -> int:
    """The highest severity of an unwaived finding in ``scan --format json``."""
    r = runner.invoke(app, ["scan", str(path), "-f", "json", "--fail-on", "never", *args])
    assert r.exit_code == ExitCode.OK, r.output
    data = json.loads(r.stdout)
    found = [
        SEVERITY_ORDER[f["severity"]]
        for p in data["pipelines"]
        for f in p["findings"]
        if not f["waived"] and not f["baselined"]
    ]
    return max(found, default=-1)


@pytest.mark.parametrize("sample", ["loan-assessment", "research-crew", "support-refunds"])
@pytest.mark.parametrize("level", LEVELS)
def test_scan_fails_at_a_severity_and_only_then(sample: str, level: str) -> None:
    path = SAMPLES / sample
    worst = _worst(path, "--no-trails")
    r = runner.invoke(app, ["scan", str(path), "--no-trails", "--fail-on", level])
    want = ExitCode.FINDINGS if worst >= SEVERITY_ORDER[level] else ExitCode.OK
    assert r.exit_code == want, (sample, level, worst, r.output)


def test_a_band_gate_misses_criticals_a_severity_gate_does_not(tmp_path: Path) -> None:
    """One agent with every finding critical keeps its pipeline under audit-will-fail only when
    few checks fail; `--fail-on critical` catches it whatever the band."""
    manifest = SAMPLES / "loan-assessment"
    worst = _worst(manifest, "--no-trails")
    assert worst == SEVERITY_ORDER["critical"]
    r = runner.invoke(app, ["scan", str(manifest), "--no-trails", "--fail-on", "critical"])
    assert r.exit_code == ExitCode.FINDINGS


def test_report_reads_fail_on_from_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "harness.yaml").write_text((SAMPLES / "research-crew" / "harness.yaml").read_text())
    monkeypatch.chdir(project)
    args = ["report", "harness.yaml", "--no-trails", "--no-pdf"]
    r = runner.invoke(app, [*args, "-o", str(tmp_path / "a")])
    assert r.exit_code == ExitCode.FINDINGS, r.output  # by default: any failed check
    (project / "pyproject.toml").write_text('[tool.harness-audit]\nfail-on = "never"\n')
    r = runner.invoke(app, [*args, "-o", str(tmp_path / "b")])
    assert r.exit_code == ExitCode.OK, r.output
    r = runner.invoke(app, [*args, "-o", str(tmp_path / "c"), "--fail-on", "low"])
    assert r.exit_code == ExitCode.FINDINGS, r.output  # the flag wins over the config
