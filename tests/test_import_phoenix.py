"""Issue 25, items 1 and 2: Arize Phoenix span exports are a format of their own.

Phoenix keeps the OpenInference kind in ``span_kind`` beside a flat attribute map; read as OTLP
(its ``context: {trace_id, span_id}`` looks like an SDK span dump) no span had a kind and the
import sealed an empty trail that verified. The inputs here are our own, in the shapes Phoenix
serves and saves (Arize-ai/phoenix ``src/phoenix/server/api/routers/v1/spans.py``: the REST
``Span`` and the snake-case ``OtlpSpan``; the spans dataframe's flattened columns).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness_audit.errors import HarnessAuditError
from harness_audit.importers import detect_trace, import_trace
from harness_audit.trail.note import Signer
from harness_audit.trail.verify import verify_trail
from harness_audit.trail.writer import TrailWriter

T = "6f3c2a1b9e8d7c6b5a4f3e2d1c0b9a88"


def _rest(span: str, parent: str | None, kind: str, name: str, attrs: dict[str, Any]) -> Any:
    return {
        "id": f"U3Bhbjo{span[-2:]}",
        "name": name,
        "context": {"trace_id": T, "span_id": span},
        "span_kind": kind,
        "parent_id": parent,
        "start_time": "2026-03-02T10:15:00.120000+00:00",
        "end_time": "2026-03-02T10:15:02.480000+00:00",
        "status_code": "OK",
        "status_message": "",
        "attributes": attrs,
        "events": [],
    }


LLM = {
    "llm.model_name": "gpt-4o-mini",
    "llm.provider": "openai",
    "llm.token_count.prompt": 412,
    "llm.token_count.completion": 57,
    "llm.cost.total": 0.0009,
}
SPANS = [
    _rest("a1a1a1a1a1a1a1a1", None, "AGENT", "research_agent", {"agent.name": "researcher"}),
    _rest("b2b2b2b2b2b2b2b2", "a1a1a1a1a1a1a1a1", "LLM", "ChatOpenAI", LLM),
    _rest(
        "c3c3c3c3c3c3c3c3",
        "a1a1a1a1a1a1a1a1",
        "TOOL",
        "search_docs",
        {"tool.name": "search_docs", "input.value": '{"q": "refund policy"}'},
    ),
    _rest("d4d4d4d4d4d4d4d4", "a1a1a1a1a1a1a1a1", "CHAIN", "RunnableSequence", {}),
]
WANT = {"run_start": 1, "run_end": 1, "model_call": 1, "tool_call": 1}


def _dataframe_records() -> list[dict[str, Any]]:
    out = []
    for s in SPANS:
        row = {k: v for k, v in s.items() if k not in ("context", "attributes", "id")}
        row["context.trace_id"] = s["context"]["trace_id"]
        row["context.span_id"] = s["context"]["span_id"]
        row["start_time"] = 1772446500120  # epoch milliseconds, as pandas writes them
        row["end_time"] = 1772446502480
        row |= {f"attributes.{k}": v for k, v in s["attributes"].items()}
        out.append(row)
    return out


def _events(p: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    job = import_trace([p])
    return [r.event for r in job.events()], job.summary()


@pytest.mark.parametrize("shape", ["rest-array", "rest-page", "jsonl", "dataframe"])
def test_phoenix_exports_are_read_not_taken_for_otlp(tmp_path: Path, shape: str) -> None:
    p = tmp_path / ("spans.jsonl" if shape == "jsonl" else "spans.json")
    if shape == "rest-array":
        p.write_text(json.dumps(SPANS))
    elif shape == "rest-page":
        p.write_text(json.dumps({"data": SPANS, "next_cursor": None}))
    elif shape == "jsonl":
        p.write_text("".join(json.dumps(s) + "\n" for s in SPANS))
    else:
        p.write_text(json.dumps(_dataframe_records()))
    d = detect_trace(p)
    assert d.format == "phoenix", d
    events, summary = _events(p)
    assert Counter(str(e["kind"]) for e in events) == WANT
    (call,) = [e for e in events if e["kind"] == "model_call"]
    assert call["model"]["name"] == "gpt-4o-mini" and call["agent"] == "researcher"
    assert call["input_tokens"] == 412 and call["output_tokens"] == 57
    assert call["cost_microusd"] == 900
    assert str(call["ts"]).startswith("2026-03-02T10:15:02.48")  # never 1970
    (tool,) = [e for e in events if e["kind"] == "tool_call"]
    assert tool["tool"] == "search_docs"
    assert summary["records_read"] == 4
    assert summary["records_read"] == summary["records_mapped"] + summary["records_dropped"]


def test_sealed_phoenix_import_verifies(tmp_path: Path) -> None:
    p = tmp_path / "spans.json"
    p.write_text(json.dumps(SPANS))
    events, _ = _events(p)
    signer = Signer.from_seed("test", b"\x05" * 32)
    with TrailWriter(tmp_path / "t", "harness-audit/test", signer) as w:
        for e in events:
            w.append(e)
    assert verify_trail([tmp_path / "t"], [signer.verifier]).ok


def test_forced_as_otlp_a_phoenix_export_is_refused_not_sealed_empty(tmp_path: Path) -> None:
    """``--from otlp`` on a Phoenix export: detection does not take it, and reading it as OTLP
    would map nothing; either way no empty trail."""
    only_chain = [_rest("e5e5e5e5e5e5e5e5", None, "CHAIN", "RunnableSequence", {})]
    p = tmp_path / "spans.json"
    p.write_text(json.dumps(only_chain))
    with pytest.raises(HarnessAuditError) as e:
        list(import_trace([p]).events())
    assert "read as phoenix" in e.value.diagnostics()[0].message


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"span_kind": st.one_of(st.sampled_from(["LLM", "TOOL", "AGENT"]), st.integers())},
            optional={
                "context": st.one_of(
                    st.fixed_dictionaries(
                        {"trace_id": st.text(max_size=34), "span_id": st.text(max_size=18)}
                    ),
                    st.integers(),
                ),
                "context.span_id": st.text(max_size=18),
                "parent_id": st.one_of(st.none(), st.text(max_size=18)),
                "start_time": st.one_of(st.integers(), st.floats(), st.text(max_size=30)),
                "attributes": st.one_of(
                    st.dictionaries(st.text(max_size=20), st.integers() | st.text(max_size=5)),
                    st.lists(st.integers(), max_size=3),
                ),
                "status_code": st.one_of(st.text(max_size=6), st.integers()),
            },
        ),
        min_size=1,
        max_size=6,
    )
)
def test_phoenix_fuzz_no_traceback(tmp_path: Path, recs: list[Any]) -> None:
    p = tmp_path / "spans.json"
    p.write_text(json.dumps(recs))
    try:
        job = import_trace([p], "phoenix")
        list(job.events())
    except HarnessAuditError:
        return
    s = job.summary()
    assert s["records_read"] == s["records_mapped"] + s["records_dropped"]
