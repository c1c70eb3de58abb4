"""AWS AgentCore runtime log records (issue 25, item 1: "AgentCore span and log records"):
``--from agentcore-logs``, detected by ``--from auto``.

The inputs are written here in the shapes of real CloudWatch exports of an AgentCore runtime's
``otel-rt-logs`` stream (sideseat/sideseat ``misc/fixtures/raw_otel_*_runtime_logs.json``):
``{"timestamp", "raw_otel_json": <OTel log record>}`` records, newest first, mixing botocore
``gen_ai.*`` events, framework records (Strands, LangChain: ``{input, output}`` messages),
application log lines, and plain ``{timestamp, level, message}`` lines without a trace id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness_audit.errors import HarnessAuditError
from harness_audit.importers import detect_trace, import_trace
from harness_audit.importers.base import ImportFormatError

from .test_import_coding_agents import _mutate

TRACE = "691eb3981d03a56943bfe83732bf8aca"
T0 = 1763619737_000_000_000
RESOURCE = {
    "attributes": {
        "service.name": "agent_lg.DEFAULT",
        "cloud.platform": "aws_bedrock_agentcore",
        "aws.log.group.names": "/aws/bedrock-agentcore/runtimes/agent_lg-X-DEFAULT",
        "aws.log.stream.names": "otel-rt-logs",
    }
}
BEDROCK = "opentelemetry.instrumentation.botocore.bedrock-runtime"


def rec(
    scope: str, ns: int, body: Any, attrs: dict[str, Any], span: str, trace: str = TRACE
) -> dict[str, Any]:
    """One CloudWatch record: the export's timestamp and the OTel log record."""
    return {
        "timestamp": "2025-11-20 06:22:17.373",
        "raw_otel_json": {
            "resource": RESOURCE,
            "scope": {"name": scope},
            "timeUnixNano": ns,
            "observedTimeUnixNano": ns + 1000,
            "severityNumber": 9,
            "severityText": "",
            "body": body,
            "attributes": attrs,
            "flags": 1,
            "traceId": trace,
            "spanId": span,
        },
    }


def gen_ai(event: str, ns: int, body: Any, span: str, **extra: Any) -> dict[str, Any]:
    return rec(
        BEDROCK, ns, body, {"event.name": event, "gen_ai.system": "aws.bedrock", **extra}, span
    )


def langchain_tool_run() -> list[dict[str, Any]]:
    """Two chat spans: the first asks for calculator, the second reads its result."""
    ask = "a1a1a1a1a1a1a1a1"
    answer = "b2b2b2b2b2b2b2b2"
    call = {
        "type": "function",
        "id": "tooluse_calc1",
        "function": {"name": "calculator", "arguments": {"expression": "1+1"}},
    }
    tool_message = json.dumps(
        {
            "output": {
                "lc": 1,
                "type": "constructor",
                "id": ["langchain", "schema", "messages", "ToolMessage"],
                "kwargs": {
                    "content": "2",
                    "type": "tool",
                    "name": "calculator",
                    "tool_call_id": "tooluse_calc1",
                    "status": "success",
                },
            }
        }
    )
    records = [
        gen_ai("gen_ai.user.message", T0, {"content": [{"text": "what is 1+1"}]}, ask),
        gen_ai(
            "gen_ai.choice",
            T0 + 2_000_000_000,
            {
                "message": {"tool_calls": [call], "role": "assistant"},
                "index": 0,
                "finish_reason": "tool_use",
            },
            ask,
        ),
        rec(
            "opentelemetry.instrumentation.langchain",
            T0 + 2_500_000_000,
            {"output": {"messages": [{"content": tool_message, "role": "assistant"}]}},
            {"event.name": "opentelemetry.instrumentation.langchain", "session.id": "s1"},
            "c3c3c3c3c3c3c3c3",
        ),
        gen_ai(
            "gen_ai.user.message",
            T0 + 3_000_000_000,
            {"content": [{"text": "what is 1+1"}]},
            answer,
        ),
        gen_ai(
            "gen_ai.assistant.message",
            T0 + 3_000_000_001,
            {
                "content": [
                    {"toolUse": {"name": "calculator", "toolUseId": "tooluse_calc1", "input": {}}}
                ]
            },
            answer,
        ),
        gen_ai(
            "gen_ai.tool.message",
            T0 + 3_000_000_002,
            {"content": [{"text": "2"}], "id": "tooluse_calc1"},
            answer,
        ),
        gen_ai(
            "gen_ai.choice",
            T0 + 5_000_000_000,
            {
                "message": {"content": [{"text": "2"}], "role": "assistant"},
                "index": 0,
                "finish_reason": "end_turn",
            },
            answer,
            **{"gen_ai.response.model": "us.anthropic.claude-3-5-haiku-20241022-v1:0"},
        ),
        rec(
            "bedrock_agentcore.app",
            T0 + 5_100_000_000,
            "Invocation completed successfully (5.1s)",
            {"otelServiceName": "agent_lg.DEFAULT", "code.function.name": "_handle_invocation"},
            "d4d4d4d4d4d4d4d4",
        ),
        {
            "timestamp": "2025-11-20 06:22:22.473",
            "raw_otel_json": {
                "timestamp": "2025-11-20T06:22:22.473Z",
                "level": "INFO",
                "message": "Invocation completed successfully (5.1s)",
                "logger": "bedrock_agentcore.app",
                "requestId": "r1",
                "sessionId": "s1",
            },
        },
    ]
    return list(reversed(records))  # CloudWatch exports newest first


