"""Trace importers against every real trace in shared/real, detection, sealing, fuzzing."""

from __future__ import annotations

import contextlib
import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness_audit.errors import HarnessAuditError
from harness_audit.importers import (
    describe_foreign,
    detect_trace,
    import_trace,
    load_mapping,
)
from harness_audit.importers.base import ImportFormatError
from harness_audit.importers.registry import TRACE_CHOICES, TRACE_FORMATS, TRACE_MODULES
from harness_audit.trail.note import Signer
from harness_audit.trail.verify import verify_trail
from harness_audit.trail.writer import TrailWriter
from tests.conftest import SHARED

REAL = SHARED / "real"


def kinds(path: Path, **kw: object) -> tuple[Counter[str], list[dict[str, object]], dict]:
    job = import_trace([path], **kw)  # type: ignore[arg-type]
    events = [r.event for r in job.events()]
    return Counter(str(e["kind"]) for e in events), events, job.summary()


# Expected counts derived by reading the files (see the comments), not from the importer.
CASES = {
    # 6 spans: invoke_agent root (the run), 3 call_llm, 2 execute_tool (get_current_time,
    # write_file)
    "otel/any-agent_OPENAI_trace.json": ("otlp", {"model_call": 3, "tool_call": 2}),
    # 7 spans: 3 call_llm, 3 execute_tool (get_current_time, write_file, final_output)
    "otel/any-agent_GOOGLE_trace.json": ("otlp", {"model_call": 3, "tool_call": 3}),
    # 7 spans: 3 call_llm, 3 execute_tool (get_current_time, write_file, final_answer)
    "otel/any-agent_SMOLAGENTS_trace.json": ("otlp", {"model_call": 3, "tool_call": 3}),
    # workflow span (structure) + openai.chat (chat)
    "otel/genai-interlingua_openllmetry_in.otlp.json": ("otlp", {"model_call": 1}),
    # 1 GENERATION, 2 EVAL scores (toxicity, hallucination)
    "langfuse/crewai-2025-07-11.trace.json": ("langfuse", {"model_call": 1, "verification": 2}),
    # 2 GENERATION call_llm, 1 TOOL say_hello, 2 scores
    "langfuse/google-adk-2025-08-28.trace.json": (
        "langfuse",
        {"model_call": 2, "tool_call": 1, "verification": 2},
    ),
    # 2 chat GENERATIONs, TOOL get_weather, 3 scores; the root AGENT is the run
    "langfuse/microsoft-agent-2025-12-17.trace.json": (
        "langfuse",
        {"model_call": 2, "tool_call": 1, "verification": 3},
    ),
    # AGENT 'Agent workflow' > AGENT 'Hello world' (a spawn), 2 GENERATION, 1 TOOL, 2 scores
    "langfuse/openai-agents-2025-09-30.trace.json": (
        "langfuse",
        {"model_call": 2, "tool_call": 1, "spawn": 1, "verification": 2},
    ),
    # 4 chat GENERATIONs, 3 TOOLs in parallel, agents under a plain SPAN root: no spawn
    "langfuse/pydantic-ai-tools-2025-12-04.trace.json": (
        "langfuse",
        {"model_call": 4, "tool_call": 3},
    ),
    "langsmith/langsmith_py_wrap_openai_.json": ("langsmith", {"model_call": 1}),
    "langsmith/langsmith_py_wrap_openai_reasoning.json": ("langsmith", {"model_call": 1}),
    # 3 model_request_end, web_search_exa (ask -> denied) and web_fetch (allow), one
    # confirmation
    "other/anthropic-managed-agents/anthropic_managed_mcp_tools_reject.jsonl": (
        "anthropic-sessions",
        {"model_call": 3, "tool_call": 2, "approval_request": 1, "approval": 1},
    ),
}


