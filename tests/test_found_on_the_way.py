"""Issue 22, item 8, "found on the way": an undeclared value is shown as undeclared (never
formatted as a number, never ``None``); rates are not extrapolated from a span too short;
a ``budget_check`` that overspent but says ``ok`` is a finding at its event; HA-207 asks for one
period whatever the manifest declares, and says where the period it measured came from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.manifest import load_manifest

from .conftest import base_manifest

runner = CliRunner()


def _undeclared() -> dict[str, Any]:
    """A manifest as `init` drafts one: no target, no stage reliability, no cap, no key."""
    m = base_manifest()
    m["slo"] = {}
    m["agents"][0]["stage"] = {}
    m["budget"] = {"enforced_by": "none"}
    m["trail"] = {"enabled": False, "integrity": "none"}
    return m


def test_enforcement_text_says_undeclared(write_manifest: Callable[..., Path]) -> None:
    from harness_audit.checks.checks import CHECKS
    from harness_audit.checks.registry import enforcement_text

    p = load_manifest(write_manifest(_undeclared()))
    texts = {c: enforcement_text(c, p, p.agents[0]) for c in CHECKS}
    assert texts["sla_decomposed_per_stage"] == (
        "slo target undeclared; stage reliability undeclared, retries 0"
    )
    assert texts["budget_cap_enforced"] == "pipeline cap undeclared, enforced by none"
    assert texts["trail_is_immutable"] == "trail.integrity: none; public key: undeclared"
    assert texts["has_audit_trail"].endswith("path: undeclared")
    assert not any("None" in t or "{}" in t for t in texts.values()), texts


def test_report_on_a_drafted_manifest_shows_undeclared(
    write_manifest: Callable[..., Path], tmp_path: Path
) -> None:
    """`stage: {}` once ended `report` in an internal TypeError (formatted as a number)."""
    path = write_manifest(_undeclared())
    r = runner.invoke(app, ["report", str(path), "-o", str(tmp_path / "pack"), "--no-pdf"])
    assert r.exit_code == 1 and "internal error" not in r.output, r.output
    html = (tmp_path / "pack" / "evidence.html").read_text()
    assert "slo target undeclared; stage reliability undeclared" in html
    assert "Target undeclared; declared compound unknown (1 stage reliability undeclared)" in html
    assert "cannot be judged: no slo.target declared" in html
    assert "misses the target" not in html  # an unstated target is not missed
    s = runner.invoke(app, ["sla", str(path)])
    assert "target undeclared  compound unknown" in s.stdout, s.stdout
    assert "cannot be judged: no slo.target" in " ".join(s.stdout.split())
