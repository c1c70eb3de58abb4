"""The judge's results do not change when its per-event path does (issue 28, item 2).

Varied trails (every kind, declared and undeclared actors, people, ``x_`` fields and the
import markers ``x_cost``, ``x_cost_estimated``, ``x_outcome``, ``x_verdict``, dangling
parents, unanchored tails, runs that never end) are generated from a seed and judged; what the
judge gives (every control, observation, population and sample, the observed SLA, and every
population row) is compared with what the judge gave before its hot path was rewritten
(``tests/data/judge_golden/``, written by the judge of commit 808ae8f). When the judge is
compiled (mypyc), the same trails are judged by its pure-Python source too and the two must
agree.

Regenerate the golden files only on purpose: ``HARNESS_AUDIT_WRITE_GOLDEN=1 pytest
tests/test_judge_differential.py``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest

from harness_audit.evidence import judge as judge_mod
from harness_audit.evidence.population import PopulationSpool
from harness_audit.manifest import load_manifest
from harness_audit.manifest.model import Pipeline
from harness_audit.trail import events as ev_mod

from .test_evidence import CLAUDE, GPT, manifest_dict

GOLDEN = Path(__file__).parent / "data" / "judge_golden"
ROOT = Path(__file__).resolve().parent.parent
CASES = [("ev", 1, 0), ("ev", 2, 5), ("ev", 3, 3), ("bench", 4, 0), ("bench", 5, 7)]
"""(manifest, seed of the trail, sample size)."""

AGENTS = {
    "ev": ["a", "a", "a", "b", "v", "v", "human:cfo", "human:a", "harness", "ghost", "human:v"],
    "bench": [
        "credit_risk",
        "credit_risk",
        "verifier",
        "underwriter",
        "harness",
        "human:loan_officer",
        "intruder",
    ],
}
TOOLS = ["read", "pay", "rm", "mystery", "bureau_lookup", "write_decision", "send_email"]
SCOPES = ["s:read", "db:write", "bureau:read", "documents:read", "other:scope"]
OUTCOMES = ["approve", "approved", "decline", "refer", "flag_high_risk", "summarised", "pay"]


def _pipeline(name: str, tmp: Path) -> Pipeline:
    if name == "bench":
        return load_manifest(ROOT / "bench" / "bench.harness.yaml")
    m = manifest_dict()
    m["agents"].append({"id": "cfo", "model": "human"})
    f = tmp / "harness.yaml"
    f.write_text(json.dumps(m))
    return load_manifest(f)


def _x(rnd: random.Random) -> dict[str, Any]:
    """Some writer's own ``x_`` fields (never make an event invalid)."""
    pick = rnd.random()
    if pick < 0.2:
        return {"x_foo": rnd.choice([1, "bar", None, [1, 2], {"k": "v"}])}
    if pick < 0.3:
        return {"x_time": {"start": "2026-01-01T00:00:00Z"}, "x_source": "otlp"}
    return {}


