"""Generate large pipeline manifests for the scan benchmarks.

python bench/gen_manifests.py big OUT.harness.yaml --agents 5000
python bench/gen_manifests.py tree OUTDIR --manifests 1000 --agents 10
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

PROVIDERS = [
    ("openai", "gpt-4o"),
    ("anthropic", "claude"),
    ("google", "gemini"),
    ("mistral", "mistral-large"),
]


def manifest(name: str, n: int, seed: int) -> str:
    rnd = random.Random(seed)
    out = [
        "apiVersion: harness-audit/v1",
        "kind: Pipeline",
        f"metadata: {{name: {name}, owner: bench@example.com}}",
        "slo: {target: 0.99, window_days: 30}",
        "budget: {max_cost_usd_per_run: 100.0, max_spawn_depth: 3, enforced_by: harness}",
        "trail: {enabled: true, integrity: signed_checkpoints, public_key: k.pub, "
        "retention_days: 2555}",
        "agents:",
    ]
    for i in range(n):
        provider, family = PROVIDERS[i % len(PROVIDERS)]
        deps = sorted({f"a{rnd.randrange(i)}" for _ in range(min(i, 2))}) if i else []
        out += [
            f"  - id: a{i}",
            f"    role: stage {i} of a generated pipeline",
            f"    model: {{provider: {provider}, family: {family}, name: {family}-x}}",
            f"    depends_on: [{', '.join(deps)}]",
            f"    untrusted_input: {'true' if i % 50 == 0 else 'false'}",
            "    stage: {reliability: 0.9999, retries: 1}",
            f"    access: {{enforced_at: {'harness' if i % 7 else 'prompt'}, "
            f"scopes: [s{i}:read, s{i}:write]}}",
            "    budget: {max_cost_usd_per_run: 0.01, enforced_by: harness}",
            "    tools:",
            f"      - {{name: read{i}, effect: read, scope: s{i}:read}}",
        ]
        if i % 3 == 0 and i > 0:
            verifier = f"a{i - 1}"
            effect = "destructive" if i % 9 == 0 else "write"
            out.append(
                f"      - {{name: write{i}, effect: {effect}, scope: s{i}:write, "
                f"verified_by: [{verifier}]}}"
            )
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["big", "tree"])
    ap.add_argument("out", type=Path)
    ap.add_argument("--agents", type=int, default=5000)
    ap.add_argument("--manifests", type=int, default=1000)
    args = ap.parse_args()
    if args.kind == "big":
        args.out.write_text(manifest("big", args.agents, 1))
    else:
        for m in range(args.manifests):
            d = args.out / f"team{m // 100:02d}" / f"p{m:04d}"
            d.mkdir(parents=True, exist_ok=True)
            (d / "harness.yaml").write_text(manifest(f"p{m:04d}", args.agents, m))


if __name__ == "__main__":
    main()
