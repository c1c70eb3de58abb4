"""Helpers for trail tests: a signer, realistic events, trails written by the real writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness_audit.trail.note import Signer
from harness_audit.trail.writer import TrailWriter

SIGNER = Signer.from_seed("harness-audit/test", bytes(range(32)))
OTHER = Signer.from_seed("someone-else", bytes(range(1, 33)))
MODEL = {"provider": "openai", "family": "gpt-4o", "name": "gpt-4o-2024-08-06"}


def event(i: int, run: str = "run-1") -> dict[str, Any]:
    base: dict[str, Any] = {
        "ts": f"2026-09-14T03:47:{i % 60:02d}.{i % 1000:03d}Z",
        "run": run,
        "parent": None if i == 0 else f"s{i - 1}",
        "agent": "credit_risk",
    }
    kinds: list[dict[str, Any]] = [
        {
            "kind": "model_call",
            "model": MODEL,
            "input_tokens": 100 + i,
            "output_tokens": 20,
            "cost_microusd": 1500,
            "input_digest": f"{i:064x}",
        },
        {
            "kind": "tool_call",
            "tool": "bureau_lookup",
            "effect": "read",
            "scope": "bureau:read",
            "outcome": "ok",
        },
        {
            "kind": "data_access",
            "resource": f"applicant/{i}",
            "scope": "applicant:read",
            "data_class": "pii",
            "outcome": "allowed",
        },
        {
            "kind": "decision",
            "subject": "app-1",
            "outcome": "approve",
            "rationale": "ok \u00e9",
            "evidence": [f"s{max(0, i - 1)}"],
            "confidence_bp": 8000,
        },
    ]
    return base | kinds[i % len(kinds)]


def write_trail(
    folder: Path,
    n: int,
    *,
    checkpoint_every: int = 0,
    signer: Signer = SIGNER,
    segment_bytes: int = 64 << 20,
) -> Path:
    with TrailWriter(
        folder,
        "harness-audit/test",
        signer,
        checkpoint_every=checkpoint_every,
        segment_bytes=segment_bytes,
    ) as w:
        for i in range(n):
            w.append(event(i))
    return folder


def pub(tmp: Path, signer: Signer = SIGNER) -> str:
    p = tmp / "key.pub"
    p.write_text(signer.verifier.text() + "\n")
    return str(p)