def trail(seed: int, agents: list[str], n: int = 1000) -> list[tuple[bytes, bool]]:
    """``n`` varied event lines and whether each is anchored (an unanchored tail, and some
    unanchored in the middle as a judge may be fed)."""
    rnd = random.Random(seed)
    out: list[tuple[bytes, bool]] = []
    open_runs: dict[str, list[str]] = {}
    next_run = 0
    t = 1_767_225_600  # 2026-01-01
    for seq in range(n):
        if not open_runs or (len(open_runs) < 6 and rnd.random() < 0.08):
            run = f"r{next_run}"
            next_run += 1
            open_runs[run] = []
            kind = "run_start"
        else:
            run = rnd.choice(sorted(open_runs))
            kind = rnd.choice(
                [
                    "model_call",
                    "model_call",
                    "tool_call",
                    "tool_call",
                    "tool_call",
                    "data_access",
                    "decision",
                    "decision",
                    "verification",
                    "verification",
                    "approval_request",
                    "approval",
                    "approval",
                    "spawn",
                    "budget_check",
                    "error",
                    "run_end",
                ]
            )
        spans = open_runs[run]
        span = f"{run}.{len(spans) + 1}"
        roll = rnd.random()
        parent: str | None
        if not spans or roll < 0.05:
            parent = None
        elif roll < 0.08:
            parent = f"{run}.dangling{seq}"
        else:
            parent = rnd.choice(spans[-4:])
        t += rnd.choice([1, 5, 60, 3600]) if rnd.random() < 0.99 else 40 * 86400
        raw: dict[str, Any] = {
            "v": 1,
            "seq": seq,
            "ts": _iso(t, rnd),
            "run": run,
            "span": span,
            "parent": parent,
            "agent": rnd.choice(agents) if kind not in ("run_start", "run_end") else "harness",
            "kind": kind,
            "prev": "0" * 64,
            "hash": "1" * 64,
        }
        target = rnd.choice(spans) if spans and rnd.random() < 0.9 else f"{run}.nowhere"
        digest = rnd.choice(["a" * 64, "b" * 64])
        if kind in ("run_start", "run_end"):
            raw["pipeline"] = "p"
            if kind == "run_end":
                raw["outcome"] = rnd.choice(["ok", "ok", "blocked", "failed"])
                del open_runs[run]
        elif kind == "model_call":
            raw.update(
                model=rnd.choice([GPT, CLAUDE]),
                input_tokens=rnd.randrange(100),
                output_tokens=rnd.randrange(100),
                cost_microusd=rnd.choice([0, 10, 1000, 4000, 600_000]),
            )
            if rnd.random() < 0.5:
                raw["input_digest"] = digest
            if rnd.random() < 0.1:
                raw["x_cost"] = "unknown"
            if rnd.random() < 0.1:
                raw["x_cost_estimated"] = rnd.choice([True, False, "yes"])
        elif kind == "tool_call":
            raw.update(
                tool=rnd.choice(TOOLS),
                effect=rnd.choice(["read", "write", "destructive", "external", "unknown"]),
                scope=rnd.choice(SCOPES),
                outcome=rnd.choice(["ok", "ok", "ok", "error", "denied"]),
            )
            if rnd.random() < 0.4:
                raw["target"] = rnd.choice(["db", "file", "customer"])
            if rnd.random() < 0.5:
                raw["args_digest"] = digest
            if rnd.random() < 0.1:
                raw["x_outcome"] = "unknown"
        elif kind == "data_access":
            raw.update(
                resource=rnd.choice(["db", "file", "customer"]),
                scope=rnd.choice(SCOPES),
                data_class=rnd.choice(["", "pii", "public"]),
                outcome=rnd.choice(["allowed", "allowed", "denied"]),
            )
        elif kind == "decision":
            raw.update(
                subject=rnd.choice(["loan-1", "loan-2", "claim"]), outcome=rnd.choice(OUTCOMES)
            )
            if rnd.random() < 0.4 and spans:
                raw["evidence"] = rnd.sample(spans, min(len(spans), 2))
            if rnd.random() < 0.3:
                raw["rationale"] = "because"
            if rnd.random() < 0.2:
                raw["confidence_bp"] = rnd.randrange(10_001)
        elif kind == "verification":
            raw.update(
                target=target,
                verdict=rnd.choice(["pass", "pass", "fail"]),
                model=rnd.choice([GPT, CLAUDE, "human:cfo", "human:someone"]),
            )
            if rnd.random() < 0.5:
                raw["args_digest"] = digest
            if rnd.random() < 0.1:
                raw["x_verdict"] = "not_proven"
        elif kind == "approval_request":
            raw.update(target=target, approver=rnd.choice(["cfo", "human:cfo", "bob"]))
        elif kind == "approval":
            raw.update(
                target=target,
                approver=rnd.choice(["cfo", "human:cfo", "bob"]),
                verdict=rnd.choice(["approved", "approved", "rejected"]),
            )
            if rnd.random() < 0.5:
                raw["args_digest"] = digest
        elif kind == "spawn":
            raw.update(child=rnd.choice(["b", "a", "v", "ghost"]), depth=rnd.randrange(4))
        elif kind == "budget_check":
            raw.update(
                spent_microusd=rnd.choice([10, 5000, 20_000]),
                cap_microusd=rnd.choice([1000, 10_000]),
                outcome=rnd.choice(["ok", "ok", "blocked"]),
            )
        elif kind == "error":
            raw["message"] = "it broke"
        raw.update(_x(rnd))
        spans.append(span)
        anchored = seq < n * 0.85 and rnd.random() > 0.03
        out.append((msgspec.json.encode(raw), anchored))
    return out


