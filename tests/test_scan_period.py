"""``scan`` judges coverage against the same period of review as ``report`` (issue 22, item 1):
``--period`` on both, ``period`` in ``[tool.harness-audit]`` read by both; with none, the
trails' own span."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app

from .conftest import SAMPLES

HARDENED = SAMPLES / "loan-assessment-hardened"
KEY = HARDENED / "keys" / "trail.pub"
SPAN = "2026-09-01T08:00:00Z..2026-09-02T06:45:22Z"  # the sample trail's own span


def scan(*args: str) -> tuple[int, dict[str, object]]:
    r = CliRunner().invoke(app, ["scan", *args, "--key", str(KEY), "-f", "json"])
    return r.exit_code, json.loads(r.stdout)["pipelines"][0]


def test_a_period_the_trail_covers_keeps_the_hardened_sample_audit_ready() -> None:
    code, p = scan(str(HARDENED), "--period", SPAN)
    assert code == 0 and p["band"] == "audit-ready"
    assert "declared period" in str(p["basis"])


def test_a_period_the_trail_does_not_cover_is_not_audit_ready() -> None:
    code, p = scan(str(HARDENED), "--period", "2026-08-01..2026-09-30")
    assert code == 1 and p["band"] != "audit-ready"


def test_scan_reads_the_period_from_the_project_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    shutil.copytree(HARDENED, project)
    (project / "pyproject.toml").write_text(
        '[tool.harness-audit]\nperiod = "2026-08-01..2026-09-30"\n'
    )
    monkeypatch.chdir(project)
    code, p = scan(".")
    assert code == 1 and "2026-08-01..2026-09-30" in str(p["basis"])