@pytest.mark.parametrize("rel", sorted(CASES))
def test_real_trace_counts(rel: str) -> None:
    fmt, expected = CASES[rel]
    path = REAL / rel
    assert detect_trace(path).format == fmt
    got, events, summary = kinds(path)
    assert got == Counter({**expected, "run_start": 1, "run_end": 1})
    assert summary["runs"] == 1
    assert summary["sources"][0]["format"] == fmt
    assert len(summary["sources"][0]["sha256"]) == 64
    for e in events:
        assert not any(isinstance(v, float) for v in e.values())
        if e["kind"] == "tool_call":
            assert (e["effect"], e["scope"]) == ("unknown", "unscoped")


def test_any_agent_values() -> None:
    _, events, _ = kinds(REAL / "otel/any-agent_OPENAI_trace.json")
    calls = [e for e in events if e["kind"] == "model_call"]
    # 269/16 tokens, $2.69e-05 + $4.8e-06 = 31.7 micro-dollars -> 32
    assert (calls[0]["input_tokens"], calls[0]["output_tokens"], calls[0]["cost_microusd"]) == (
        269,
        16,
        32,
    )
    assert calls[0]["model"] == {
        "provider": "mistral",
        "family": "mistral",
        "name": "mistral/mistral-small-latest",
    }
    assert {e["agent"] for e in events if e["kind"] != "run_start" and e["agent"] != "harness"} == {
        "any_agent"
    }
    tools = [e["tool"] for e in events if e["kind"] == "tool_call"]
    assert tools == ["get_current_time", "write_file"]
    assert events[0]["run"] == format(100927429609276267646756448943279827607, "032x")


def test_interlingua_provider_and_tokens() -> None:
    _, events, _ = kinds(REAL / "otel/genai-interlingua_openllmetry_in.otlp.json")
    (call,) = [e for e in events if e["kind"] == "model_call"]
    assert call["model"] == {
        "provider": "openai",
        "family": "gpt-4o",
        "name": "gpt-4o-mini-2024-07-18",
    }
    assert (call["input_tokens"], call["output_tokens"]) == (412, 27)
    assert call["parent"] == "aaa24d5a6cca68bf"  # the workflow span is the run_start


def test_langfuse_cost_and_scores_fail_closed() -> None:
    _, events, _ = kinds(REAL / "langfuse/crewai-2025-07-11.trace.json")
    (call,) = [e for e in events if e["kind"] == "model_call"]
    assert call["cost_microusd"] == 127  # costDetails.total 0.0001269 USD
    assert (call["input_tokens"], call["output_tokens"]) == (190, 164)
    ver = [e for e in events if e["kind"] == "verification"]
    assert {v["verdict"] for v in ver} == {"fail"}  # numeric scores have no threshold
    assert all(v["target"] == "a287bb31e317433610d8827617471140" for v in ver)
    assert events[-1]["kind"] == "run_end"


def test_langfuse_spawn() -> None:
    _, events, _ = kinds(REAL / "langfuse/openai-agents-2025-09-30.trace.json")
    (sp,) = [e for e in events if e["kind"] == "spawn"]
    assert (sp["agent"], sp["child"], sp["depth"]) == ("Agent workflow", "Hello world", 1)


def test_pydantic_agents() -> None:
    _, events, _ = kinds(REAL / "langfuse/pydantic-ai-tools-2025-12-04.trace.json")
    agents = Counter(e["agent"] for e in events if e["kind"] in ("model_call", "tool_call"))
    assert agents == Counter({"joke_agent": 6, "evaluator_agent": 1})


def test_langsmith_reasoning_tokens() -> None:
    _, events, _ = kinds(REAL / "langsmith/langsmith_py_wrap_openai_reasoning.json")
    (call,) = [e for e in events if e["kind"] == "model_call"]
    assert call["model"]["family"] == "o-series"
    assert (call["input_tokens"], call["output_tokens"]) == (43, 2497)