def _iso(t: int, rnd: random.Random) -> str:
    import datetime as dt

    text = dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (".123Z" if rnd.random() < 0.5 else "Z")


def _plain(x: Any) -> Any:
    """A JSON-able form of what the judge gives: dataclasses as dicts, sets sorted."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {
            f.name: _plain(getattr(x, f.name))
            for f in dataclasses.fields(x)
            if f.name != "shown_runs"
        }
    if isinstance(x, tuple) and hasattr(x, "_asdict"):  # a Location (a named tuple)
        return {k: _plain(v) for k, v in x._asdict().items()}
    if isinstance(x, msgspec.Struct):
        return msgspec.to_builtins(x)
    if isinstance(x, dict):
        return [[_plain(k), _plain(v)] for k, v in x.items()]
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, set | frozenset):
        return sorted(_plain(v) for v in x)
    if x is None or isinstance(x, str | int | float | bool):
        return x
    return repr(x)


def judged(mod: ModuleType, pipeline: Pipeline, seed: int, sample: int, tmp: Path) -> Any:
    """Everything the judge of module ``mod`` gives for the seed's trail."""
    spool = PopulationSpool(tmp / f"pop-{mod.__name__}", pipeline.name)
    j = mod.Judge(pipeline, sample, seed, spool)
    for i, (line, anchored) in enumerate(trail(seed, AGENTS[_kind(pipeline)])):
        j.feed(f"t{i // 700}.jsonl", i % 700 + 1, ev_mod.decoder.decode(line), anchored)
    ev = j.finish(["t0.jsonl", "t1.jsonl"], 1000, 0)
    spool.close()
    rows = {p.name: p.read_text() for p in sorted(spool.paths.values())}
    return {
        "evidence": _plain(ev),
        "shown_runs": sorted(j.shown_runs),
        "rows": rows,
    }


def _kind(pipeline: Pipeline) -> str:
    return "bench" if pipeline.name == "bench" else "ev"


@pytest.mark.parametrize(("manifest", "seed", "sample"), CASES)
def test_judge_gives_what_it_gave(manifest: str, seed: int, sample: int, tmp_path: Path) -> None:
    """Old against new: the golden results of the judge before its hot path changed."""
    got = judged(judge_mod, _pipeline(manifest, tmp_path), seed, sample, tmp_path)
    golden = GOLDEN / f"{manifest}-{seed}-{sample}.json"
    text = json.dumps(got, sort_keys=True, separators=(",", ":"))
    text = text.replace(str(tmp_path), "<tmp>").replace(str(ROOT), "<root>")
    if os.environ.get("HARNESS_AUDIT_WRITE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text + "\n")
    assert json.loads(text) == json.loads(golden.read_text())


def _pure_judge() -> ModuleType:
    """The judge's source module, loaded as Python whether or not it is compiled."""
    name = "harness_audit.evidence._judge_pure_source"
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "harness_audit" / "evidence" / "judge.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(("manifest", "seed", "sample"), CASES)
def test_compiled_judge_is_the_pure_one(
    manifest: str, seed: int, sample: int, tmp_path: Path
) -> None:
    """Compiled against pure: the same trails give the same results (run on either: when
    the judge is not compiled, it compares the source with itself loaded apart)."""
    pipeline = _pipeline(manifest, tmp_path)
    a = judged(judge_mod, pipeline, seed, sample, tmp_path)
    b = judged(_pure_judge(), pipeline, seed, sample, tmp_path)
    assert a["evidence"] == b["evidence"]
    assert a["shown_runs"] == b["shown_runs"]
    assert list(a["rows"].values()) == list(b["rows"].values())
