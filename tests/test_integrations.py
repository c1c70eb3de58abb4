"""The GitHub Action's script steps and the pre-commit hook, run for real."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from .conftest import ROOT, SAMPLES


def test_action_scan_step_writes_sarif_summary_and_exit_code(tmp_path: Path) -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    scan = next(s for s in steps if s.get("id") == "scan")
    inputs = {k: v["default"] for k, v in action["inputs"].items()}
    inputs["paths"] = str(SAMPLES)
    script = re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)],
                    scan["run"])
    out, summary = tmp_path / "out", tmp_path / "summary"
    env = dict(os.environ, GITHUB_OUTPUT=str(out), GITHUB_STEP_SUMMARY=str(summary))
    done = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert out.read_text().strip() == "exit-code=1"
    assert summary.read_text().startswith("## harness-audit")
    assert (tmp_path / "harness-audit.sarif").stat().st_size > 1000
    last = steps[-1]["run"].replace("${{ steps.scan.outputs.exit-code }}", "1")
    assert subprocess.run(["bash", "-c", last], check=False).returncode == 1
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert "exit-code != '2'" in upload["if"]


def test_pre_commit_hook_entry(tmp_path: Path) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    files = re.compile(hook["files"])
    assert files.search("pipelines/harness.yaml") and files.search("x/loan.harness.yml")
    assert not files.search("harness.yaml.bak")
    entry = hook["entry"].split()
    exe = shutil.which(entry[0])
    assert exe, "the hook's entry is the installed script"
    clean = subprocess.run([exe, *entry[1:], str(SAMPLES / "loan-assessment-hardened" /
                                                 "harness.yaml")], capture_output=True,
                           check=False)
    dirty = subprocess.run([exe, *entry[1:], str(SAMPLES / "loan-assessment" / "harness.yaml")],
                           capture_output=True, check=False)
    assert (clean.returncode, dirty.returncode) == (0, 1)
