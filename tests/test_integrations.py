"""The GitHub Action's script steps and the pre-commit hook, run for real."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from .conftest import ROOT, SAMPLES


def run_scan_step(
    tmp_path: Path, given: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """The Action's scan step as the runner runs it: inputs a workflow does not set are ''."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    scan = next(s for s in action["runs"]["steps"] if s.get("id") == "scan")
    inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()} | given

    def expand(text: str) -> str:
        return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)], text)

    assert "inputs." not in scan["run"], "inputs reach the script only through env"
    out, summary = tmp_path / "out", tmp_path / "summary"
    env = dict(os.environ, GITHUB_OUTPUT=str(out), GITHUB_STEP_SUMMARY=str(summary))
    env |= {k: expand(v) for k, v in scan["env"].items()}
    done = subprocess.run(
        ["bash", "-e", "-c", scan["run"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done, out, summary


def test_action_scan_step_writes_sarif_summary_and_exit_code(tmp_path: Path) -> None:
    done, out, summary = run_scan_step(tmp_path, {"paths": str(SAMPLES)})
    assert done.returncode == 0, done.stderr
    assert out.read_text().strip() == "exit-code=1"
    assert summary.read_text().startswith("## harness-audit")
    assert (tmp_path / "harness-audit.sarif").stat().st_size > 1000
    steps = yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]
    last = steps[-1]["run"].replace("${{ steps.scan.outputs.exit-code }}", "1")
    assert subprocess.run(["bash", "-c", last], check=False).returncode == 1
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert "exit-code != '2'" in upload["if"]


def test_action_inputs_left_unset_let_the_config_decide(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.harness-audit]\npaths = ["loan"]\nfail-on = "never"\n'
    )
    shutil.copytree(SAMPLES / "loan-assessment", tmp_path / "loan")
    done, out, _ = run_scan_step(tmp_path, {})
    assert done.returncode == 0, done.stderr
    assert out.read_text().strip() == "exit-code=0"  # fail-on never, from the config
    assert "loan-assessment" in (tmp_path / "harness-audit.sarif").read_text()


def test_action_inputs_are_never_shell_code(tmp_path: Path) -> None:
    _, out, _ = run_scan_step(tmp_path, {"paths": "$(touch pwned) `touch pwned2`;touch x"})
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    assert not (tmp_path / "x").exists()
    assert out.read_text().strip() == "exit-code=2"  # no such manifests


def test_pre_commit_hook_entry(tmp_path: Path) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    files = re.compile(hook["files"])
    assert files.search("pipelines/harness.yaml") and files.search("x/loan.harness.yml")
    assert not files.search("harness.yaml.bak")
    entry = hook["entry"].split()
    exe = shutil.which(entry[0])
    assert exe, "the hook's entry is the installed script"
    clean = subprocess.run(
        [exe, *entry[1:], str(SAMPLES / "loan-assessment-hardened" / "harness.yaml")],
        capture_output=True,
        check=False,
    )
    dirty = subprocess.run(
        [exe, *entry[1:], str(SAMPLES / "loan-assessment" / "harness.yaml")],
        capture_output=True,
        check=False,
    )
    assert (clean.returncode, dirty.returncode) == (0, 1)
