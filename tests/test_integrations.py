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
        text = text.replace("${{ github.action_path }}", str(ROOT))
        return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)], text)

    assert "inputs." not in scan["run"], "inputs reach the script only through env"
    out, summary = tmp_path / "out", tmp_path / "summary"
    env = dict(os.environ, GITHUB_OUTPUT=str(out), GITHUB_STEP_SUMMARY=str(summary))
    env |= {k: expand(v) for k, v in scan["env"].items()}
    done = subprocess.run(
        ["bash", "-e", "-c", expand(scan["run"])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done, out, summary


def _outputs(out: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.read_text().splitlines())


def test_action_scan_step_writes_sarif_summary_and_exit_code(tmp_path: Path) -> None:
    done, out, summary = run_scan_step(tmp_path, {"paths": str(SAMPLES)})
    assert done.returncode == 0, done.stderr
    got = _outputs(out)
    # issue 26, item 2: the band, the gap score, the unwaived findings by severity, the SARIF
    assert got["exit-code"] == "1" and got["band"] == "audit-will-fail"
    assert int(got["gap-score"]) >= 4 and int(got["critical"]) > 0
    assert {"high", "medium", "low"} <= set(got) and got["sarif"] == "harness-audit.sarif"
    assert summary.read_text().startswith("## harness-audit")
    assert (tmp_path / "harness-audit.sarif").stat().st_size > 1000
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(got) == set(action["outputs"])
    steps = action["runs"]["steps"]
    last = steps[-1]
    code = subprocess.run(["bash", "-c", last["run"]], env={"HA_CODE": "1"}, check=False)
    assert code.returncode == 1
    for step in steps:  # third-party actions pinned by full commit SHA
        if "uses" in step:
            assert re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert "exit-code != '2'" in upload["if"]


def test_action_inputs_left_unset_let_the_config_decide(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.harness-audit]\npaths = ["loan"]\nfail-on = "never"\n'
    )
    shutil.copytree(SAMPLES / "loan-assessment", tmp_path / "loan")
    done, out, _ = run_scan_step(tmp_path, {})
    assert done.returncode == 0, done.stderr
    assert _outputs(out)["exit-code"] == "0"  # fail-on never, from the config
    assert "loan-assessment" in (tmp_path / "harness-audit.sarif").read_text()


def test_action_inputs_are_never_shell_code(tmp_path: Path) -> None:
    _, out, _ = run_scan_step(tmp_path, {"paths": "$(touch pwned) `touch pwned2`;touch x"})
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    assert not (tmp_path / "x").exists()
    assert _outputs(out)["exit-code"] == "2"  # no such manifests
    assert _outputs(out)["sarif"] == ""


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


def test_action_passes_the_trails_and_the_pinned_key(tmp_path: Path) -> None:
    hardened = SAMPLES / "loan-assessment-hardened"
    given = {
        "paths": str(hardened),
        "trails": str(hardened / "trails"),
        "key": str(hardened / "keys" / "trail.pub"),
        "fail-on": "critical",
    }
    done, out, _ = run_scan_step(tmp_path, given)
    assert done.returncode == 0, done.stderr
    got = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert got["critical"] == "0" and got["exit-code"] == "0", (got, done.stderr)
    sarif = (tmp_path / "harness-audit.sarif").read_text()
    assert '"pinned": true' in sarif
