"""`harness-audit graph`: every format, the risk highlight, determinism, a large pipeline."""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode

from .conftest import DATA, ROOT, SAMPLES

runner = CliRunner()
GOLDEN = DATA / "golden"
CASES = [
    ("loan-assessment", "mermaid", "mmd"),
    ("loan-assessment", "dot", "dot"),
    ("loan-assessment", "json", "json"),
    ("support-refunds", "mermaid", "mmd"),
    ("support-refunds", "dot", "dot"),
    ("support-refunds", "json", "json"),
]


def draw(manifest: Path, *args: str) -> Any:
    return runner.invoke(app, ["graph", str(manifest), *args])


@pytest.mark.parametrize(("sample", "fmt", "ext"), CASES)
def test_golden(sample: str, fmt: str, ext: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    r = draw(Path("sample_pipelines") / sample / "harness.yaml", "-f", fmt, "--highlight", "risk")
    assert r.exit_code == 0, r.output
    golden = GOLDEN / f"{sample}.graph.{ext}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(r.stdout)
    assert r.stdout == golden.read_text()


def need_dot() -> None:
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("graphviz is missing: .ci/run installs it")
        pytest.skip("graphviz is not installed")


@pytest.mark.parametrize(
    "sample", ["loan-assessment", "loan-assessment-hardened", "research-crew", "support-refunds"]
)
def test_svg_has_every_agent(sample: str) -> None:
    need_dot()
    manifest = SAMPLES / sample / "harness.yaml"
    r = draw(manifest, "-f", "svg")
    assert r.exit_code == 0
    root = ET.fromstring(r.stdout)
    titles = {t.text for t in root.iter("{http://www.w3.org/2000/svg}title")}
    from harness_audit.manifest import load_manifest

    for a in load_manifest(manifest).agents:
        assert f"agent:{a.id}" in titles
    assert draw(manifest, "-f", "svg").stdout == r.stdout  # deterministic


def test_svg_without_graphviz_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    r = draw(SAMPLES / "loan-assessment" / "harness.yaml", "-f", "svg")
    assert r.exit_code == ExitCode.USAGE and "apt-get install graphviz" in r.stderr
    assert draw(SAMPLES / "loan-assessment" / "harness.yaml", "-f", "dot").exit_code == 0


def risky(data: dict[str, Any]) -> set[str]:
    return {n["id"] for n in data["nodes"] if n.get("risk")}


def test_risk_highlight_with_and_without_a_gate(tmp_path: Path) -> None:
    src = (SAMPLES / "loan-assessment" / "harness.yaml").read_text()
    r = draw(SAMPLES / "loan-assessment" / "harness.yaml", "-f", "json", "--highlight", "risk")
    data = json.loads(r.stdout)
    assert {
        "agent:credit_risk",
        "agent:decision_writer",
        "agent:notify",
        "tool:notify/send_email",
    } <= risky(data)
    assert any(e.get("risk") for e in data["links"])
    gated = tmp_path / "harness.yaml"
    gated.write_text(
        src.replace(
            "- {name: send_email, effect: external, target: smtp}",
            "- {name: send_email, effect: external, target: smtp, "
            "human_gate: {required: true, approvers: [officer]}}",
        )
    )
    data = json.loads(draw(gated, "-f", "json", "--highlight", "risk").stdout)
    assert risky(data) == set()
    mermaid = draw(gated, "--highlight", "risk").stdout
    assert "linkStyle" not in mermaid


def test_json_is_node_link_with_kinds_and_statuses() -> None:
    data = json.loads(draw(SAMPLES / "support-refunds" / "harness.yaml", "-f", "json").stdout)
    assert data["directed"] and data["graph"]["name"] == "support-refunds"
    kinds = {n["kind"] for n in data["nodes"]}
    assert kinds == {"agent", "tool", "scope", "human"}
    assert all("status" in n for n in data["nodes"])
    assert {e["kind"] for e in data["links"]} >= {
        "data_flow",
        "verifies",
        "uses",
        "access",
        "approval",
        "fallback",
    }
    statuses = {n["id"]: n["status"] for n in data["nodes"]}
    assert statuses["tool:resolver/close_account"] == "ungated_destructive"
    assert statuses["agent:senior_agent"] == "audit-ready"


def test_mermaid_escapes_manifest_text(write_manifest, manifest) -> None:  # type: ignore[no-untyped-def]
    manifest["agents"][0]["tools"][0]["name"] = 'x"]; click n0 "javascript:alert(1)"'
    out = draw(write_manifest(manifest)).stdout
    assert '"]; click' not in out and '"javascript' not in out  # the label cannot be closed
    assert "x#quot;]; click n0 #quot;javascript:alert(1)#quot;" in out


def test_two_hundred_agents_render(tmp_path: Path) -> None:
    # dense: two dependencies each and seven shared scopes (unbounded, dot takes minutes)
    lines = ["apiVersion: harness-audit/v1", "kind: Pipeline", "metadata: {name: big}", "agents:"]
    for i in range(200):
        deps = sorted({f"a{i - 1}", f"a{i // 2}"}) if i > 1 else ([f"a{i - 1}"] if i else [])
        lines += [
            f"  - id: a{i}",
            f"    depends_on: [{', '.join(deps)}]",
            "    model: {provider: p, family: f}",
            "    tools:",
            f"      - {{name: t{i}, effect: {'write' if i % 5 == 0 else 'read'}, scope: s{i % 7}}}",
        ]
    path = tmp_path / "big.harness.yaml"
    path.write_text("\n".join(lines) + "\n")
    for fmt in ("mermaid", "dot", "json"):
        r = draw(path, "-f", fmt)
        assert r.exit_code == 0 and "a199" in r.stdout
    if shutil.which("dot"):
        r = draw(path, "-f", "svg")
        assert r.exit_code == 0 and "agent:a199" in r.stdout


def test_a_huge_graph_is_refused_as_svg_with_the_alternatives(tmp_path: Path) -> None:
    import time

    from .conftest import base_manifest

    m = base_manifest()
    first = m["agents"][0]
    m["agents"] = [
        dict(first, id=f"a{i}", depends_on=[f"a{i - 1}"] if i else []) for i in range(2000)
    ]
    path = tmp_path / "big.harness.yaml"
    path.write_text(yaml.safe_dump(m))
    started = time.monotonic()
    r = CliRunner().invoke(app, ["graph", str(path), "-f", "svg"])
    assert r.exit_code == 2 and "mermaid" in r.stderr and "nodes" in r.stderr
    assert time.monotonic() - started < 60  # refused before any layout, not timed out
    assert CliRunner().invoke(app, ["graph", str(path), "-f", "json"]).exit_code == 0


def test_dot_runs_under_a_memory_and_time_limit() -> None:
    import subprocess
    import sys

    from harness_audit.report.graphviz import DOT_MEMORY, DOT_SECONDS, limit_child

    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource; print(resource.getrlimit("
            "resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_CPU)[0])",
        ],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=limit_child,
    )
    assert out.stdout.split() == [str(DOT_MEMORY), str(DOT_SECONDS)]
