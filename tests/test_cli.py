"""The command line end to end: in-process (typer's runner) and through the installed script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness_audit import __version__
from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode

from .conftest import SAMPLES

LOAN = SAMPLES / "loan-assessment" / "harness.yaml"
HARDENED = SAMPLES / "loan-assessment-hardened" / "harness.yaml"
runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_exit_codes_are_the_contract() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2]


HARDENED_KEY = str(HARDENED.parent / "keys" / "trail.pub")


def test_exit_ok_on_an_audit_ready_pipeline() -> None:
    """Issue 22: audit-ready, exit 0, only with the key pinned; without it every declared pass
    is not proven (exit 1), and a design review (--no-trails) says so."""
    r = invoke("scan", str(HARDENED), "--key", HARDENED_KEY)
    assert r.exit_code == ExitCode.OK, r.output
    assert "audit-ready" in r.stdout and "basis: operating evidence" in r.stdout
    r = invoke("scan", str(HARDENED))
    assert r.exit_code == ExitCode.FINDINGS, r.output
    assert "? not proven" in r.stdout and "not pinned" in r.stdout
    r = invoke("scan", str(HARDENED), "--no-trails")
    assert r.exit_code == ExitCode.OK, r.output
    assert "basis: design review: what the manifest declares" in " ".join(r.stdout.split())


def test_exit_findings_on_gaps() -> None:
    r = invoke("scan", str(LOAN))
    assert r.exit_code == ExitCode.FINDINGS
    assert "audit-will-fail" in r.stdout and "HA-003" in r.stdout


def test_exit_usage_on_bad_arguments() -> None:
    assert invoke("scan", "--format", "yaml").exit_code == ExitCode.USAGE
    assert invoke("no-such-command").exit_code == ExitCode.USAGE


def test_version_and_help() -> None:
    assert invoke("--version").stdout.startswith(f"harness-audit {__version__} (verifier core: ")
    for flag in ("-h", "--help"):
        r = invoke(flag)
        assert r.exit_code == 0 and "scan" in r.stdout and "rules" in r.stdout
    assert "--fail-on" in invoke("scan", "-h").stdout


def test_json_shape_matches_cli_md() -> None:
    r = invoke("scan", str(SAMPLES), "--format", "json")
    assert r.exit_code == ExitCode.FINDINGS
    data = json.loads(r.stdout)
    assert data["tool"] == {"name": "harness-audit", "version": __version__}
    p = next(p for p in data["pipelines"] if p["name"] == "loan-assessment")
    assert {"name", "file", "score", "band", "agents", "findings"} <= set(p)
    assert (p["score"], p["band"]) == (7, "audit-will-fail")
    agent = p["agents"][0]
    assert {"id", "score", "band", "checks"} <= set(agent)
    check = agent["checks"]["has_audit_trail"]
    assert check["status"] in ("pass", "fail", "n/a") and check["reason"]
    assert "CC7.2" in check["controls"] and "Art. 12(1)" in check["controls"]
    f = p["findings"][0]
    assert {"rule", "check", "agent", "severity", "message", "file", "line"} <= set(f)
    assert f["rule"].startswith("HA-") and isinstance(f["line"], int) and f["line"] > 0


@pytest.mark.parametrize(
    ("fail_on", "path", "code", "more"),
    [
        ("any", LOAN, 1, ()),
        ("at-risk", LOAN, 1, ()),
        ("audit-will-fail", LOAN, 1, ()),
        ("never", LOAN, 0, ()),
        # a design review of support-refunds scores 3 (at risk); its trails add not-proven
        ("audit-will-fail", SAMPLES / "support-refunds", 0, ("--no-trails",)),
        ("at-risk", SAMPLES / "support-refunds", 1, ("--no-trails",)),
        ("audit-will-fail", SAMPLES / "support-refunds", 1, ()),
        ("any", HARDENED, 0, ("--key", HARDENED_KEY)),
        ("any", HARDENED, 1, ()),  # not proven without the key pinned: fails like a fail
    ],
)
def test_fail_on(fail_on: str, path: Path, code: int, more: tuple[str, ...]) -> None:
    r = invoke("scan", str(path), "--fail-on", fail_on, "-f", "json", *more)
    assert r.exit_code == code


def test_output_files_several_formats(tmp_path: Path) -> None:
    out_json, out_table = tmp_path / "r" / "scan.json", tmp_path / "scan.txt"
    r = invoke("scan", str(LOAN), "--output", f"json={out_json}", "-o", f"table={out_table}")
    assert r.exit_code == ExitCode.FINDINGS
    assert r.stdout == ""
    assert json.loads(out_json.read_text())["pipelines"][0]["score"] == 7
    assert "audit-will-fail" in out_table.read_text()
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_output_never_overwrites_an_input(tmp_path: Path) -> None:
    copy = tmp_path / "harness.yaml"
    shutil.copy(LOAN, copy)
    before = copy.read_bytes()
    r = invoke("scan", str(copy), "--output", str(copy))
    assert r.exit_code == ExitCode.USAGE and "is an input" in r.stderr
    assert copy.read_bytes() == before


def test_failed_run_leaves_no_output_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.harness.yaml"
    bad.write_text("apiVersion: nope\n")
    out = tmp_path / "out.json"
    r = invoke("scan", str(bad), "-o", f"json={out}")
    assert r.exit_code == ExitCode.USAGE and not out.exists()


def test_unknown_output_format(tmp_path: Path) -> None:
    r = invoke("scan", str(LOAN), "-o", f"yaml={tmp_path / 'x'}")
    assert r.exit_code == ExitCode.USAGE and "unknown format 'yaml'" in r.stderr


def test_scan_defaults_to_the_current_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SAMPLES / "loan-assessment-hardened")
    assert invoke("scan", "--key", "keys/trail.pub").exit_code == ExitCode.OK  # issue 22: pinned


def test_rules_list_and_show() -> None:
    r = invoke("rules")
    assert r.exit_code == 0 and "HA-001" in r.stdout and "HA-102" in r.stdout
    data = json.loads(invoke("rules", "--format", "json").stdout)
    assert len(data["rules"]) >= 7
    shown = invoke("rules", "show", "HA-003")
    assert shown.exit_code == 0
    assert "access_enforced_at_harness" in shown.stdout and "CC6.1" in shown.stdout
    assert "LLM06:2025" in shown.stdout and "fix:" in shown.stdout
    assert "HA-006" in invoke("rules", "show", "human_gate_for_destructive_ops").stdout
    missing = invoke("rules", "show", "HA-03")
    assert missing.exit_code == ExitCode.USAGE and "did you mean" in missing.stderr


def test_markup_in_agent_text_is_not_interpreted(write_manifest, manifest) -> None:
    manifest["agents"][0]["tools"][0].update(name="x[bold]y[/]", scope="elsewhere")
    r = invoke("scan", str(write_manifest(manifest)))
    assert "tool'x[bold]y[/]'usesscope" in "".join(r.stdout.split())


# --- through the installed entry point -------------------------------------------------------


def entry_point() -> str:
    exe = shutil.which("harness-audit")
    if exe is None:
        pytest.fail("the harness-audit script is not installed (pip install -e .)")
    return exe


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [entry_point(), *args], capture_output=True, text=True, cwd=cwd, timeout=60, check=False
    )


def test_installed_version() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith(f"harness-audit {__version__} (verifier core")


def test_installed_scan_of_the_samples() -> None:
    r = run("scan", str(SAMPLES), "--format", "json")
    assert r.returncode == ExitCode.FINDINGS, r.stderr
    assert {p["name"] for p in json.loads(r.stdout)["pipelines"]} >= {"loan-assessment"}


def test_installed_bad_input_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "harness.yaml"
    bad.write_text("agents: [\n")
    r = run("scan", str(bad))
    assert r.returncode == ExitCode.USAGE
    assert "Traceback" not in r.stderr and f"{bad}:" in r.stderr


def test_python_dash_m() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "harness_audit", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and __version__ in r.stdout


def test_version_fast_path_says_what_the_command_line_says() -> None:
    """Issue 28, item 4: `--version` alone is answered before typer builds the command line;
    it prints exactly what the option prints."""
    import subprocess
    import sys

    from typer.testing import CliRunner as _Runner

    from harness_audit.cli._cli import app as _app

    fast = subprocess.run(
        [sys.executable, "-c", "from harness_audit.cli import main; main()", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert fast.stdout == _Runner().invoke(_app, ["--version"]).stdout
    assert fast.stdout.startswith("harness-audit ")
