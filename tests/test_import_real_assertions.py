"""Every real trace in ``../shared/real`` (and ``set2/``) imports with what the file says
(issue 25, Tests): its runs, model calls, tool calls and their names and outcomes, tokens,
costs and approvals, each figure read from the file by hand (the comment says how), not from
the importer. Nothing is dated 1970, and the counts add up. The files are read where they
are, never copied; without ``../shared`` the tests skip."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from harness_audit.importers import detect_trace, import_trace

from .conftest import SHARED

REAL = SHARED / "real"

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real is not here")


def row(
    fmt: str,
    runs: int,
    kinds: dict[str, int],
    tools: dict[str, int] | None = None,
    outcomes: dict[str, int] | None = None,
    tokens: tuple[int, int] = (0, 0),
    cost: int = 0,
    unknown: dict[str, int] | None = None,
    approvals: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "fmt": fmt,
        "runs": runs,
        "kinds": kinds,
        "tools": tools or {},
        "outcomes": outcomes or {},
        "tokens": tokens,
        "cost": cost,
        "unknown": unknown or {},
        "approvals": approvals or [],
    }


CASES: dict[str, dict[str, Any]] = {
    # GENERATION usageDetails input/output 190/164, costDetails.total $0.0001269; 2 EVAL scores
    "langfuse/crewai-2025-07-11.trace.json": row(
        "langfuse", 1, {"model_call": 1, "verification": 2}, tokens=(190, 164), cost=127
    ),
    # 2 GENERATIONs 67/9 tokens, $0.0000103; TOOL "execute_tool say_hello"; 2 scores
    "langfuse/google-adk-2025-08-28.trace.json": row(
        "langfuse",
        1,
        {"model_call": 2, "tool_call": 1, "verification": 2},
        {"say_hello": 1},
        {"ok": 1},
        (67, 9),
        10,
    ),
    # 2 chat GENERATIONs 293/106, $0.0002852; TOOL get_weather; 3 scores
    "langfuse/microsoft-agent-2025-12-17.trace.json": row(
        "langfuse",
        1,
        {"model_call": 2, "tool_call": 1, "verification": 3},
        {"get_weather": 1},
        {"ok": 1},
        (293, 106),
        285,
    ),
    # AGENT in AGENT (a spawn), 2 GENERATIONs 140/44, $0.000632; TOOL get_weather; 2 scores
    "langfuse/openai-agents-2025-09-30.trace.json": row(
        "langfuse",
        1,
        {"model_call": 2, "tool_call": 1, "spawn": 1, "verification": 2},
        {"get_weather": 1},
        {"ok": 1},
        (140, 44),
        632,
    ),
    # 4 GENERATIONs 1315/209, $0.0003226; 3 "running tool: ..." TOOLs; no score
    "langfuse/pydantic-ai-tools-2025-12-04.trace.json": row(
        "langfuse",
        1,
        {"model_call": 4, "tool_call": 3},
        {"get_pun_suggestion": 1, "get_dad_joke_suggestion": 1, "get_one_liner_suggestion": 1},
        {"ok": 3},
        (1315, 209),
        323,
    ),
    # patch outputs.usage_metadata 9/9; no cost stated
    "langsmith/langsmith_py_wrap_openai_.json": row(
        "langsmith", 1, {"model_call": 1}, tokens=(9, 9), unknown={"cost": 1}
    ),
    # usage_metadata 43/2497 (1,408 reasoning)
    "langsmith/langsmith_py_wrap_openai_reasoning.json": row(
        "langsmith", 1, {"model_call": 1}, tokens=(43, 2497), unknown={"cost": 1}
    ),
    # 3 call_llm (2251/86 tokens; input+output cost attributes $0.0002509), 3 execute_tool
    "otel/any-agent_GOOGLE_trace.json": row(
        "otlp",
        1,
        {"model_call": 3, "tool_call": 3},
        {"get_current_time": 1, "write_file": 1, "final_output": 1},
        {"ok": 3},
        (2251, 86),
        251,
    ),
    # 3 call_llm (1020/76, $0.0001248), 2 execute_tool
    "otel/any-agent_OPENAI_trace.json": row(
        "otlp",
        1,
        {"model_call": 3, "tool_call": 2},
        {"get_current_time": 1, "write_file": 1},
        {"ok": 2},
        (1020, 76),
        125,
    ),
    # 3 call_llm (2294/87, $0.0002555), 3 execute_tool
    "otel/any-agent_SMOLAGENTS_trace.json": row(
        "otlp",
        1,
        {"model_call": 3, "tool_call": 3},
        {"get_current_time": 1, "write_file": 1, "final_answer": 1},
        {"ok": 3},
        (2294, 87),
        255,
    ),
    # openai.chat: gen_ai.usage.input_tokens 412, output 27; no cost
    "otel/genai-interlingua_openllmetry_in.otlp.json": row(
        "otlp", 1, {"model_call": 1}, tokens=(412, 27), unknown={"cost": 1}
    ),
    # 3 span.model_request_end: input 2+2+2 plus cache reads and writes = 33,803, output 314;
    # web_search_exa asked, denied by the user; web_fetch allowed
    "other/anthropic-managed-agents/anthropic_managed_mcp_tools_reject.jsonl": row(
        "anthropic-sessions",
        1,
        {"model_call": 3, "tool_call": 2, "approval_request": 1, "approval": 1},
        {"web_search_exa": 1, "web_fetch": 1},
        {"denied": 1, "ok": 1},
        (33803, 314),
        unknown={"cost": 3},
        approvals=[("approval", "rejected"), ("approval_request", "")],
    ),
    # 2 traces, each one chat (traceloop ChatBedrockConverse.chat and botocore chat are the
    # same request): 338+329 in, 113+36 out
    "set2/agentcore-spans/sideseat_raw_otel_langchain_spans.json": row(
        "otlp", 2, {"model_call": 2}, tokens=(667, 149), unknown={"cost": 2}
    ),
    # 3 chat spans 2707+2357+2325 / 240+168+10; execute_tool code_interpreter with
    # gen_ai.tool.status "error" (AccessDenied) though its span status is OK
    "set2/agentcore-spans/sideseat_raw_otel_strands_openai_spans.json": row(
        "otlp",
        2,
        {"model_call": 3, "tool_call": 1},
        {"code_interpreter": 1},
        {"error": 1},
        (7389, 418),
        unknown={"cost": 3},
    ),
    # 2 model_request_end (2+7780+0 and 2+2464+7780 in; 151+284 out); web_search_exa asked,
    # the user allowed it (tool_confirmation allow), its result came
    "set2/anthropic-managed/anthropic_managed_mcp_tools.jsonl": row(
        "anthropic-sessions",
        1,
        {"model_call": 2, "tool_call": 1, "approval_request": 1, "approval": 1},
        {"web_search_exa": 1},
        {"ok": 1},
        (18028, 435),
        unknown={"cost": 2},
        approvals=[("approval", "approved"), ("approval_request", "")],
    ),
    # 4 call_llm 245+331+366+320 / 16+14+33+62, input+output costs $0.0001637; 2 execute_tool
    "set2/any-agent-spans/any-agent_LANGCHAIN_trace.json": row(
        "otlp",
        1,
        {"model_call": 4, "tool_call": 2},
        {"get_current_time": 1, "write_file": 1},
        {"ok": 2},
        (1262, 125),
        163,
    ),
    # 4 GENERATIONs 5+5+5+19 / 94+56+53+29, $0.003582; 2 TOOL mcp__weather__get_weather;
    # 3 numeric scores
    "set2/langfuse/claude-agent-2025-12-22.trace.json": row(
        "langfuse",
        1,
        {"model_call": 4, "tool_call": 2, "verification": 3},
        {"mcp__weather__get_weather": 2},
        {"ok": 2},
        (34, 232),
        3582,
    ),
    # 2 ChatOpenAI GENERATIONs 60+108 / 15+51, $0.000234; the Web-Search span in "tools"
    "set2/langfuse/langgraph-python-2025-08-22.trace.json": row(
        "langfuse",
        1,
        {"model_call": 2, "tool_call": 1, "verification": 2},
        {"Web-Search": 1},
        {"ok": 1},
        (168, 66),
        234,
    ),
    # post + a patch without its id (dotted_order names the run): usage_metadata 9/9, times
    # in epoch milliseconds (2024-10-13)
    "set2/langsmith/langsmith_js_wrap_openai_default.json": row(
        "langsmith", 1, {"model_call": 1}, tokens=(9, 9), unknown={"cost": 1}
    ),
    # 4 model responses (distinct tool_call_metadata ids) 3439+3601+4769+5488 / 104+1142+693+85;
    # 2 run (exit 0; exit -1: the server still running, no outcome) and 2 edit actions
    "set2/openhands/basic_gui_mode.json": row(
        "openhands",
        1,
        {"model_call": 4, "tool_call": 4},
        {"execute_bash": 2, "str_replace_editor": 2},
        {"ok": 3},
        (17297, 2024),
        unknown={"cost": 4, "outcome": 1},
    ),
    # one span's attributes alone: llm.token_count.prompt 97, completion 52
    "set2/otel-attr-fixtures/openinference_client_span_tool_calls.json": row(
        "otlp", 1, {"model_call": 1}, tokens=(97, 52), unknown={"cost": 1, "time": 3}
    ),
    # the same span in GenAI names: gen_ai.usage.input_tokens 97, output 52
    "set2/otel-attr-fixtures/otel_genai_client_span_tool_calls.json": row(
        "otlp", 1, {"model_call": 1}, tokens=(97, 52), unknown={"cost": 1, "time": 3}
    ),
    # an execute_tool span's attributes: get_weather
    "set2/otel-attr-fixtures/otel_genai_tool_execution_span.json": row(
        "otlp",
        1,
        {"tool_call": 1},
        {"get_weather": 1},
        {"ok": 1},
        unknown={"time": 3},
    ),
    # 41 "Tool Usage" spans in 12 traces (3 with nothing mapped): 4 are "Delegate work to
    # coworker" (spawns); no LLM span
    "set2/otlp-jsonl/sideseat_traces-crewai.jsonl.gz": row(
        "otlp",
        9,
        {"tool_call": 37, "spawn": 4},
        {
            "search_web": 12,
            "search_knowledge": 7,
            "temperature_forecast": 4,
            "precipitation_forecast": 4,
            "calculator": 4,
            "generate_image": 3,
            "analyze_image_metadata": 1,
            "read_file_contents": 1,
            "/Users/spugachev/Desktop/dev/sideseat-intl/misc/samples/python/.venv/bin/"
            "python3_/Users/spugachev/Desktop/dev/sideseat-intl/misc/mcp/calculator.py_"
            "calculate": 1,
        },
        {"ok": 37},
    ),
    # 31 doGenerate spans (ai.usage inputTokens 237,806, outputTokens 6,083; the one with an
    # invalid model states none), 21 ai.toolCall spans
    "set2/otlp-jsonl/sideseat_traces-vercel.jsonl.gz": row(
        "otlp",
        17,
        {"model_call": 31, "tool_call": 21},
        {
            "image_reader": 4,
            "calculator": 5,
            "generate_image": 3,
            "search_knowledge": 3,
            "precipitation_forecast": 3,
            "temperature_forecast": 3,
        },
        {"ok": 21},
        (237806, 6083),
        unknown={"cost": 31, "usage": 1},
    ),
    # 12 steps, model_stats: tokens_sent 122,612, received 1,369, instance_cost $1.26719,
    # api_calls 12 (spread over the steps: estimated); no time in the file (26 events)
    "set2/swe-agent/pydicom-1458/pydicom__pydicom-1458.traj": row(
        "swe-agent",
        1,
        {"model_call": 12, "tool_call": 12},
        {"create": 1, "edit": 5, "python": 2, "find_file": 1, "open": 1, "rm": 1, "submit": 1},
        {"ok": 12},
        (122612, 1369),
        1267190,
        {"cost_estimated": 12, "time": 26},
    ),
}


def test_every_real_trace_has_a_row() -> None:
    """A trace added to ../shared/real gets its row here (its figures read by hand)."""
    traces = {
        str(p.relative_to(REAL))
        for pattern in (
            "otel/*.json",
            "langfuse/*.json",
            "langsmith/*.json",
            "other/anthropic-managed-agents/*.jsonl",
            "set2/agentcore-spans/*.json",
            "set2/anthropic-managed/*.jsonl",
            "set2/any-agent-spans/*.json",
            "set2/langfuse/*.json",
            "set2/langsmith/*.json",
            "set2/openhands/*.json",
            "set2/otel-attr-fixtures/*.json",
            "set2/otlp-jsonl/*.gz",
            "set2/swe-agent/*/*.traj",
        )
        for p in REAL.glob(pattern)
    }
    assert traces <= set(CASES), sorted(traces - set(CASES))


@pytest.mark.parametrize("rel", sorted(CASES))
def test_real_trace_reads_as_the_file_says(rel: str) -> None:
    path = REAL / rel
    if not path.is_file():
        pytest.skip(f"{rel} is not in this copy of ../shared/real")
    want = CASES[rel]
    assert detect_trace(path).format == want["fmt"]
    job = import_trace([path])
    events = [r.event for r in job.events()]
    summary = job.summary()
    kinds = Counter(str(e["kind"]) for e in events)
    assert kinds.pop("run_start") == kinds.pop("run_end") == want["runs"] == summary["runs"]
    assert dict(kinds) == want["kinds"]
    calls = [e for e in events if e["kind"] == "model_call"]
    tools = [e for e in events if e["kind"] == "tool_call"]
    assert dict(Counter(str(e["tool"]) for e in tools)) == want["tools"]
    stated = Counter(str(e["outcome"]) for e in tools if "x_outcome" not in e)
    assert dict(stated) == want["outcomes"]
    assert (sum(e["input_tokens"] for e in calls), sum(e["output_tokens"] for e in calls)) == (
        want["tokens"]
    )
    assert sum(e["cost_microusd"] for e in calls) == want["cost"]
    assert summary.get("unknown", {}) == want["unknown"]
    approvals = sorted(
        (str(e["kind"]), str(e.get("verdict", ""))) for e in events if "approval" in e["kind"]
    )
    assert approvals == want["approvals"]
    for e in events:
        assert not str(e["ts"]).startswith("1970-"), e
    assert summary["records_read"] == summary["records_mapped"] + summary["records_dropped"]
