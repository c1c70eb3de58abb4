"""A second trail generator, written from the format alone (issue 28, item 1).

    python bench/gen_schema_trail.py OUT_DIR --events 1000000 [--seed 28]

Written from ``schemas/trail-event.schema.json`` and ``docs/trail.md``, not from
``bench/gen_trail.py``: its events are serialised by the standard library's ``json`` (sorted
keys, compact, text as UTF-8: RFC 8785 for integer-only events with ASCII keys, docs/trail.md
section 2), hashed as section 4 says (SHA-256 of 0x00 and the event without its ``hash``),
and they differ from the bench trail's on purpose: all twelve kinds in runs of 2 to 40 events;
fields built in shuffled orders (the canonical form sorts them); optional fields present or
not; ``x_`` fields on about half the events (strings, booleans, null, negative and large
integers, nested arrays and objects, the importers' markers ``x_cost``, ``x_outcome``,
``x_verdict``); text beyond ASCII (accents, CJK, emoji, U+2028), escapes (quotes, backslashes,
control characters); timestamps with 0 to 9 fraction digits; events from about 200 bytes
(a spawn) to several kilobytes (a decision with a long rationale, a tool call with a large
``x_`` payload).

Writes OUT_DIR/trail-000001.jsonl, a signed OUT_DIR/trail.checkpoint and OUT_DIR/key.pub, as
``gen_trail.py`` does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness_audit.trail.merkle import CompactTree
from harness_audit.trail.note import Checkpoint, Signer, sign_note

SIGNER = Signer.from_seed("harness-audit/bench-schema", bytes(range(7, 39)))
MAX_SAFE = 2**53 - 1

WORDS = [
    "refund",
    "ticket",
    "invoice",
    "caf\u00e9",
    "na\u00efve",
    "\u00fcber",
    "\u4e2d\u6587",
    "\u65e5\u672c\u8a9e",
    "\u0645\u0631\u062d\u0628\u0627",
    "\U0001f600",
    "\U0001f680",
    "\u2028",
    "tab\there",
    'say "yes"',
    "back\\slash",
    "bell\x07",
    "\x7f",
    "line\nbreak",
    "r\u00e9sum\u00e9",
    "\u00bd",
]
AGENTS = ["planner", "coder", "reviewer", "harness", "human:ana", "retriever", "\u00e9diteur"]
MODELS = [
    {"provider": "openai", "family": "gpt-4.1", "name": "gpt-4.1-2025-04-14"},
    {"provider": "anthropic", "family": "claude", "name": "claude-opus-4-1"},
    {"provider": "mistral", "family": "mistral-large", "name": "mistral-large-2411"},
    {"provider": "local", "family": "llama", "name": "llama-3.3-70b-instruct-q4"},
]


def _text(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def _hex(rng: random.Random) -> str:
    return rng.getrandbits(256).to_bytes(32, "big").hex()


def _ts(i: int, rng: random.Random) -> str:
    s = 1_800_000_000 + i // 3
    day, rest = divmod(s, 86400)
    hh, rest = divmod(rest, 3600)
    mm, ss = divmod(rest, 60)
    y, m, d = 2027, 1 + day % 12, 1 + day % 28
    digits = rng.choice([0, 0, 1, 3, 3, 6, 9])
    frac = "." + "".join(rng.choice("0123456789") for _ in range(digits)) if digits else ""
    return f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}{frac}Z"


def _x_value(rng: random.Random, depth: int = 0) -> Any:
    r = rng.randint(0, 9 if depth < 3 else 5)
    if r == 0:
        return None
    if r == 1:
        return rng.random() < 0.5
    if r == 2:
        return rng.randint(-MAX_SAFE, MAX_SAFE)
    if r == 3:
        return rng.randint(-1000, 1000)
    if r <= 5:
        return _text(rng, 0, 4)
    if r <= 7:
        return [_x_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["a", "b", "gen_ai.system", "http.status", "Z", "_k", "k9", "k10"]
    return {k: _x_value(rng, depth + 1) for k in rng.sample(keys, rng.randint(0, 4))}


def _x_fields(kind: str, rng: random.Random) -> dict[str, Any]:
    x: dict[str, Any] = {}
    if rng.random() < 0.5:
        return x
    if kind == "model_call" and rng.random() < 0.5:
        x["x_cost"] = "unknown"
    if kind == "model_call" and rng.random() < 0.3:
        x["x_cost_estimated"] = True
    if kind == "tool_call" and rng.random() < 0.3:
        x["x_outcome"] = "unknown"
    if kind == "verification" and rng.random() < 0.3:
        x["x_verdict"] = "not_proven"
    for _ in range(rng.randint(1, 3)):
        x[rng.choice(["x_source", "x_attrs", "x_duration_ms", "x_tags", "x_span_id", "x_note"])] = (
            _x_value(rng)
        )
    if kind == "tool_call" and rng.random() < 0.05:  # a large payload (several kilobytes)
        x["x_args_preview"] = _text(rng, 300, 900)
    return x


def _kind_fields(
    kind: str, i: int, rng: random.Random, pipeline: str
) -> tuple[str, dict[str, Any]]:
    span = f"s{i}"
    f: dict[str, Any] = {}
    if kind == "run_start":
        f["pipeline"] = pipeline
    elif kind == "run_end":
        f.update(pipeline=pipeline, outcome=rng.choice(["ok", "blocked", "cancelled", "failed"]))
    elif kind == "model_call":
        f.update(
            model=dict(rng.choice(MODELS)),
            input_tokens=rng.randint(0, 200_000),
            output_tokens=rng.randint(0, 8_000),
            cost_microusd=rng.randint(0, 5_000_000),
        )
        if rng.random() < 0.7:
            f["input_digest"] = _hex(rng)
        if rng.random() < 0.5:
            f["output_digest"] = _hex(rng)
    elif kind == "tool_call":
        f.update(
            tool=rng.choice(["read_file", "write_file", "http_get", "sql", "\u691c\u7d22"]),
            effect=rng.choice(["read", "write", "destructive", "external", "unknown"]),
            scope=rng.choice(["repo:read", "repo:write", "net", "db:orders"]),
            outcome=rng.choice(["ok", "ok", "error", "denied"]),
        )
        if rng.random() < 0.5:
            f["target"] = _text(rng, 1, 3)
        if rng.random() < 0.5:
            f["args_digest"] = _hex(rng)
    elif kind == "data_access":
        f.update(
            resource=f"customers/{rng.randint(1, 10**6)}/{rng.choice(WORDS)}",
            scope="crm:read",
            data_class=rng.choice(["pii", "public", "financial", "health"]),
            outcome=rng.choice(["allowed", "denied"]),
        )
    elif kind == "decision":
        f.update(subject=_text(rng, 1, 3), outcome=rng.choice(["approve", "deny", "escalate"]))
        if rng.random() < 0.7:
            f["rationale"] = _text(rng, 1, 600 if rng.random() < 0.1 else 20)
        if rng.random() < 0.6:
            f["evidence"] = [f"s{max(0, i - k)}" for k in range(1, rng.randint(1, 12))]
        if rng.random() < 0.5:
            f["confidence_bp"] = rng.randint(0, 10_000)
    elif kind == "verification":
        f.update(
            target=f"s{max(0, i - 1)}",
            verdict=rng.choice(["pass", "fail"]),
            model=dict(rng.choice(MODELS)) if rng.random() < 0.7 else "human:r\u00e9viseur",
        )
        if rng.random() < 0.4:
            f["args_digest"] = _hex(rng)
    elif kind == "approval_request":
        f.update(target=f"s{max(0, i - 1)}", approver="human:ana")
        if rng.random() < 0.5:
            f["args_digest"] = _hex(rng)
    elif kind == "approval":
        f.update(
            target=f"s{max(0, i - 2)}",
            approver="human:ana",
            verdict=rng.choice(["approved", "rejected"]),
        )
        if rng.random() < 0.5:
            f["args_digest"] = _hex(rng)
    elif kind == "spawn":
        f.update(child=rng.choice(AGENTS[:3]), depth=rng.randint(0, 5))
    elif kind == "budget_check":
        f.update(
            spent_microusd=rng.randint(0, 10**9),
            cap_microusd=rng.randint(0, 10**9),
            outcome=rng.choice(["ok", "blocked"]),
        )
    else:
        f["message"] = _text(rng, 1, 8)
    return span, f


RUN_WORDS = ["ticket", "job", "\u4efb\u52d9"]
INNER = [
    "model_call",
    "tool_call",
    "data_access",
    "decision",
    "verification",
    "approval_request",
    "approval",
    "spawn",
    "budget_check",
    "error",
]


def events(n: int, seed: int) -> Any:
    """The events, unsealed (no ``prev`` or ``hash``), in runs of 2 to 40."""
    rng = random.Random(seed)
    i = 0
    run_no = 0
    while i < n:
        run_no += 1
        run = f"{rng.choice(RUN_WORDS)}-{run_no:07d}"
        pipeline = rng.choice(["support", "code-review", "billing"])
        length = min(rng.randint(2, 40), n - i)
        parent: str | None = None
        for j in range(length):
            kind = "run_start" if j == 0 else "run_end" if j == length - 1 else rng.choice(INNER)
            span, fields = _kind_fields(kind, i, rng, pipeline)
            common = {
                "v": 1,
                "seq": i,
                "ts": _ts(i, rng),
                "run": run,
                "span": span,
                "parent": parent,
                "agent": "harness" if kind in ("run_start", "run_end") else rng.choice(AGENTS),
                "kind": kind,
            }
            items = [*common.items(), *fields.items(), *_x_fields(kind, rng).items()]
            rng.shuffle(items)  # any order in: the canonical form sorts them
            yield dict(items)
            parent = span
            i += 1


def jcs(value: Any) -> bytes:
    """RFC 8785 for integer-only values with ASCII keys: sorted, compact, text as UTF-8."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def generate(out: Path, n: int, seed: int = 28) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tree = CompactTree()
    prev = "0" * 64
    with (out / "trail-000001.jsonl").open("wb") as f:
        buf: list[bytes] = []
        for e in events(n, seed):
            e["prev"] = prev
            digest = hashlib.sha256(b"\x00" + jcs(e)).digest()
            e["hash"] = prev = digest.hex()
            tree.push(digest)
            buf.append(jcs(e))
            if len(buf) == 10_000:
                f.write(b"\n".join(buf) + b"\n")
                buf = []
        if buf:
            f.write(b"\n".join(buf) + b"\n")
    origin = "harness-audit/bench-schema"
    (out / "trail.checkpoint").write_text(
        sign_note(Checkpoint(origin, n, tree.root()).text(), [SIGNER])
    )
    (out / "key.pub").write_text(SIGNER.verifier.text() + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=28)
    a = ap.parse_args()
    generate(a.out, a.events, a.seed)
