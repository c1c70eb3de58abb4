"""Inputs for ``bench/bench_import.py``: one file a case, in the shape of each trace format the
importer registry lists, of about N records (a record: a line of JSON Lines, or an element of a
whole document's list of spans, observations, runs, events or messages).

Each case replicates a template in its format's real shape (the project's own test inputs,
``tests/data/import`` and the tests' builders, and the real files under ``../shared/real``, read
where they are, never copied), renumbering the ids of each copy (``IDS``) so that every copy is a
new trace, session turn or span, not a duplicate: what the reader does per record is what it
does on a real file, N times. Formats that are one JSON document by nature (a Langfuse trace, a
SWE-agent trajectory, ...) cannot hold a million records within the reader's bounds (256 MiB,
8,000,000 JSON values a document): their case is the largest document the bounds take
(``DOC_RECORDS``), and the bench says so.

    python bench/gen_imports.py OUT_DIR [--records 1000000] [--case NAME ...]
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "tests" / "data" / "import"
REAL = ROOT.parent / "shared" / "real"

DOC_RECORDS = 100_000
"""Records of a whole-document case at most (fewer when the document bounds take fewer: the
largest thousand they take)."""

IDS = frozenset(
    (
        # OTLP, AgentCore, any-agent, Phoenix
        "traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_id",
        "parent_span_id", "context.trace_id", "context.span_id",
        # Langfuse, LangSmith
        "id", "traceId", "parentObservationId", "parent_run_id", "run_id", "trace",
        "dotted_order",
        # Claude Code, Codex, Gemini CLI, OpenHands, mini-swe-agent, Anthropic sessions
        "uuid", "parentUuid", "leafUuid", "messageId", "requestId", "call_id", "tool_use_id",
        "tool_call_id", "llm_response_id", "action_id", "cause", "tool_call_id",
    )
)  # fmt: skip
"""Keys whose values name a record (renumbered in each copy)."""

_HEX = re.compile(r"[0-9a-f]{16}|[0-9a-f]{32}")


def renumber(value: Any, k: int, key: str = "") -> Any:
    """``value`` with every id under an :data:`IDS` key made the ``k``-th copy's: hex ids keep
    their length (the last 8 digits are ``k``), other text ids get ``-k``, integer ids move by
    ``k`` million (OpenHands' event ids)."""
    if isinstance(value, dict):
        return {kk: renumber(v, k, kk) for kk, v in value.items()}
    if isinstance(value, list):
        return [renumber(v, k, key) for v in value]
    if key not in IDS or k == 0:
        return value
    if isinstance(value, str):
        if _HEX.fullmatch(value):
            return value[:-8] + f"{k:08x}"
        if key == "dotted_order":
            return re.sub(r"Z([0-9a-f-]{36})", lambda m: "Z" + m.group(1)[:-8] + f"{k:08x}", value)
        return f"{value}-{k}" if value else value
    if isinstance(value, int) and not isinstance(value, bool):
        return value + k * 1_000_000
    return value


def _dump(records: Iterator[Any], out: Path) -> int:
    n = 0
    with out.open("wb") as f:
        for r in records:
            f.write(orjson.dumps(r) + b"\n")
            n += 1
    return n


def _jsonl(path: Path) -> list[Any]:
    opener = __import__("gzip").open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return [json.loads(x) for x in f if x.strip()]


def _copies(body: list[Any], n: int) -> Iterator[Any]:
    """``body`` renumbered copy after copy until ``n`` records."""
    k = 0
    made = 0
    while made < n:
        for r in body:
            if made >= n:
                return
            yield renumber(r, k)
            made += 1
        k += 1


def _session(head: int, path: Path) -> Callable[[Path, int], int]:
    """A session file (JSON Lines): its first ``head`` records once, the rest (the turns)
    renumbered until N records: one long session."""

    def make(out: Path, n: int) -> int:
        recs = _jsonl(path)
        return _dump(iter([*recs[:head], *_copies(recs[head:], n - head)]), out)

    return make


def _lines(records: Callable[[], list[Any]], per: int = 1) -> Callable[[Path, int], int]:
    """Independent records a line (traces, requests, spans): renumbered copies to N records
    (``per`` records a line: an OpenHands evaluation line holds a whole history)."""

    def make(out: Path, n: int) -> int:
        return _dump(_copies(records(), max(1, n // per)), out) * per

    return make


def _document(build: Callable[[int], tuple[Any, int]]) -> Callable[[Path, int], int]:
    """One JSON document of at most :data:`DOC_RECORDS` records (``build(n) -> (doc, n)``)."""

    from harness_audit.importers.base import (
        MAX_DOCUMENT_BYTES,
        MAX_DOCUMENT_VALUES,
        count_values,
    )

    def make(out: Path, n: int) -> int:
        n = min(n, DOC_RECORDS)
        while True:
            doc, got = build(n)
            data = json.dumps(doc).encode()  # (128-bit integer ids: the standard library)
            over = max(count_values(data) / MAX_DOCUMENT_VALUES, len(data) / MAX_DOCUMENT_BYTES)
            if over <= 1:
                out.write_bytes(data)
                return got
            n = int(n / over * 0.95) // 1000 * 1000  # the largest round size the bounds take

    return make


def _in_list(template: Any, where: str, n: int, head: int = 0) -> tuple[Any, int]:
    """``template`` with its list ``where`` (a dotted path) grown to ``n`` records by
    renumbered copies of its elements after the first ``head``."""
    doc = copy.deepcopy(template)
    parent = doc
    *up, last = where.split(".") if where else [""]
    for part in up:
        parent = parent[part]
    items = parent[last] if where else doc
    grown = [*items[:head], *_copies(items[head:], n - head)]
    if where:
        parent[last] = grown
        return doc, len(grown)
    return grown, len(grown)


def _otlp_traces() -> list[Any]:
    sys.path.insert(0, str(HERE))
    import gen_otlp

    rng = __import__("random").Random(7)
    return [orjson.loads(gen_otlp.trace(i, rng)) for i in range(1, 2)]


def _otlp_spans(n: int) -> Iterator[Any]:
    """gen_otlp's requests (five spans a line), as many lines as N spans need."""
    sys.path.insert(0, str(HERE))
    import gen_otlp

    rng = __import__("random").Random(7)
    for i in range(1, n // 5 + 1):
        yield orjson.loads(gen_otlp.trace(i, rng))


def _otlp_jsonl(out: Path, n: int) -> int:
    _dump(_otlp_spans(n), out)
    return n // 5 * 5


def _envelopes(out: Path, n: int) -> int:
    envs = (
        {"timestamp": "2026-01-10T10:00:00Z", "project_id": "bench", "data": r}
        for r in _otlp_spans(n)
    )
    _dump(envs, out)
    return n // 5 * 5


def _otlp_document(n: int) -> tuple[Any, int]:
    spans = []
    for r in _otlp_spans(n):
        spans.extend(r["resourceSpans"][0]["scopeSpans"][0]["spans"])
    doc = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": spans}]}]}
    return doc, len(spans)


def _test_const(module: str, name: str) -> Any:
    sys.path.insert(0, str(ROOT))
    return getattr(__import__(f"tests.{module}", fromlist=[name]), name)


def _agentcore() -> list[Any]:
    return list(
        json.loads(
            (REAL / "set2/agentcore-spans/sideseat_raw_otel_langchain_spans.json").read_text()
        )
    )


def _any_agent(n: int) -> tuple[Any, int]:
    doc = json.loads((REAL / "otel/any-agent_OPENAI_trace.json").read_text())
    return _in_list(doc, "spans", n)


def _langfuse(n: int) -> tuple[Any, int]:
    doc = json.loads((REAL / "langfuse/crewai-2025-07-11.trace.json").read_text())
    return _in_list(doc, "observations", n)


def _langsmith(n: int) -> tuple[Any, int]:
    doc = json.loads((REAL / "langsmith/langsmith_py_wrap_openai_.json").read_text())
    post, got = _in_list(doc, "post", n // 2)
    patch, _ = _in_list(doc, "patch", n // 2)
    return {"post": post["post"], "patch": patch["patch"]}, got * 2


def _phoenix() -> list[Any]:
    return list(_test_const("test_import_phoenix", "SPANS"))


def _agentcore_logs() -> list[Any]:
    return list(_test_const("test_import_agentcore_logs", "langchain_tool_run")())


def _openhands_events(n: int) -> tuple[Any, int]:
    doc = json.loads((REAL / "set2/openhands/basic_gui_mode.json").read_text())
    return _in_list(doc, "", n, head=1)


def _swe_agent(n: int) -> tuple[Any, int]:
    doc = json.loads((DATA / "swe_v0" / "demo__calc-1.traj").read_text())
    return _in_list(doc, "trajectory", n)


def _mini_swe_agent(n: int) -> tuple[Any, int]:
    doc = _test_const("test_import_mini_swe_agent", "TRAJ")
    return _in_list(doc, "messages", n, head=2)


def _gemini_json(n: int) -> tuple[Any, int]:
    doc = json.loads(next((DATA / "gemini").glob("*.json")).read_text())
    return _in_list(doc, "messages", n)


def _openhands_sdk() -> list[Any]:
    return list(_test_const("test_import_openhands_sdk", "EVENTS"))


CASES: dict[str, tuple[str, Callable[[Path, int], int], str]] = {
    # name: (format, maker, file name)
    "otlp-jsonl": ("otlp", _otlp_jsonl, "spans.jsonl"),
    "otlp-document": ("otlp", _document(_otlp_document), "spans.json"),
    "otlp-envelopes": ("otlp", _envelopes, "envelopes.jsonl"),
    "otlp-agentcore": ("otlp", _lines(_agentcore), "agentcore.jsonl"),
    "otlp-any-agent": ("otlp", _document(_any_agent), "any_agent_trace.json"),
    "langfuse": ("langfuse", _document(_langfuse), "langfuse.trace.json"),
    "langsmith": ("langsmith", _document(_langsmith), "langsmith.json"),
    "anthropic-sessions": (
        "anthropic-sessions",
        _session(1, REAL / "set2/anthropic-managed/anthropic_managed_mcp_tools.jsonl"),
        "anthropic_sessions.jsonl",
    ),
    "openhands": ("openhands", _document(_openhands_events), "openhands.json"),
    "openhands-eval": (
        "openhands",
        _lines(lambda: _jsonl(DATA / "openhands_eval_output.jsonl"), per=7),
        "output.jsonl",
    ),
    "swe-agent": ("swe-agent", _document(_swe_agent), "demo__calc-1.traj"),
    "claude-code": (
        "claude-code",
        _session(2, next((DATA / "claude_code").glob("*.jsonl"))),
        "4f2c0d1e-aaaa-4bbb-8ccc-0123456789ab.jsonl",
    ),
    "codex": (
        "codex",
        _session(4, next((DATA / "codex").glob("*.jsonl"))),
        "rollout-2025-10-03T14-00-00-0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.jsonl",
    ),
    "gemini-cli": ("gemini-cli", _document(_gemini_json), "session-2025-09-20T08-15-9d8c7b6a.json"),
    "gemini-cli-jsonl": (
        "gemini-cli",
        _session(1, next((DATA / "gemini").glob("*.jsonl"))),
        "session-2026-01-10T10-00-1f2e3d4c.jsonl",
    ),
    "phoenix": ("phoenix", _lines(_phoenix), "phoenix_spans.jsonl"),
    "agentcore-logs": ("agentcore-logs", _lines(_agentcore_logs), "agentcore_logs.jsonl"),
    "openhands-sdk": ("openhands-sdk", _lines(_openhands_sdk), "events.jsonl"),
    "mini-swe-agent": (
        "mini-swe-agent", _document(_mini_swe_agent), "sympy__sympy-20590.traj.json"
    ),
}  # fmt: skip
"""Every case: a trace format of the registry may have several shapes (OTLP's documents,
JSON Lines, envelopes, AgentCore records, SDK span dumps)."""


def missing_formats() -> list[str]:
    """Trace formats of the registry with no case here (a new importer must get one)."""
    from harness_audit.import_formats import TRACES

    have = {fmt for fmt, _, _ in CASES.values()}
    return [name for name, _ in TRACES if name not in have]


def make(case: str, folder: Path, n: int) -> tuple[Path, int]:
    """Write ``case``'s input into ``folder``; its path and its records."""
    _, maker, name = CASES[case]
    out = folder / case / name
    out.parent.mkdir(parents=True, exist_ok=True)
    return out, maker(out, n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--case", action="append", choices=sorted(CASES))
    args = ap.parse_args()
    if missing_formats():
        raise SystemExit(f"no bench case for: {', '.join(missing_formats())}")
    for case in args.case or CASES:
        path, n = make(case, args.out, args.records)
        print(f"{case:20} {n:>10,} records  {path.stat().st_size / 2**20:8.1f} MiB  {path}")


if __name__ == "__main__":
    main()