def import_events(tmp_path: Path, path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The events (unknowns marked) and the import summary (``import.json``)."""
    job = import_trace([path])
    return [r.event for r in job.events()], job.summary()


def write(tmp_path: Path, records: list[Any], name: str = "runtime_logs.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(records))
    return p


def test_detected_and_read(tmp_path: Path) -> None:
    src = write(tmp_path, langchain_tool_run())
    d = detect_trace(src)
    assert d.format == "agentcore-logs"
    assert "AgentCore log records" in d.looks_like
    events, report = import_events(tmp_path, src)
    kinds = [e["kind"] for e in events]
    assert kinds == ["run_start", "model_call", "tool_call", "model_call", "run_end"]
    first, tool, second = events[1], events[2], events[3]
    # a model call per GenAI client span, at its gen_ai.choice; usage and cost unknown
    assert first["ts"].startswith("2025-11-20T06:22:19") and second["ts"].startswith(
        "2025-11-20T06:22:22"
    )
    for call in (first, second):
        assert call["x_usage"] == "unknown" and call["x_cost"] == "unknown"
        assert call["input_tokens"] == 0 and call["cost_microusd"] == 0
        assert call["model"]["provider"] != "unknown"
    assert first["x_model"] == "unknown" and first["model"]["name"] == "unknown"
    assert second["model"]["family"] != "unknown" and "x_model" not in second
    # the tool call: requested by the first call's choice, placed at its first result
    assert tool["tool"] == "calculator" and tool["span"] == "tool:tooluse_calc1"
    assert tool["outcome"] == "ok" and "x_outcome" not in tool  # ToolMessage status success
    assert tool["ts"].startswith("2025-11-20T06:22:19.5")
    assert events[-1]["outcome"] == "unknown"
    assert events[0]["run"] == TRACE and {e["agent"] for e in events[1:-1]} == {"agent_lg.DEFAULT"}
    src_info = report["sources"][0]
    assert src_info["format"] == "agentcore-logs"
    assert any("AgentCore log record" in d for d in src_info["deviations"])
    assert report["records_read"] == 9
    assert report["records_read"] == report["records_mapped"] + report["records_dropped"]
    assert report["dropped"] == {
        "application log line (no OpenTelemetry log record)": 1,
        "application log line (text body: no agent event)": 1,
    }


def test_history_tool_uses_are_not_calls_of_this_run(tmp_path: Path) -> None:
    """A model call's input carries the conversation so far (AgentCore memory restores earlier
    invocations): a tool use stated only there is not a call of this run."""
    span = "e5e5e5e5e5e5e5e5"
    records = [
        gen_ai(
            "gen_ai.assistant.message",
            T0,
            {
                "content": [
                    {
                        "toolUse": {
                            "name": "code_interpreter",
                            "toolUseId": "tooluse_old",
                            "input": {},
                        }
                    }
                ]
            },
            span,
        ),
        gen_ai(
            "gen_ai.user.message",
            T0 + 1,
            {
                "content": [
                    {"toolResult": {"toolUseId": "tooluse_old", "content": [], "status": "error"}}
                ]
            },
            span,
        ),
        gen_ai("gen_ai.user.message", T0 + 2, {"content": [{"text": "Hello"}]}, span),
    ]
    events, report = import_events(tmp_path, write(tmp_path, records))
    assert [e["kind"] for e in events] == ["run_start", "model_call", "run_end"]
    assert events[1]["x_response"].startswith("not in the records")  # no gen_ai.choice
    assert any("stated only in a model call's input" in n for n in report["notes"])


def test_strands_records_give_tool_calls_not_model_calls(tmp_path: Path) -> None:
    """A Strands record ({input, output} messages, tool uses as JSON text) does not say which
    span it closes: its tool calls are read (one per id, its status the outcome), no model call
    is counted from it, and the warning on screen says the run has none."""
    use = json.dumps(
        [{"toolUse": {"toolUseId": "call_x1", "name": "code_interpreter", "input": {}}}]
    )
    result = json.dumps(
        [{"toolResult": {"status": "error", "content": [], "toolUseId": "call_x1"}}]
    )
    body_cycle = {
        "output": {"messages": [{"content": {"content": use}, "role": "assistant"}]},
        "input": {"messages": [{"content": {"content": '[{"text": "run it"}]'}, "role": "user"}]},
    }
    body_agent = {
        "output": {
            "messages": [
                {
                    "content": {"message": "could not run it", "finish_reason": "end_turn"},
                    "role": "assistant",
                }
            ]
        },
        "input": {"messages": [{"content": {"content": result}, "role": "tool"}]},
    }
    attrs = {"event.name": "strands.telemetry.tracer", "session.id": "s"}
    records = [
        rec("strands.telemetry.tracer", T0 + 9, body_agent, attrs, "f6f6f6f6f6f6f6f6"),
        rec("strands.telemetry.tracer", T0 + 5, body_cycle, attrs, "a7a7a7a7a7a7a7a7"),
        rec(
            "strands.telemetry.tracer",
            T0 + 1,
            {"input": {"messages": []}},
            attrs,
            "b8b8b8b8b8b8b8b8",
        ),
    ]
    events, report = import_events(tmp_path, write(tmp_path, records))
    assert [e["kind"] for e in events] == ["run_start", "tool_call", "run_end"]
    tool = events[1]
    assert tool["tool"] == "code_interpreter" and tool["outcome"] == "error"
    assert report["events"].get("model_call") is None
    assert any("no model call" in w for w in report["warnings"])
    assert report["records_read"] == 3 == report["records_mapped"] + report["records_dropped"]


def test_bare_records_as_json_lines_and_otlp_logs(tmp_path: Path) -> None:
    """Bare log records one a line (no CloudWatch wrapper), and an OTLP/JSON
    ExportLogsServiceRequest (attributes as key/value lists, the body an AnyValue)."""
    bare = [r["raw_otel_json"] for r in langchain_tool_run()[:-1]]
    jl = tmp_path / "logs.jsonl"
    jl.write_text("".join(json.dumps(r) + "\n" for r in bare))
    assert detect_trace(jl).format == "agentcore-logs"
    events, report = import_events(tmp_path / "a", jl)
    assert [e["kind"] for e in events] == [
        "run_start",
        "model_call",
        "tool_call",
        "model_call",
        "run_end",
    ]
    assert "deviations" not in report["sources"][0]  # no envelope: none named

    def kv(d: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"key": k, "value": {"stringValue": str(v)}} for k, v in d.items()]

    req = {
        "resourceLogs": [
            {
                "resource": {"attributes": kv({"service.name": "weather-agent"})},
                "scopeLogs": [
                    {
                        "scope": {"name": "opentelemetry.instrumentation.openai"},
                        "logRecords": [
                            {
                                "timeUnixNano": str(T0),
                                "severityNumber": 9,
                                "attributes": kv(
                                    {"event.name": "gen_ai.choice", "gen_ai.system": "openai"}
                                ),
                                "body": {
                                    "kvlistValue": {
                                        "values": [
                                            {
                                                "key": "finish_reason",
                                                "value": {"stringValue": "stop"},
                                            }
                                        ]
                                    }
                                },
                                "traceId": "0af7651916cd43dd8448eb211c80319c",
                                "spanId": "b7ad6b7169203331",
                            }
                        ],
                    }
                ],
            }
        ]
    }
    doc = tmp_path / "otlp-logs.json"
    doc.write_text(json.dumps(req))
    d = detect_trace(doc)
    assert d.format == "agentcore-logs" and "ExportLogsServiceRequest" in d.looks_like
    events, _ = import_events(tmp_path / "b", doc)
    assert [e["kind"] for e in events] == ["run_start", "model_call", "run_end"]
    assert events[1]["agent"] == "weather-agent" and events[1]["model"]["provider"] == "openai"


def test_span_records_stay_otlp(tmp_path: Path) -> None:
    """AgentCore span records (aws/spans) are still read by otlp: a log record is told from a
    span by its time field and the span's name."""
    span = {
        "timestamp": "2025-11-18 07:43:54.057",
        "raw_otel_json": {
            "resource": RESOURCE,
            "traceId": TRACE,
            "spanId": "e2a36d975676155e",
            "name": "chat",
            "kind": "CLIENT",
            "startTimeUnixNano": T0,
            "endTimeUnixNano": T0 + 10,
            "attributes": {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"},
        },
    }
    assert detect_trace(write(tmp_path, [span], "spans.json")).format == "otlp"


def test_no_log_records_is_a_clear_error(tmp_path: Path) -> None:
    p = write(tmp_path, [{"timestamp": "x", "raw_otel_json": {"level": "INFO", "message": "hi"}}])
    with pytest.raises(ImportFormatError):
        detect_trace(p)


# -- fuzz: any change to the records gives events or a clear error, no traceback ------------


@pytest.mark.parametrize("shape", ["array", "jsonl"])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_agentcore_logs_fuzz_no_traceback(shape: str, tmp_path: Path, data: st.DataObject) -> None:
    records: list[Any] = langchain_tool_run()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(records) - 1))
        records[i] = _mutate(records[i], data)
    src = tmp_path / "logs.json"
    if shape == "array":
        src.write_text(json.dumps(records))
    else:
        src.write_text("".join(json.dumps(r) + "\n" for r in records))
    for fmt in ("agentcore-logs", "auto"):
        try:
            job = import_trace([src], fmt)
            events = [r.event for r in job.events()]
            summary = job.summary()
        except HarnessAuditError:
            continue
        for e in events:
            assert isinstance(e["ts"], str) and not e["ts"].startswith("1970-")
        assert summary["records_read"] == summary["records_mapped"] + summary["records_dropped"]


