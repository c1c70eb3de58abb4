"""Generate a large valid trail fast (orjson's sorted compact output is JCS for these events).

    python bench/gen_trail.py OUT_DIR --events 1000000

Writes OUT_DIR/trail-000001.jsonl, a signed OUT_DIR/trail.checkpoint, and OUT_DIR/key.pub.
Events are like a loan pipeline's: runs of 20 events (run_start, model calls with digests,
tool calls, data access, decisions, verifications, run_end), ~470 bytes each. The manifest
bench/bench.harness.yaml describes the pipeline they come from. ``--shape small`` makes the
18 events inside a run short ones (spawn, budget check, error: ~250 bytes, about the least
an event can be with its two hashes),
``--shape large`` decisions with a long rationale and evidence list (~2 KB).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness_audit.trail.merkle import CompactTree
from harness_audit.trail.note import Checkpoint, Signer, sign_note

SIGNER = Signer.from_seed("harness-audit/bench", bytes(32))


def event(i: int, prev: str, shape: str = "default") -> dict[str, object]:
    e: dict[str, object] = {
        "v": 1,
        "seq": i,
        "ts": f"2026-09-14T03:{i // 60 % 60:02d}:{i % 60:02d}.345Z",
        "run": f"run-{i // 20:06d}",
        "span": f"s{i:08d}",
        "parent": f"s{i - 1:08d}" if i % 20 else None,
        "agent": "credit_risk",
        "prev": prev,
    }
    k = i % 5
    if i % 20 == 0:
        e.update(kind="run_start", agent="harness", pipeline="bench")
    elif i % 20 == 19:
        e.update(kind="run_end", agent="harness", pipeline="bench", outcome="ok")
    elif shape == "small":
        e.update(
            ts=f"2026-09-14T03:{i // 60 % 60:02d}:{i % 60:02d}Z",
            run=f"r{i // 20}",
            span=f"s{i}",
            parent=f"s{i - 1}",
            agent="a",
        )
        if k in (0, 1):
            e.update(kind="spawn", child="c", depth=1)
        elif k in (2, 3):
            e.update(kind="budget_check", spent_microusd=12, cap_microusd=500, outcome="ok")
        else:
            e.update(kind="error", message="timeout")
    elif shape == "large":
        e.update(
            kind="decision",
            subject="application-12345",
            outcome="approve",
            rationale=("income covers repayments with margin; bureau score 712; " * 30) + str(i),
            evidence=[f"s{i - j:08d}" for j in range(1, 20)],
            confidence_bp=8700,
        )
    elif k == 0:
        e.update(
            kind="model_call",
            model={"provider": "openai", "family": "gpt-4o", "name": "gpt-4o-2024-08-06"},
            input_tokens=1234,
            output_tokens=321,
            cost_microusd=4567,
            input_digest=hashlib.sha256(str(i).encode()).hexdigest(),
            output_digest=hashlib.sha256(str(-i).encode()).hexdigest(),
        )
    elif k == 1:
        e.update(
            kind="tool_call",
            tool="bureau_lookup",
            effect="read",
            scope="bureau:read",
            outcome="ok",
            target="bureau",
            args_digest=hashlib.sha256(str(i).encode()).hexdigest(),
        )
    elif k == 2:
        e.update(
            kind="data_access",
            resource="applicant/12345/payslip.pdf",
            scope="documents:read",
            data_class="pii",
            outcome="allowed",
        )
    elif k == 3:
        e.update(
            kind="decision",
            subject="application-12345",
            outcome="approve",
            rationale="income covers repayments with margin; bureau score 712",
            evidence=[f"s{i - 1:08d}", f"s{i - 2:08d}"],
            confidence_bp=8700,
        )
    else:
        e.update(
            kind="verification",
            target=f"s{i - 1:08d}",
            verdict="pass",
            model={"provider": "anthropic", "family": "claude", "name": "claude-sonnet-4"},
        )
    return e


def generate(out: Path, n: int, shape: str = "default") -> None:
    out.mkdir(parents=True, exist_ok=True)
    tree = CompactTree()
    prev = "0" * 64
    opt = orjson.OPT_SORT_KEYS
    with (out / "trail-000001.jsonl").open("wb") as f:
        buf = []
        for i in range(n):
            e = event(i, prev, shape)
            d = hashlib.sha256(b"\x00" + orjson.dumps(e, option=opt)).digest()
            prev = e["hash"] = d.hex()
            tree.push(d)
            buf.append(orjson.dumps(e, option=opt))
            if len(buf) == 10000:
                f.write(b"\n".join(buf) + b"\n")
                buf = []
        if buf:
            f.write(b"\n".join(buf) + b"\n")
    note = sign_note(Checkpoint("harness-audit/bench", n, tree.root()).text(), [SIGNER])
    (out / "trail.checkpoint").write_text(note)
    (out / "key.pub").write_text(SIGNER.verifier.text() + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--shape", choices=["small", "default", "large"], default="default")
    a = ap.parse_args()
    generate(a.out, a.events, a.shape)