def test_anthropic_approvals() -> None:
    _, events, _ = kinds(
        REAL / "other/anthropic-managed-agents/anthropic_managed_mcp_tools_reject.jsonl"
    )
    by = {e["kind"]: e for e in events}
    assert by["approval"]["verdict"] == "rejected"
    assert by["approval"]["approver"] == "human:user"
    tools = {e["tool"]: e["outcome"] for e in events if e["kind"] == "tool_call"}
    assert tools == {"web_search_exa": "denied", "web_fetch": "ok"}
    order = [e["kind"] for e in events]
    assert order.index("approval_request") < order.index("approval") < order.index("tool_call")
    assert {e["model"]["family"] for e in events if e["kind"] == "model_call"} == {"claude"}


def test_mapping_applies(tmp_path: Path) -> None:
    m = tmp_path / "map.yaml"
    m.write_text(
        "agents: {any_agent: writer}\ntools: {write_file: {effect: write, scope: fs:write}}\n"
    )
    _, events, summary = kinds(REAL / "otel/any-agent_OPENAI_trace.json", mapping=load_mapping(m))
    wf = next(e for e in events if e.get("tool") == "write_file")
    assert (wf["agent"], wf["effect"], wf["scope"]) == ("writer", "write", "fs:write")
    assert summary["mapping"]["tools"]["get_current_time"]["from"] == "undeclared"


def test_gzip_and_jsonl(tmp_path: Path) -> None:
    doc = json.loads((REAL / "otel/genai-interlingua_openllmetry_in.otlp.json").read_text())
    lines = (json.dumps(doc) + "\n") * 2  # the same spans sent twice: one event each
    p = tmp_path / "t.jsonl.gz"
    p.write_bytes(gzip.compress(lines.encode()))
    got, _, summary = kinds(p)
    assert got["model_call"] == 1
    assert sum(v for k, v in summary["dropped"].items() if "duplicate" in k) == 2
    assert "gzip" in (describe_foreign(p) or "")


def test_registry_exhaustive() -> None:
    import pkgutil

    import harness_audit.importers as pkg

    mods = {m.name for m in pkgutil.iter_modules(pkg.__path__)}
    helpers = {
        "base",
        "probe",
        "spans",
        "registry",
        "tables",
        "detect",
        "draft",
        "pyast",
        "reads",
        "otlp_shape",
        "drift",  # init --check (h24-a)
        "effects",  # tool effects proposed from code (issue 24, item 4)
        "adk_python",  # ADK Python agents, read by the adk format
        "agent_framework_py",  # Agent Framework Python, read by the agent-framework format
        "unknown",
        "from_trail",  # init --from-trail (issue 25, item 5): reads a trail, not a source
        "spill",  # a session's events in bounded memory (issue 25, Tests)
    }
    from harness_audit.importers.registry import DEFINITION_MODULES

    registered = {m.__name__.rsplit(".", 1)[1] for m in (*TRACE_MODULES, *DEFINITION_MODULES)}
    assert mods - helpers == registered
    assert set(TRACE_CHOICES) == {"auto", *TRACE_FORMATS}
    assert set(TRACE_FORMATS) == {
        "otlp",
        "langfuse",
        "langsmith",
        "anthropic-sessions",
        "openhands",
        "swe-agent",
        "claude-code",
        "codex",
        "gemini-cli",
        "phoenix",
        "openhands-sdk",
        "mini-swe-agent",
        "agentcore-logs",
    }


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"data": [{"traceID": "a", "spans": []}]}', "Jaeger"),
        ('[{"traceId": "a", "id": "b", "name": "x"}]', "Zipkin"),
        ('{"observations": []}', "Langfuse observations without their trace"),
        ('{"a": 1}', "JSON object with keys a"),
    ],
)
def test_near_misses(tmp_path: Path, content: str, needle: str) -> None:
    p = tmp_path / "x.json"
    p.write_text(content)
    with pytest.raises(ImportFormatError) as e:
        detect_trace(p)
    assert needle in str(e.value) and "nearest supported format" in str(e.value)


def test_wrong_format_named(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="looks like a Langfuse trace export"):
        detect_trace(REAL / "langfuse/crewai-2025-07-11.trace.json", "otlp")
    with pytest.raises(ImportFormatError, match="agent definitions, not a trace"):
        detect_trace(REAL / "crewai/recruitment/agents.yaml")