def test_named_by_the_commands_given_it(tmp_path: Path) -> None:
    """verify and scan name the log records and the command that converts them (item 6)."""
    from typer.testing import CliRunner

    from harness_audit.cli._cli import app

    src = write(tmp_path, langchain_tool_run())
    for cmd in (["verify", str(src)], ["scan", str(src)]):
        r = CliRunner().invoke(app, cmd)
        assert r.exit_code == 2, r.output
        assert "AgentCore log records" in r.stderr and "--from agentcore-logs" in r.stderr


def test_memory_is_bounded_by_the_traces_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trace no record has come for in QUIET_RECORDS records is emitted while reading; a
    record of it arriving later is dropped as late, and counted."""
    from harness_audit.importers import agentcore_logs

    monkeypatch.setattr(agentcore_logs, "QUIET_RECORDS", 3)
    records = []
    for t in range(6):
        trace = f"{t + 1:032x}"
        span = f"{t + 1:016x}"
        choice = gen_ai("gen_ai.choice", T0 + t, {"message": {"role": "assistant"}}, span)
        choice["raw_otel_json"]["traceId"] = trace
        records.append(choice)
    late = gen_ai("gen_ai.choice", T0 + 99, {"message": {"role": "assistant"}}, "f" * 16)
    late["raw_otel_json"]["traceId"] = f"{1:032x}"
    records.append(late)
    src = tmp_path / "logs.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    _, report = import_events(tmp_path, src)
    assert report["runs"] == 6
    assert report["dropped"] == {
        "log record arrived after its trace was flushed (late): dropped": 1
    }
    assert report["records_read"] == 7 == report["records_mapped"] + report["records_dropped"]
