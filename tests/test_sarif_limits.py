"""Issue 26, item 1: SARIF within every documented GitHub code-scanning limit ("SARIF results
exceed one or more limits": runs per file 20, results per run 25,000 (5,000 kept), rules 25,000,
tags per rule 20 (10 kept), locations per result 1,000, thread-flow locations 10,000, 10 MB
gzip-compressed upload), on generated worst cases; the analysis's category does not depend on
the pipelines scanned; a file outside the working directory never has a ``../`` URI."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.report.sarif import LIMITS, MAX_RESULTS, MAX_TAGS

from .conftest import SAMPLES

runner = CliRunner()


def _sarif(*args: str) -> dict[str, Any]:
    r = runner.invoke(app, ["scan", "-f", "sarif", *args])
    assert r.exit_code in (0, 1), r.output
    data: dict[str, Any] = json.loads(r.stdout)
    return data


def _within_limits(data: dict[str, Any], raw: bytes) -> None:
    assert len(data["runs"]) <= LIMITS["runs"]
    for run in data["runs"]:
        assert len(run["results"]) <= LIMITS["results"]
        assert len(run["tool"]["driver"]["rules"]) <= LIMITS["rules"]
        for rule in run["tool"]["driver"]["rules"]:
            assert len(rule["properties"]["tags"]) <= MAX_TAGS <= LIMITS["tags"]
        for r in run["results"]:
            assert 1 <= len(r["locations"]) <= LIMITS["locations"]
            for flow in r.get("codeFlows", []):
                for t in flow["threadFlows"]:
                    assert len(t["locations"]) <= 10_000
    assert len(gzip.compress(raw)) < 10_000_000


def _many_agents(folder: Path, agents: int) -> Path:
    """A manifest whose every agent fails most checks: a worst case for the result count."""
    lines = [
        "apiVersion: harness-audit/v1",
        "kind: Pipeline",
        "metadata: {name: many}",
        "agents:",
    ]
    for i in range(agents):
        lines += [
            f"  - id: agent_{i}",
            "    model: {provider: openai, family: gpt-4o, name: gpt-4o}",
            "    tools:",
            "      - {name: delete_all, effect: destructive}",
            "      - {name: send_mail, effect: external}",
        ]
    path = folder / "harness.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_rules_carry_at_most_ten_tags_and_frameworks_as_properties() -> None:
    data = _sarif(str(SAMPLES), "--no-trails")
    rules = data["runs"][0]["tool"]["driver"]["rules"]
    by_id = {r["id"]: r for r in rules}
    for rule in rules:
        assert len(rule["properties"]["tags"]) <= MAX_TAGS
        assert "security" in rule["properties"]["tags"]  # security-severity is read with it
    # the rules that had 23-24 tags keep their framework mappings as a property
    assert sum(len(v) for v in by_id["HA-006"]["properties"]["frameworks"].values()) > 10


def test_a_worst_case_stays_within_every_limit(tmp_path: Path) -> None:
    manifest = _many_agents(tmp_path, 1_200)  # more findings than code scanning keeps
    r = runner.invoke(app, ["scan", str(manifest), "-f", "sarif", "--no-trails"])
    assert r.exit_code == 1, r.output
    raw = r.stdout.encode("utf-8")
    data = json.loads(raw)
    _within_limits(data, raw)
    [run] = data["runs"]
    counts = run["properties"]["results"]
    assert counts["total"] > MAX_RESULTS == counts["included"] == len(run["results"])
    assert counts["omitted"] == counts["total"] - MAX_RESULTS
    note = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    assert "left out" in note
    levels = [r["level"] for r in run["results"]]
    assert "error" in levels  # the most severe are the ones kept


def test_the_category_does_not_depend_on_the_pipelines(tmp_path: Path) -> None:
    one = _sarif(str(SAMPLES / "loan-assessment"), "--no-trails")["runs"][0]
    both = _sarif(str(SAMPLES), "--no-trails")["runs"][0]
    assert one.get("automationDetails") == both.get("automationDetails") is None


def test_a_file_outside_the_working_directory_has_no_parent_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = tmp_path / "repo"
    inside.mkdir()
    monkeypatch.chdir(inside)
    data = _sarif(str(SAMPLES / "loan-assessment"))
    [run] = data["runs"]
    bases = run["originalUriBaseIds"]
    for r in run["results"]:
        art = r["locations"][0]["physicalLocation"]["artifactLocation"]
        assert ".." not in art["uri"].split("/") and not art["uri"].startswith("/")
        assert art["uriBaseId"] in bases
        assert bases[art["uriBaseId"]]["uri"].startswith("file:///")
        assert bases[art["uriBaseId"]]["uri"].endswith("/")
    assert any(b.startswith("OUTSIDE") for b in bases)