def test_describe_foreign() -> None:
    d = describe_foreign(REAL / "otel/genai-interlingua_openllmetry_in.otlp.json")
    assert d and "OTLP" in d and "trail import" in d and "--from otlp" in d
    d = describe_foreign(REAL / "crewai/recruitment/agents.yaml")
    assert d and "CrewAI agents.yaml" in d and "harness-audit init" in d


def _seal(events: list[dict[str, object]], folder: Path) -> None:
    signer = Signer.from_seed("test", b"\x01" * 32)
    with TrailWriter(folder, "harness-audit/test", signer) as w:
        for e in events:
            w.append(e)
    report = verify_trail([folder], [signer.verifier])
    assert report.ok, report


@pytest.mark.parametrize("rel", sorted(CASES))
def test_real_traces_seal_and_verify(rel: str, tmp_path: Path) -> None:
    _, events, _ = kinds(REAL / rel)
    _seal(events, tmp_path / "trail")


ATTRIBUTE_KEYS = [
    "gen_ai.operation.name",
    "gen_ai.tool.name",
    "gen_ai.request.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.agent.name",
    "openinference.span.kind",
    "gen_ai.usage.cost",
]
"""Attribute names the importer reads, for generated spans."""
ids = st.text("0123456789abcdef", min_size=1, max_size=4)
span = st.fixed_dictionaries(
    {
        "traceId": st.sampled_from(["a" * 32, "b" * 32]),
        "spanId": ids,
        "parentSpanId": st.one_of(st.just(""), ids),
        "name": st.text(max_size=10),
        "startTimeUnixNano": st.integers(0, 2**62).map(str),
        "endTimeUnixNano": st.integers(0, 2**62).map(str),
        "status": st.fixed_dictionaries({"code": st.integers(0, 2)}),
        "attributes": st.lists(
            st.fixed_dictionaries(
                {
                    "key": st.sampled_from(ATTRIBUTE_KEYS),
                    "value": st.one_of(
                        st.fixed_dictionaries(
                            {
                                "stringValue": st.sampled_from(
                                    [
                                        "chat",
                                        "execute_tool",
                                        "invoke_agent",
                                        "gpt-4o",
                                        "LLM",
                                        "TOOL",
                                        "AGENT",
                                        "x",
                                    ]
                                )
                            }
                        ),
                        st.fixed_dictionaries({"intValue": st.integers(-5, 2**60).map(str)}),
                        st.fixed_dictionaries(
                            {"doubleValue": st.floats(allow_nan=False, allow_infinity=False)}
                        ),
                    ),
                }
            ),
            max_size=5,
        ),
    }
)


@settings(max_examples=60)
@given(st.lists(span, max_size=12))
def test_property_accepted_traces_seal(
    tmp_path_factory: pytest.TempPathFactory, spans: list[dict[str, object]]
) -> None:
    d = tmp_path_factory.mktemp("p")
    src = d / "t.json"
    src.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    try:
        _, events, _ = kinds(src)
    except HarnessAuditError:
        return
    if events:
        _seal(events, d / "trail")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda c: (
        st.lists(c, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "trace",
                    "observations",
                    "id",
                    "type",
                    "parentObservationId",
                    "startTime",
                    "resourceSpans",
                    "scopeSpans",
                    "spans",
                    "traceId",
                    "spanId",
                    "attributes",
                    "scores",
                    "metadata",
                    "usageDetails",
                    "name",
                    "key",
                    "value",
                ]
            ),
            c,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=150)
@given(json_values, st.sampled_from(["otlp", "langfuse"]))
def test_fuzz_readers_raise_only_ours(
    tmp_path_factory: pytest.TempPathFactory, value: object, fmt: str
) -> None:
    p = tmp_path_factory.mktemp("f") / "x.json"
    p.write_text(json.dumps(value))
    with contextlib.suppress(HarnessAuditError):
        list(import_trace([p], fmt).events())
