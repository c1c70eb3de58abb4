"""Generate OTLP/JSON Lines in the shapes of shared/real/otel (traceloop chat spans with
gen_ai.* usage, any-agent invoke_agent/execute_tool): one ExportTraceServiceRequest a line, five
spans a trace (invoke_agent root, two chat calls, two tool calls), children before the root as
BatchSpanProcessor exports them.

    python bench/gen_otlp.py OUT.jsonl [--spans 1000000]
"""

from __future__ import annotations

import argparse
import random

import orjson


def _a(key: str, value: object) -> dict[str, object]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def trace(i: int, rng: random.Random) -> bytes:
    tid = f"{i:032x}"
    root = f"{i:08x}00000000"
    t0 = 1_788_789_263_000_000_000 + i * 10_000_000
    spans = []
    for k in range(4):
        sid = f"{i:08x}{k + 1:08x}"
        start = t0 + (k + 1) * 1_000_000
        if k % 2 == 0:
            attrs = [
                _a("gen_ai.operation.name", "chat"),
                _a("gen_ai.provider.name", "openai"),
                _a("gen_ai.request.model", "gpt-4o-mini"),
                _a("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
                _a("gen_ai.usage.input_tokens", rng.randint(100, 5000)),
                _a("gen_ai.usage.output_tokens", rng.randint(10, 500)),
                _a("gen_ai.input.messages", '[{"role": "user", "parts": []}]'),
            ]
            name = "openai.chat"
        else:
            attrs = [
                _a("gen_ai.operation.name", "execute_tool"),
                _a("gen_ai.tool.name", rng.choice(["lookup_order", "write_file"])),
                _a("gen_ai.tool.call.id", f"call_{i}_{k}"),
            ]
            name = "execute_tool"
        spans.append(
            {
                "traceId": tid,
                "spanId": sid,
                "parentSpanId": root,
                "name": name,
                "kind": "SPAN_KIND_CLIENT",
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + 800_000),
                "status": {},
                "attributes": attrs,
            }
        )
    spans.append(
        {
            "traceId": tid,
            "spanId": root,
            "name": "invoke_agent support",
            "kind": "SPAN_KIND_INTERNAL",
            "startTimeUnixNano": str(t0),
            "endTimeUnixNano": str(t0 + 6_000_000),
            "status": {"code": 1},
            "attributes": [
                _a("gen_ai.operation.name", "invoke_agent"),
                _a("gen_ai.agent.name", "support"),
            ],
        }
    )
    doc = {
        "resourceSpans": [
            {
                "resource": {"attributes": [_a("service.name", "bench")]},
                "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}],
            }
        ]
    }
    return orjson.dumps(doc) + b"\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--spans", type=int, default=1_000_000)
    args = ap.parse_args()
    rng = random.Random(14)
    with open(args.out, "wb") as f:
        for i in range(args.spans // 5):
            f.write(trace(i, rng))


if __name__ == "__main__":
    main()
