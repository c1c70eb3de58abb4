"""The GitHub Action's scan step (action.yml): run ``harness-audit scan`` with the Action's
inputs, then write its outputs (``exit-code``, ``band``, ``gap-score``, ``critical``, ``high``,
``medium``, ``low``, ``sarif``) to ``$GITHUB_OUTPUT`` and the Markdown summary to
``$GITHUB_STEP_SUMMARY``.

Inputs arrive as environment variables (``HA_PATHS``, ``HA_FAIL_ON``, ``HA_SARIF``,
``HA_TRAILS``, ``HA_KEY``), never as script text. Standard library only; it always exits 0, so
the upload step runs, and the Action's last step fails the job with the scan's exit code.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

SEVERITIES = ("critical", "high", "medium", "low")
BANDS = ("audit-ready", "at-risk", "audit-will-fail")


def scan_args(env: dict[str, str], json_path: Path) -> list[str]:
    """The ``harness-audit scan`` command line for the Action's inputs."""
    sarif = env.get("HA_SARIF") or "harness-audit.sarif"
    args = ["harness-audit", "scan", "--output", f"sarif={sarif}"]
    args += ["--output", "markdown=harness-audit.md", "--output", f"json={json_path}"]
    if env.get("HA_FAIL_ON"):
        args += ["--fail-on", env["HA_FAIL_ON"]]
    if env.get("HA_TRAILS"):
        args += ["--trails", env["HA_TRAILS"]]
    for key in shlex.split(env.get("HA_KEY", "")):
        args += ["--key", key]
    return [*args, "--", *shlex.split(env.get("HA_PATHS", ""))]


def outputs(code: int, data: dict[str, object] | None, sarif: str) -> dict[str, str]:
    """The Action's outputs from the scan's exit code and its JSON (None: it could not run)."""
    out = {"exit-code": str(code), "sarif": sarif if Path(sarif).is_file() else ""}
    counts = dict.fromkeys(SEVERITIES, 0)
    band, score = "", ""
    pipelines = data.get("pipelines", []) if data else []
    if isinstance(pipelines, list) and pipelines:
        worst = max(pipelines, key=lambda p: BANDS.index(p.get("band", "audit-ready")))
        band = str(worst.get("band", ""))
        score = str(max(int(p.get("score", 0)) for p in pipelines))
        for p in pipelines:
            for f in p.get("findings", []):
                if f.get("severity") in counts and not f.get("waived"):
                    counts[f["severity"]] += 1
    out |= {"band": band, "gap-score": score} | {k: str(v) for k, v in counts.items()}
    return out


def main() -> int:
    """Run the scan and write the outputs (see the module doc); always 0."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(tmp) / "scan.json"
        code = subprocess.run(scan_args(env, json_path), check=False).returncode
        try:
            data = json.loads(json_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
    result = outputs(code, data, env.get("HA_SARIF") or "harness-audit.sarif")
    if "GITHUB_OUTPUT" in env:
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as f:
            f.writelines(f"{k}={v}\n" for k, v in result.items())
    summary = Path("harness-audit.md")
    if "GITHUB_STEP_SUMMARY" in env and summary.is_file():
        with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as f:
            f.write(summary.read_text(encoding="utf-8"))
    print(json.dumps(result), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
