"""Issue 25, item 8: counts that add up. In ``import.json`` every record read is mapped into an
event or dropped with its reason, once (``records_read = records_mapped + records_dropped``);
traces or sessions that made no run are counted apart (``no_run``: they are not records); and
``trail import`` warns on screen when a run has no model call, no tool call, or costs unknown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import HarnessAuditError
from harness_audit.importers import import_trace
from harness_audit.trail.note import Signer

from .conftest import SHARED

DATA = Path(__file__).parent / "data" / "import"
REAL = SHARED / "real"
SOURCES = sorted(
    [
        *DATA.iterdir(),
        *(p for p in REAL.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".traj")),
    ]
)


def _summary(paths: list[Path]) -> dict[str, Any] | None:
    job = import_trace(paths)
    try:
        for _ in job.events():
            pass
    except HarnessAuditError:
        return None  # not a trace format this importer reads (a definition, a later item)
    return job.summary()


def _adds_up(s: dict[str, Any]) -> None:
    assert s["records_read"] == s["records_mapped"] + s["records_dropped"], s
    assert s["records_dropped"] == sum(s["dropped"].values())
    assert s["records_mapped"] >= 0


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name[:40])
def test_every_fixture_and_real_trace_adds_up(source: Path) -> None:
    s = _summary([source])
    if s is None:
        pytest.skip("not a trace this importer reads")
    _adds_up(s)


def test_langfuse_scores_are_counted_as_records(tmp_path: Path) -> None:
    """Dropped scores were counted as dropped but never as read: more dropped than read."""
    doc = {
        "trace": {
            "id": "t1",
            "timestamp": "2025-01-01T00:00:00Z",
            "scores": [
                {"id": f"s{i}", "name": "x", "source": "API", "value": 1, "dataType": "NUMERIC"}
                for i in range(5)
            ],
        },
        "observations": [
            {
                "id": "o1",
                "type": "GENERATION",
                "name": "chat",
                "startTime": "2025-01-01T00:00:01Z",
                "endTime": "2025-01-01T00:00:02Z",
                "model": "gpt-4o",
            }
        ],
    }
    src = tmp_path / "lf.json"
    src.write_text(json.dumps(doc))
    s = _summary([src])
    assert s is not None
    _adds_up(s)
    assert s["records_read"] == 1 + 1 + 5  # the trace, its observation, its scores


def _span(i: int, parent: int | None, kind: str, dup: bool) -> dict[str, Any]:
    attrs = {
        "model": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}],
        "tool": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}},
            {"key": "gen_ai.tool.name", "value": {"stringValue": "t"}},
        ],
        "agent": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}},
            {"key": "gen_ai.agent.name", "value": {"stringValue": f"a{i % 2}"}},
        ],
        "plain": [],
    }[kind]
    span = {
        "traceId": "cd" * 16,
        "spanId": f"{(0 if dup else i) + 1:016x}",
        "name": kind,
        "startTimeUnixNano": str(1_700_000_000_000_000_000 + i),
        "endTimeUnixNano": str(1_700_000_000_000_000_000 + i + 1),
        "attributes": attrs,
    }
    if parent is not None:
        span["parentSpanId"] = f"{parent + 1:016x}"
    return span


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    shape=st.lists(
        st.tuples(
            st.sampled_from(["model", "tool", "agent", "plain"]),
            st.integers(0, 6),
            st.booleans(),
            st.integers(0, 9),
        ),
        min_size=1,
        max_size=8,
    )
)
@example(shape=[("agent", 0, False, 0), ("model", 0, True, 0)])  # the model a duplicate
def test_records_read_is_mapped_plus_dropped(
    tmp_path: Path, shape: list[tuple[str, int, bool, int]]
) -> None:
    """The property, on OTLP traces of any shape: wrappers, duplicates, orphans, agents."""
    spans = [
        _span(i, p if p < i else None, kind, dup and i > 0 and roll == 0)
        for i, (kind, p, dup, roll) in enumerate(shape)
    ]
    doc = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": spans}]}]}
    src = tmp_path / "t.json"
    src.write_text(json.dumps(doc))
    job = import_trace([src])
    try:
        for _ in job.events():
            pass
    except HarnessAuditError as e:  # nothing mapped: refused, never an empty trail (item 2)
        assert "nothing in it mapped to an event" in e.diagnostics()[0].message
        assert all(  # a model or tool span can be mapped only when it is no duplicate
            kind in ("agent", "plain") or (dup and i > 0 and roll == 0)
            for i, (kind, _, dup, roll) in enumerate(shape)
        )
        return
    s = job.summary()
    _adds_up(s)
    assert s["records_read"] == len(spans)


def test_import_warns_of_runs_without_model_calls_or_known_costs(tmp_path: Path) -> None:
    signer = Signer.from_seed("harness-audit/imports", b"\x12" * 32)
    key = tmp_path / "k.key"
    key.write_text(signer.text() + "\n")
    # one tool span and no model span (a Codex tool call always has the model turn that made
    # it, so a rollout is not the case)
    attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "shell"}
    span = {
        "traceId": "1" * 32,
        "spanId": "2" * 16,
        "name": "execute_tool shell",
        "startTimeUnixNano": "1759500000000000000",
        "endTimeUnixNano": "1759500001000000000",
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs.items()],
    }
    src = tmp_path / "tool-only.json"
    src.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}))
    out = tmp_path / "trail"
    r = CliRunner().invoke(
        app, ["trail", "import", str(src), "--key", str(key), "--origin", "o", "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert (
        "warning: 1 run(s) with no model call: cost and independence cannot be judged" in r.output
    )
    summary = json.loads((out / "import.json").read_text())
    assert any("no model call" in w for w in summary["warnings"])
    _adds_up(summary)
    codex = DATA / "codex"
    r = CliRunner().invoke(
        app,
        [
            "trail",
            "import",
            str(codex),
            "--key",
            str(key),
            "--origin",
            "o",
            "-o",
            str(tmp_path / "t2"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "model call(s) of unknown cost" in r.output
