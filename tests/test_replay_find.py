"""Issue 26, item 6: find a decision. ``replay TRAIL --list [--subject S] [--since T]`` lists
the runs (id, time, subjects decided, outcome, cost); ``replay --subject S`` replays the runs
that decided S; each act shows, inline, the verification and approval that gated it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode

from .conftest import SAMPLES

runner = CliRunner()
HARDENED = SAMPLES / "loan-assessment-hardened"
TRAILS = HARDENED / "trails"
KEY = str(HARDENED / "keys" / "trail.pub")


def _events() -> list[dict[str, object]]:
    return [
        json.loads(line)
        for f in sorted(TRAILS.glob("*.jsonl"))
        for line in f.read_text().splitlines()
        if line.strip()
    ]


def _list(*args: str) -> dict[str, object]:
    r = runner.invoke(app, ["replay", str(TRAILS), "--list", "--key", KEY, "-f", "json", *args])
    assert r.exit_code == ExitCode.OK, r.output
    data: dict[str, object] = json.loads(r.stdout)
    return data


def test_list_names_every_run_with_its_decisions_outcome_and_cost() -> None:
    events = _events()
    runs = list(dict.fromkeys(str(e["run"]) for e in events))
    data = _list()
    assert data["integrity"] == "verified"
    rows = data["runs"]
    assert isinstance(rows, list) and [r["run"] for r in rows] == runs
    for row in rows:
        own = [e for e in events if e["run"] == row["run"]]
        assert row["events"] == len(own) and row["time"] == own[0]["ts"]
        cost = sum(int(e["cost_microusd"]) for e in own if e["kind"] == "model_call")
        assert round(row["cost_usd"] * 1e6) == cost
        ends = [e["outcome"] for e in own if e["kind"] == "run_end"]
        assert row["outcome"] == (ends[0] if ends else None)
        decided = [(e["subject"], e["outcome"]) for e in own if e["kind"] == "decision"]
        assert [(d["subject"], d["outcome"]) for d in row["decisions"]] == decided[:20]


def test_list_filters_by_subject_and_since() -> None:
    events = _events()
    decision = next(e for e in events if e["kind"] == "decision")
    subject = str(decision["subject"])
    deciding = {e["run"] for e in events if e.get("subject") == subject}
    rows = _list("--subject", subject)["runs"]
    assert isinstance(rows, list) and {r["run"] for r in rows} == deciding
    starts = sorted({str(r["time"]) for r in _list()["runs"]})  # type: ignore[union-attr]
    later = _list("--since", starts[-1])["runs"]
    assert isinstance(later, list) and [r["time"] for r in later] == [starts[-1]]


def test_subject_replays_the_deciding_runs_with_their_gates_inline() -> None:
    events = _events()
    approval = next(e for e in events if e["kind"] == "approval")
    run = approval["run"]
    subject = next(e["subject"] for e in events if e["kind"] == "decision" and e["run"] == run)
    r = runner.invoke(app, ["replay", str(TRAILS), "--subject", str(subject), "--key", KEY])
    assert r.exit_code == ExitCode.OK, r.output
    assert f"approved by {approval['approver']} at seq {approval['seq']}, before" in r.stdout
    j = runner.invoke(
        app, ["replay", str(TRAILS), "--subject", str(subject), "--key", KEY, "-f", "json"]
    )
    data = json.loads(j.stdout)
    assert data["subject"] == subject and {x["run"] for x in data["runs"]} >= {run}


def test_a_gate_after_the_act_says_it_gated_nothing() -> None:
    from harness_audit.evidence.replay import Node, replay
    from harness_audit.trail.events import decoder

    def decode_event(d: dict[str, object]) -> object:
        return decoder.decode(json.dumps(d))

    base = {"v": 1, "run": "r", "ts": "2026-01-01T00:00:00Z", "prev": "0" * 64, "hash": "0" * 64}
    base["parent"] = None
    act = decode_event(
        base
        | {
            "seq": 5,
            "span": "s5",
            "agent": "a",
            "kind": "tool_call",
            "tool": "t",
            "effect": "write",
            "scope": "x",
            "outcome": "ok",
        }
    )
    late = decode_event(
        base
        | {
            "seq": 9,
            "span": "s9",
            "agent": "human:b",
            "kind": "approval",
            "approver": "human:b",
            "target": "s5",
            "verdict": "approved",
        }
    )
    nodes = [Node("t.jsonl", 1, act), Node("t.jsonl", 2, late)]
    replay([], "r", None, nodes)
    assert "AFTER the act: it gated nothing" in nodes[0].gates[0]
    # the order in the trail decides, not the seq (it starts again in each shard)
    nodes = [Node("2026-11/t.jsonl", 9, late), Node("2026-12/t.jsonl", 1, act)]
    replay([], "r", None, nodes)
    assert nodes[1].gates[0].endswith("before")


def test_modes_are_exclusive() -> None:
    for args in (
        [],
        ["--run", "x", "--list"],
        ["--run", "x", "--subject", "y"],
        ["--run", "x", "--since", "2026-01-01"],
    ):
        r = runner.invoke(app, ["replay", str(TRAILS), "--key", KEY, *args])
        assert r.exit_code == ExitCode.USAGE, (args, r.output)
    none = runner.invoke(app, ["replay", str(TRAILS), "--key", KEY, "--subject", "no-such"])
    assert none.exit_code == ExitCode.USAGE and "no run decided" in none.output
