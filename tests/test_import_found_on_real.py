"""The mechanisms the real traces found wrong (issue 25, Tests), each on an input written here in
the shape of the real file, so they hold where ``../shared/real`` is absent:

- a Strands ``execute_tool`` span whose ``gen_ai.tool.status`` is ``error`` (its span status OK);
- a LangSmith JS ingestion payload: the patch carries no ``id`` (it was in the request's URL;
  ``dotted_order`` names the run) and times are epoch milliseconds;
- an OpenHands command observation's exit code (-1: still running when observed);
- one span's attribute map alone (no ids, no times), and a fuzz of such maps."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness_audit.errors import HarnessAuditError
from harness_audit.importers import detect_trace, import_trace


def _events(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    job = import_trace([path])
    return [r.event for r in job.events()], job.summary()


def test_strands_tool_status_error_is_an_error(tmp_path: Path) -> None:
    trace = "691c23a8636a7e4512dfd580708d030e"

    def span(sid: str, parent: str | None, name: str, attrs: dict[str, Any]) -> dict[str, Any]:
        return {
            "timestamp": "2025-11-18 07:43:54.057",
            "raw_otel_json": {
                "resource": {"attributes": {"service.name": "agent.DEFAULT"}},
                "traceId": trace,
                "spanId": sid,
                "parentSpanId": parent,
                "name": name,
                "kind": "INTERNAL",
                "startTimeUnixNano": 1763451817209370221,
                "endTimeUnixNano": 1763451834057711064,
                "status": {"code": "OK"},
                "attributes": attrs,
            },
        }

    records = [
        span(
            "a" * 16,
            None,
            "invoke_agent Strands Agents",
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Strands Agents"},
        ),
        span(
            "b" * 16,
            "a" * 16,
            "execute_tool code_interpreter",
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "code_interpreter",
                "gen_ai.tool.status": "error",
            },
        ),
        span(
            "c" * 16,
            "a" * 16,
            "execute_tool calculator",
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "calculator",
                "gen_ai.tool.status": "success",
            },
        ),
    ]
    p = tmp_path / "spans.json"
    p.write_text(json.dumps(records))
    events, _ = _events(p)
    outcome = {e["tool"]: e["outcome"] for e in events if e["kind"] == "tool_call"}
    assert outcome == {"code_interpreter": "error", "calculator": "ok"}


def test_langsmith_js_patch_without_id_and_epoch_ms(tmp_path: Path) -> None:
    rid = "dc34609e-3eeb-459d-bc2a-6fedb01d2e6e"
    order = f"20241013T070537170001Z{rid}"
    doc = {
        "post": [
            {
                "id": rid,
                "name": "ChatOpenAI",
                "start_time": 1728803137170,
                "run_type": "llm",
                "extra": {"metadata": {"ls_provider": "openai", "ls_model_name": "gpt-4o-mini"}},
                "inputs": {"model": "gpt-4o-mini"},
                "trace_id": rid,
                "dotted_order": order,
            }
        ],
        "patch": [
            {
                "end_time": 1728803138285,
                "outputs": {"usage_metadata": {"input_tokens": 9, "output_tokens": 7}},
                "trace_id": rid,
                "dotted_order": order,
            }
        ],
    }
    p = tmp_path / "js.json"
    p.write_text(json.dumps(doc))
    events, summary = _events(p)
    (call,) = [e for e in events if e["kind"] == "model_call"]
    assert (call["input_tokens"], call["output_tokens"]) == (9, 7)
    assert call["ts"] == "2024-10-13T07:05:38.285Z"
    assert events[0]["ts"] == "2024-10-13T07:05:37.170Z"
    assert "run record without an id" not in summary["dropped"]


def test_openhands_exit_codes(tmp_path: Path) -> None:
    def action(i: int, cmd: str, rid: str) -> dict[str, Any]:
        return {
            "id": i,
            "timestamp": f"2025-01-20T20:29:{30 + i:02d}.000000",
            "source": "agent",
            "action": "run",
            "args": {"command": cmd},
            "tool_call_metadata": {
                "function_name": "execute_bash",
                "tool_call_id": f"toolu_{i}",
                "model_response": {
                    "id": rid,
                    "model": "claude-3-5-sonnet-20241022",
                    "usage": {"prompt_tokens": 100, "completion_tokens": 10},
                },
            },
        }

    def observe(i: int, cause: int, code: int) -> dict[str, Any]:
        return {
            "id": i,
            "timestamp": f"2025-01-20T20:29:{30 + i:02d}.500000",
            "source": "agent",
            "observation": "run",
            "cause": cause,
            "content": "",
            "extras": {"command": "x", "metadata": {"exit_code": code}},
            "success": code == 0,
        }

    events_in = [
        action(1, "mkdir -p app", "r1"),
        observe(2, 1, 0),
        action(3, "false", "r2"),
        observe(4, 3, 1),
        action(5, "python3 -m http.server", "r3"),
        observe(6, 5, -1),
    ]
    p = tmp_path / "events.json"
    p.write_text(json.dumps(events_in))
    events, summary = _events(p)
    calls = {e["span"]: e for e in events if e["kind"] == "tool_call"}
    got = [(c["outcome"], c.get("x_outcome"), c.get("x_exit_code")) for c in calls.values()]
    assert got == [("ok", None, 0), ("error", None, 1), ("ok", "unknown", -1)]
    assert summary["unknown"]["outcome"] == 1


MAP = {
    "gen_ai.provider.name": "openai",
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4",
    "gen_ai.response.model": "gpt-4-0613",
    "gen_ai.usage.input_tokens": 120,
    "gen_ai.usage.output_tokens": 30,
    "gen_ai.response.finish_reasons": ["stop"],
}


def test_one_spans_attribute_map(tmp_path: Path) -> None:
    p = tmp_path / "span.json"
    p.write_text(json.dumps(MAP))
    d = detect_trace(p)
    assert d.format == "otlp" and "attribute map" in d.looks_like
    events, summary = _events(p)
    assert Counter(e["kind"] for e in events) == {"run_start": 1, "model_call": 1, "run_end": 1}
    (call,) = [e for e in events if e["kind"] == "model_call"]
    assert (call["input_tokens"], call["output_tokens"]) == (120, 30)
    assert call["agent"] == "unknown" and call["x_time"] == "unknown"
    assert not call["ts"].startswith("1970")
    assert any("attribute map" in x for x in summary["sources"][0]["deviations"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                *MAP,
                "openinference.span.kind",
                "llm.token_count.prompt",
                "gen_ai.tool.name",
                "gen_ai.tool.status",
                "traceId",
                "x",
            ]
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-5, 10**12),
            st.text(max_size=8),
            st.sampled_from(["chat", "execute_tool", "LLM", "TOOL", "AGENT", "error"]),
            st.lists(st.integers(), max_size=2),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        ),
        max_size=8,
    )
)
def test_attribute_map_fuzz_no_traceback(tmp_path: Path, doc: dict[str, Any]) -> None:
    p = tmp_path / "m.json"
    p.write_text(json.dumps(doc))
    try:
        events, summary = _events(p)
    except HarnessAuditError:
        return
    assert summary["records_read"] == summary["records_mapped"] + summary["records_dropped"]
    for e in events:
        assert not str(e["ts"]).startswith("1970")


def test_a_time_read_as_1970_is_unknown(tmp_path: Path) -> None:
    """Found by the gemini-cli fuzz: ``lastUpdated: 1`` was read as 1 ns after the epoch and
    written as a 1970 time. Any time a reader makes 1970 of is unknown (placed, marked)."""
    src = Path(__file__).parent / "data" / "import" / "gemini"
    doc = json.loads(next(src.glob("session-*.json")).read_text())
    doc["lastUpdated"] = 1
    p = tmp_path / "session-x.json"
    p.write_text(json.dumps(doc))
    events, _ = _events(p)
    end = events[-1]
    assert not end["ts"].startswith("1970") and end["x_time"] == "unknown"
    assert end["x_time_read"].startswith("1970-")


def test_an_openhands_stream_without_times_starts_at_an_unknown_time(tmp_path: Path) -> None:
    """An OpenHands event stream whose records state no ``timestamp``: its run_start (and every
    event) has an unknown time, never a 1970 one, and no 1970 read is recorded for it."""
    src = Path(__file__).parent / "data" / "import" / "openhands_stream.json"
    doc = [{k: v for k, v in r.items() if k != "timestamp"} for r in json.loads(src.read_text())]
    p = tmp_path / "stream.json"
    p.write_text(json.dumps(doc))
    events, _ = _events(p)
    start = next(e for e in events if e["kind"] == "run_start")
    assert start["x_time"] == "unknown" and "x_time_read" not in start
    assert not any(str(e["ts"]).startswith("1970") for e in events)
