"""Issue 25, "dropped silently": a Langfuse tool span in a LangGraph ``tools`` node when the trace
carries no tool definitions, Anthropic client-side custom tools (``agent.custom_tool_use`` ->
``user.custom_tool_result``), CrewAI's "Delegate work to coworker" (a spawn of the coworker, not
a tool of unknown effect). Our own inputs in the shapes of the real files under
``../shared/real`` (read there), and the real files asserted as read by hand.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness_audit.importers import import_trace

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "real" / "set2"


def _events(p: Path) -> list[dict[str, Any]]:
    return [r.event for r in import_trace([p]).events()]


def _obs(oid: str, parent: str | None, typ: str, name: str, node: str, **kw: Any) -> Any:
    meta = {"langgraph_node": node, "langgraph_step": 2, "tags": ["langgraph"]}
    return {
        "id": oid,
        "traceId": "tr-1",
        "type": typ,
        "name": name,
        "parentObservationId": parent,
        "startTime": "2026-01-10T10:00:00.000Z",
        "endTime": "2026-01-10T10:00:01.000Z",
        "level": "DEFAULT",
        "metadata": json.dumps(meta),
        **kw,
    }


def test_a_tool_in_a_langgraph_tools_node_without_definitions(tmp_path: Path) -> None:
    doc = {
        "trace": {"id": "tr-1", "name": "LangGraph", "timestamp": "2026-01-10T10:00:00.000Z"},
        "observations": [
            _obs("g", None, "SPAN", "LangGraph", "__start__"),
            _obs("a", "g", "SPAN", "agent", "agent"),
            _obs("m", "a", "GENERATION", "ChatOpenAI", "agent", model="gpt-4o"),
            _obs("t", "g", "SPAN", "tools", "tools"),
            _obs("w", "t", "SPAN", "lookup_order", "tools"),
            _obs("c", "t", "SPAN", "ChannelWrite<tools>", "tools"),
        ],
    }
    p = tmp_path / "t.trace.json"
    p.write_text(json.dumps(doc))
    events = _events(p)
    (tool,) = [e for e in events if e["kind"] == "tool_call"]
    assert tool["tool"] == "lookup_order" and tool["span"] == "w"


def test_anthropic_client_side_custom_tools(tmp_path: Path) -> None:
    lines = [
        [
            "client.beta.sessions.create",
            {
                "id": "sesn_1",
                "created_at": "2026-07-01T09:00:00Z",
                "agent": {"name": "Ops helper", "model": {"id": "claude-sonnet-4-5"}},
            },
        ],
        [
            "client.beta.sessions.events.stream",
            {
                "type": "agent.custom_tool_use",
                "id": "sevt_u1",
                "name": "restart_service",
                "input": {"service": "billing"},
                "processed_at": "2026-07-01T09:00:02Z",
            },
        ],
        [
            "client.beta.sessions.events.send",
            ["sesn_1", {"events": [{"type": "user.custom_tool_result"}]}],
        ],
        [
            "client.beta.sessions.events.stream",
            {
                "type": "user.custom_tool_result",
                "id": "sevt_r1",
                "custom_tool_use_id": "sevt_u1",
                "content": [{"type": "text", "text": "restarted"}],
                "processed_at": "2026-07-01T09:00:05Z",
            },
        ],
    ]
    p = tmp_path / "session.jsonl"
    p.write_text("".join(json.dumps(x) + "\n" for x in lines))
    events = _events(p)
    (tool,) = [e for e in events if e["kind"] == "tool_call"]
    assert tool["tool"] == "restart_service" and tool["outcome"] == "ok"
    assert tool["x_executed_by"] == "client (custom tool)"


def _kv(k: str, v: str) -> Any:
    return {"key": k, "value": {"stringValue": v}}


def test_crewai_delegation_is_a_spawn(tmp_path: Path) -> None:
    def span(sid: str, parent: str | None, name: str, attrs: list[Any]) -> Any:
        s = {"traceId": "ab" * 16, "spanId": sid, "name": name, "kind": 1}
        s |= {"startTimeUnixNano": "1770920000000000000", "endTimeUnixNano": "1770920001000000000"}
        return s | {"attributes": attrs, **({"parentSpanId": parent} if parent else {})}

    arg = json.dumps({"task": "plan it", "context": "", "coworker": "Project Planner"})
    spans = [
        span(
            "00000000000000a1", None, "Crew_abc.kickoff", [_kv("openinference.span.kind", "CHAIN")]
        ),
        span(
            "00000000000000a2",
            "00000000000000a1",
            "Crew Manager._execute_core",
            [_kv("openinference.span.kind", "AGENT"), _kv("agent.name", "Crew Manager")],
        ),
        span(
            "00000000000000a3",
            "00000000000000a2",
            "Delegate work to coworker._use",
            [
                _kv("openinference.span.kind", "TOOL"),
                _kv("tool.name", "Delegate work to coworker"),
                _kv("input.value", json.dumps({"tool_string": f"Action Input: {arg}"})),
            ],
        ),
        span(
            "00000000000000a4",
            "00000000000000a2",
            "search_web._use",
            [_kv("openinference.span.kind", "TOOL"), _kv("tool.name", "search_web")],
        ),
    ]
    p = tmp_path / "crew.json"
    p.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    events = _events(p)
    (spawn,) = [e for e in events if e["kind"] == "spawn"]
    assert spawn["child"] == "Project Planner" and spawn["agent"] == "Crew Manager"
    assert [e["tool"] for e in events if e["kind"] == "tool_call"] == ["search_web"]


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real is not here")
def test_real_langgraph_langfuse_tool_span() -> None:
    """langgraph-python-2025-08-22: 2 ChatOpenAI generations (gpt-4o) and the Web-Search span
    inside the ``tools`` node (the trace has no tool definitions); 2 numeric scores."""
    events = _events(REAL / "langfuse" / "langgraph-python-2025-08-22.trace.json")
    kinds = Counter(str(e["kind"]) for e in events)
    assert kinds["model_call"] == 2 and kinds["tool_call"] == 1
    assert [e["tool"] for e in events if e["kind"] == "tool_call"] == ["Web-Search"]


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real is not here")
def test_real_crewai_delegations() -> None:
    """sideseat traces-crewai: 4 "Delegate work to coworker" uses by the Crew Manager."""
    events = _events(REAL / "otlp-jsonl" / "sideseat_traces-crewai.jsonl.gz")
    spawns = [e for e in events if e["kind"] == "spawn"]
    assert len(spawns) == 4
    assert {e["agent"] for e in spawns} == {"Crew Manager"}
    assert "Project Planner" in {e["child"] for e in spawns}
    assert not any(e.get("tool") == "Delegate work to coworker" for e in events)
