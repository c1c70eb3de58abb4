"""``init --from-trail`` and ``trail import --manifest`` mapping by role (issue 25, item 5): a
team with only traces drafts a manifest from what its trail shows ran, failing closed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.manifest import load_manifest
from harness_audit.trail.writer import TrailWriter

from .trailkit import MODEL, SIGNER

ROOT = Path(__file__).resolve().parent.parent
START = ROOT / "sample_pipelines" / "start"
runner = CliRunner()


def invoke(*args: object) -> Any:
    r = runner.invoke(app, [str(a) for a in args])
    assert "internal error" not in r.output, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r


def keys(tmp: Path) -> tuple[Path, Path]:
    key, pub = tmp / "k.key", tmp / "k.pub"
    key.write_text(SIGNER.text() + "\n")
    pub.write_text(SIGNER.verifier.text() + "\n")
    return key, pub


def _trail(folder: Path) -> Path:
    base = {"ts": "2026-09-14T03:47:00Z", "run": "r1"}
    events: list[dict[str, Any]] = [
        {"kind": "run_start", "span": "s0", "parent": None, "agent": "harness", "pipeline": "p"},
        {
            "kind": "model_call",
            "span": "s1",
            "parent": "s0",
            "agent": "planner",
            "model": MODEL,
            "input_tokens": 1,
            "output_tokens": 1,
            "cost_microusd": 1,
        },
        {
            "kind": "spawn",
            "span": "s2",
            "parent": "s1",
            "agent": "planner",
            "child": "coder",
            "depth": 1,
        },
        {
            "kind": "tool_call",
            "span": "s3",
            "parent": "s2",
            "agent": "coder",
            "tool": "shell",
            "effect": "unknown",
            "scope": "unscoped",
            "outcome": "ok",
        },
        {
            "kind": "approval",
            "span": "s4",
            "parent": "s3",
            "agent": "human:ann",
            "target": "s5",
            "approver": "human:ann",
            "verdict": "approved",
        },
        {
            "kind": "tool_call",
            "span": "s5",
            "parent": "s4",
            "agent": "coder",
            "tool": "deploy",
            "effect": "external",
            "scope": "prod",
            "outcome": "ok",
        },
        {
            "kind": "tool_call",
            "span": "s6",
            "parent": "s5",
            "agent": "coder",
            "tool": "read_file",
            "effect": "read",
            "scope": "repo",
            "outcome": "ok",
        },
        {
            "kind": "run_end",
            "span": "s7",
            "parent": "s0",
            "agent": "harness",
            "pipeline": "p",
            "outcome": "ok",
        },
    ]
    with TrailWriter(folder, "harness-audit/test", SIGNER) as w:
        for e in events:
            w.append(base | e)
    return folder


def test_init_from_trail_drafts_what_ran_failing_closed(tmp_path: Path) -> None:
    trail = _trail(tmp_path / "trail")
    out = tmp_path / "harness.yaml"
    r = invoke("init", "--from-trail", trail, "-o", out)
    assert r.exit_code == 0, r.output
    m = load_manifest(out)
    agents = {a.id: a for a in m.agents}
    assert set(agents) == {"planner", "coder"}  # the run's own bounds are no agent
    assert agents["planner"].spawns == ("coder",)
    assert agents["planner"].model is not None and agents["planner"].model.name == MODEL["name"]
    assert agents["coder"].model is None  # it made no model call: undeclared, with a TODO
    tools = {t.name: t for t in agents["coder"].tools}
    assert tools["shell"].effect == "destructive"  # not stated by the trail: fails closed
    assert tools["deploy"].effect == "external"
    assert tools["read_file"].effect == "read"
    assert tools["deploy"].human_gate is not None and tools["deploy"].human_gate.required
    assert not (tools["shell"].human_gate and tools["shell"].human_gate.required)
    assert m.budget is None or m.budget.enforced_by == "none"  # no budget claimed
    text = out.read_text()
    assert "TODO: declare the effect" in text and "x-import" in text
    assert yaml.safe_load(text)["x-import"]["format"] == "trail"
    # then it scans (and fails closed)
    _, pub = keys(tmp_path)
    s = invoke("scan", out, "--trails", trail, "--key", pub)
    assert s.exit_code == 1, s.output


def test_init_from_trail_refuses_a_folder_with_no_trail(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    r = invoke("init", "--from-trail", tmp_path / "empty", "-o", tmp_path / "h.yaml")
    assert r.exit_code == 2 and "no trail segment" in r.output, r.output
    r = invoke("init", START / "crew", "--from-trail", tmp_path / "empty")
    assert r.exit_code == 2 and "--from-trail" in r.output, r.output


def test_import_manifest_maps_crewai_roles_to_drafted_ids(tmp_path: Path) -> None:
    """CrewAI spans name agents by role: `--manifest` maps them to the ids `init` drafted."""
    key, _ = keys(tmp_path)
    manifest = tmp_path / "harness.yaml"
    assert invoke("init", START / "crew", "-o", manifest).exit_code == 0
    otel = tmp_path / "otel.json"
    otel.write_text(
        (START / "otel-export.json")
        .read_text()
        .replace('"triager"', '"Support inbox triager"')
        .replace('"cleaner"', '"Spam cleaner\\n"')
    )
    trail = tmp_path / "trail"
    r = invoke(
        "trail",
        "import",
        otel,
        "--key",
        key,
        "--origin",
        "o/x",
        "-o",
        trail,
        "--manifest",
        manifest,
    )
    assert r.exit_code == 0, r.output
    agents = json.loads((trail / "import.json").read_text())["mapping"]["agents"]
    assert agents["Support inbox triager"] == "triager", agents
    assert agents["Spam cleaner\n"] == "cleaner", agents


# -- scores with thresholds (issue 25, item 4) ------------------------------------------------


def _langfuse(tmp: Path, toxicity: float) -> Path:
    doc = {
        "trace": {
            "id": "t1",
            "name": "support",
            "timestamp": "2026-01-01T00:00:00Z",
            "scores": [
                {
                    "id": "sc1",
                    "name": "toxicity",
                    "source": "EVAL",
                    "dataType": "NUMERIC",
                    "value": toxicity,
                    "timestamp": "2026-01-01T00:00:03Z",
                },
                {
                    "id": "sc2",
                    "name": "helpfulness",
                    "source": "EVAL",
                    "dataType": "NUMERIC",
                    "value": 0.9,
                    "timestamp": "2026-01-01T00:00:03Z",
                },
            ],
        },
        "observations": [
            {
                "id": "o1",
                "traceId": "t1",
                "type": "GENERATION",
                "name": "chat",
                "model": "gpt-4o-mini",
                "startTime": "2026-01-01T00:00:01Z",
                "endTime": "2026-01-01T00:00:02Z",
                "usage": {"input": 10, "output": 5},
                "calculatedTotalCost": 0.001,
            },
        ],
    }
    p = tmp / "langfuse.json"
    p.write_text(json.dumps(doc))
    return p


def _verifications(trail: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for f in sorted(trail.glob("*.jsonl")):
        for line in f.read_text().splitlines():
            ev = json.loads(line)
            if ev.get("kind") == "verification":
                out[ev["x_evaluation"]] = ev
    return out


def test_a_numeric_score_without_a_rule_is_not_proven(tmp_path: Path) -> None:
    key, pub = keys(tmp_path)
    trail = tmp_path / "trail"
    r = invoke(
        "trail", "import", _langfuse(tmp_path, 0.0), "--key", key, "--origin", "o/x", "-o", trail
    )
    assert r.exit_code == 0, r.output
    v = _verifications(trail)
    assert v["toxicity"]["x_verdict"] == "not_proven", v  # toxicity 0: no failed verification
    assert "no pass rule" in v["toxicity"]["x_verdict_basis"]
    run = v["toxicity"]["run"]
    rp = invoke("replay", trail, "--run", run, "--key", pub)
    assert "not_proven on" in rp.stdout and "fail on" not in rp.stdout, rp.output


def test_score_rules_from_the_map_and_the_manifest(tmp_path: Path) -> None:
    key, _ = keys(tmp_path)
    rules = tmp_path / "map.yaml"
    rules.write_text(
        "scores:\n  toxicity: {pass_below: 0.5}\n  helpfulness: {pass_at_or_above: 0.95}\n"
    )
    for value, want in ((0.0, "pass"), (0.7, "fail")):
        trail = tmp_path / f"trail{value}"
        src = _langfuse(tmp_path, value)
        r = invoke(
            "trail", "import", src, "--key", key, "--origin", "o/x", "-o", trail, "--map", rules
        )
        assert r.exit_code == 0, r.output
        v = _verifications(trail)
        assert v["toxicity"]["verdict"] == want and "x_verdict" not in v["toxicity"], v
        assert v["helpfulness"]["verdict"] == "fail", v  # 0.9 < 0.95
    manifest = tmp_path / "harness.yaml"
    assert invoke("init", START / "crew", "-o", manifest).exit_code == 0
    manifest.write_text(manifest.read_text() + "x-scores:\n  toxicity: {pass_below: 0.5}\n")
    trail = tmp_path / "trail-m"
    r = invoke(
        "trail",
        "import",
        _langfuse(tmp_path, 0.1),
        "--key",
        key,
        "--origin",
        "o/x",
        "-o",
        trail,
        "--manifest",
        manifest,
    )
    assert r.exit_code == 0, r.output
    v = _verifications(trail)
    assert v["toxicity"]["verdict"] == "pass", v
    assert v["helpfulness"]["x_verdict"] == "not_proven", v
    bad = tmp_path / "bad.yaml"
    bad.write_text("scores:\n  toxicity: {below: 0.5}\n")
    r = invoke(
        "trail",
        "import",
        _langfuse(tmp_path, 0.1),
        "--key",
        key,
        "--origin",
        "o/x",
        "-o",
        tmp_path / "t-bad",
        "--map",
        bad,
    )
    assert r.exit_code == 2 and "pass_below" in r.output, r.output


# -- foreign files named everywhere (issue 25, item 6) ---------------------------------------

DATA = Path(__file__).resolve().parent / "data" / "import"


def _foreign_files(tmp: Path) -> list[Path]:
    spans = tmp / "spans.json"  # a JSON array of span records no reader names
    spans.write_text(json.dumps([{"name": "s", "attributes": {"a": 1}}] * 30, indent=1))
    lines = tmp / "records.jsonl"  # JSON Lines of records no reader names
    lines.write_text("".join(json.dumps({"event": i, "payload": "x"}) + "\n" for i in range(40)))
    return [
        next((DATA / "codex").glob("*.jsonl")),
        next((DATA / "claude_code").glob("*.jsonl")),
        next((DATA / "gemini").glob("*.json")),
        START / "otel-export.json",
        spans,
        lines,
    ]


def test_every_command_names_a_foreign_file_and_exits_2(tmp_path: Path) -> None:
    _, pub = keys(tmp_path)
    manifest = tmp_path / "harness.yaml"
    assert invoke("init", START / "crew", "-o", manifest).exit_code == 0
    for f in _foreign_files(tmp_path):
        for cmd in (
            ["verify", f, "--key", pub],
            ["scan", f],
            ["graph", f],
            ["sla", f],
            ["replay", f, "--run", "r1", "--key", pub],
            ["scan", manifest, "--trails", f, "--key", pub],
        ):
            r = invoke(*cmd)
            assert r.exit_code == 2, (cmd, r.output)
            assert r.stderr.count("\n") == 1, (cmd, r.output)  # one line, no per-line list
            assert "trail import" in r.stderr or "harness-audit init" in r.stderr, (cmd, r.output)
            assert "YAML syntax error" not in r.output and "FAILED" not in r.output, r.output


def test_a_folder_of_traces_given_to_scan_says_what_it_holds(tmp_path: Path) -> None:
    r = invoke("scan", DATA / "codex")
    assert r.exit_code == 2 and "OpenAI Codex rollout" in r.stderr, r.output
    assert "trail import" in r.stderr


def test_a_trail_with_a_damaged_first_line_is_still_verified(tmp_path: Path) -> None:
    """The naming of foreign files never hides tampering: a trail is verified and fails."""
    _, pub = keys(tmp_path)
    trail = _trail(tmp_path / "trail")
    seg = next(trail.glob("*.jsonl"))
    odd = tmp_path / "events.jsonl"  # not a segment's name: recognised by its other lines
    odd.write_bytes(b"{not json\n" + seg.read_bytes().split(b"\n", 1)[1])
    for f in (odd,):
        r = invoke("verify", f, "--key", pub)
        assert r.exit_code == 1, r.output


# -- three commands from what a team has (issue 25, item 7) ----------------------------------


def test_report_drafts_and_imports_in_the_run_into_a_signed_pack(tmp_path: Path) -> None:
    key, pub = keys(tmp_path)
    pack = tmp_path / "pack"
    r = invoke(
        "report",
        START / "crew",
        START / "otel-export.json",
        "-o",
        pack,
        "--sign-key",
        key,
        "--no-pdf",
    )
    assert r.exit_code == 1, r.output  # the draft fails closed
    assert "drafted a manifest" in r.stderr and "imported 6 event(s)" in r.stderr, r.output
    drafted = (pack / "drafted" / "harness.yaml").read_text()
    assert "x-import" in drafted and "TODO: declare" in drafted
    summary = json.loads((pack / "imported" / "import.json").read_text())
    assert summary["mapping"]["agents"]["triager"] == "triager"
    sums = (pack / "SHA256SUMS").read_text()
    assert "drafted/harness.yaml" in sums and "imported/trail-000001.jsonl" in sums
    v = invoke("report", "verify", pack, "--key", pub)
    assert v.exit_code == 0, v.output
    findings = json.loads((pack / "findings.json").read_text())
    cleaner = next(a for p in findings["pipelines"] for a in p["agents"] if a["id"] == "cleaner")
    assert cleaner["checks"]["trail_is_immutable"]["status"] != "pass"
    assert "DeleteEmailTool" in json.dumps(cleaner)  # judged on what ran too
    # scan takes them too; a trace alone is refused with the command that converts it
    s = invoke("scan", START / "crew", START / "otel-export.json")
    assert s.exit_code == 1 and "imported 6 event(s)" in s.stderr, s.output
    s = invoke("report", START / "otel-export.json", "-o", tmp_path / "p2")
    assert s.exit_code == 2 and "trail import" in s.stderr, s.output


def test_the_packs_inputs_table_names_the_files_given(tmp_path: Path) -> None:
    """The inputs table of a pack made from definitions and a trace (issue 25, item 7) lists
    the user's files as given, with their SHA-256, marked drafted and imported, and names the
    run's own files by their place in the pack: never the run's temporary folder, gone when
    the run ends."""
    import hashlib
    import html as html_mod
    import re

    key, _ = keys(tmp_path)
    pack = tmp_path / "pack"
    crew, trace = START / "crew", START / "otel-export.json"
    r = invoke("report", crew, trace, "-o", pack, "--sign-key", key, "--no-pdf")
    assert r.exit_code == 1, r.output
    page = (pack / "evidence.html").read_text()
    start = page.index("Every input to this pack with its SHA-256")
    table = page[start : page.index("</table>", start)]
    rows = [
        [
            html_mod.unescape(re.sub(r"<[^>]+>", "", c))
            for c in re.findall(r"<td[^>]*>(.*?)</td>", tr)
        ]
        for tr in re.findall(r"<tr>(.*?)</tr>", table)
    ]
    rows = [x for x in rows if len(x) == 4]
    assert "harness-audit-direct-" not in table
    by_path = {x[1]: x for x in rows}
    for given in (trace, *sorted(p for p in crew.iterdir() if p.suffix == ".yaml")):
        row = by_path[str(given)]
        assert row[3] == hashlib.sha256(given.read_bytes()).hexdigest()
        assert row[2].replace(",", "") == str(given.stat().st_size)
    assert "imported" in by_path[str(trace)][0]
    assert all("drafted" in by_path[str(p)][0] for p in crew.iterdir() if p.suffix == ".yaml")
    assert "drafted in the run" in by_path["drafted/harness.yaml"][0]
    assert (
        by_path["imported/trail-000001.jsonl"][3]
        == hashlib.sha256((pack / "imported" / "trail-000001.jsonl").read_bytes()).hexdigest()
    )


def test_findings_of_a_direct_report_name_the_draft_as_the_pack_keeps_it(
    tmp_path: Path,
) -> None:
    """A report given definitions and a trace drafts and imports in a temporary folder that
    is gone when the run ends: its findings, its pipeline's file, the evidence and the import's
    record name the draft ``drafted/harness.yaml`` and the trail ``imported/…``, the places the
    pack keeps them, and a finding's line is the line of the field in that kept draft."""
    key, _ = keys(tmp_path)
    pack = tmp_path / "pack"
    r = invoke(
        "report", START / "crew", START / "otel-export.json", "-o", pack, "--sign-key", key,
        "--no-pdf",
    )  # fmt: skip
    assert r.exit_code == 1, r.output
    for f in pack.rglob("*"):
        if f.is_file():
            assert b"harness-audit-direct-" not in f.read_bytes(), f
    findings = json.loads((pack / "findings.json").read_text())
    (pipeline,) = findings["pipelines"]
    assert pipeline["file"] == "drafted/harness.yaml"
    drafted = (pack / "drafted" / "harness.yaml").read_text().splitlines()
    access = [
        f for f in pipeline["findings"] if f["rule"] == "HA-003" and f["file"].startswith("dr")
    ]
    assert access and all(f["file"] == "drafted/harness.yaml" for f in access)
    assert all(drafted[f["line"] - 1].strip().startswith("access:") for f in access)
    observed = [f for f in pipeline["findings"] if f.get("seq") is not None]
    assert observed and {f["file"] for f in observed} == {"imported/trail-000001.jsonl"}
    assert (pack / "imported" / "trail-000001.jsonl").is_file()
    record = json.loads((pack / "imported" / "import.json").read_text())
    assert record["mapping"]["sources"] == ["drafted/harness.yaml"]
    # scan names them so too, and says how to keep the draft
    s = invoke("scan", START / "crew", START / "otel-export.json", "--format", "json")
    assert s.exit_code == 1, s.output
    assert "harness-audit-direct-" not in s.stdout
    assert json.loads(s.stdout)["pipelines"][0]["file"] == "drafted/harness.yaml"
    assert "harness-audit init" in s.stderr
