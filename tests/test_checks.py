"""Each of the seven checks on its pass, fail and n/a paths (MANIFEST.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness_audit.checks import assess_pipeline, band
from harness_audit.checks.checks import CHECKS
from harness_audit.manifest import load_manifest

Manifest = dict[str, Any]


@pytest.fixture
def judge(write_manifest: Callable[..., Path]) -> Callable[[Manifest, str, str], Any]:
    def run(m: Manifest, check: str, agent: str = "a") -> Any:
        result = assess_pipeline(load_manifest(write_manifest(m)))
        return next(a for a in result.agents if a.id == agent).checks[check]

    return run


def add_agent(m: Manifest, **fields: Any) -> Manifest:
    agent = {
        "model": {"provider": "anthropic", "family": "claude"},
        "stage": {"reliability": 0.999},
        "access": {"enforced_at": "harness", "scopes": ["s:read"]},
    } | fields
    m["agents"].append(agent)
    return m


def test_base_manifest_passes_everything(judge, manifest) -> None:
    for check in CHECKS:
        assert judge(manifest, check).status in ("pass", "n/a"), check


# has_audit_trail
def test_trail_pass(judge, manifest) -> None:
    assert judge(manifest, "has_audit_trail").status == "pass"


def test_trail_fails_without_trail_block(judge, manifest) -> None:
    del manifest["trail"]
    r = judge(manifest, "has_audit_trail")
    assert r.status == "fail" and "declares no trail" in r.reason


def test_trail_fails_when_disabled(judge, manifest) -> None:
    manifest["trail"]["enabled"] = False
    assert judge(manifest, "has_audit_trail").status == "fail"


def test_trail_fails_for_excluded_agent(judge, manifest) -> None:
    manifest["agents"][0]["trail"] = False
    r = judge(manifest, "has_audit_trail")
    assert r.status == "fail" and "trail: false" in r.reason


# trail_is_immutable
def test_immutable_pass_signed(judge, manifest) -> None:
    r = judge(manifest, "trail_is_immutable")
    assert r.status == "pass" and not r.warnings


def test_immutable_hash_chain_passes_with_warning(judge, manifest) -> None:
    manifest["trail"]["integrity"] = "hash_chain"
    r = judge(manifest, "trail_is_immutable")
    assert r.status == "pass" and "truncated tail" in r.warnings[0][1]


def test_immutable_fails_with_no_integrity(judge, manifest) -> None:
    manifest["trail"]["integrity"] = "none"
    assert judge(manifest, "trail_is_immutable").status == "fail"


def test_immutable_fails_for_agent_outside_trail(judge, manifest) -> None:
    manifest["agents"][0]["trail"] = False
    assert judge(manifest, "trail_is_immutable").status == "fail"


# access_enforced_at_harness
def test_access_pass(judge, manifest) -> None:
    assert judge(manifest, "access_enforced_at_harness").status == "pass"


@pytest.mark.parametrize("where", ["prompt", "none"])
def test_access_fails_when_not_harness(judge, manifest, where: str) -> None:
    manifest["agents"][0]["access"]["enforced_at"] = where
    assert judge(manifest, "access_enforced_at_harness").status == "fail"


def test_access_fails_without_block(judge, manifest) -> None:
    del manifest["agents"][0]["access"]
    assert "no access block" in judge(manifest, "access_enforced_at_harness").reason


def test_access_fails_for_tool_outside_scopes(judge, manifest) -> None:
    manifest["agents"][0]["tools"][0]["scope"] = "other:read"
    r = judge(manifest, "access_enforced_at_harness")
    assert r.status == "fail" and "outside the agent's scopes" in r.reason


def test_access_fails_for_unscoped_tool(judge, manifest) -> None:
    del manifest["agents"][0]["tools"][0]["scope"]
    assert "has no scope" in judge(manifest, "access_enforced_at_harness").reason


# budget_cap_enforced
def test_budget_inherited_from_harness_pipeline(judge, manifest) -> None:
    r = judge(manifest, "budget_cap_enforced")
    assert r.status == "pass" and "pipeline" in r.reason


def test_budget_own_harness_cap(judge, manifest) -> None:
    manifest["budget"]["enforced_by"] = "prompt"
    manifest["agents"][0]["budget"] = {"max_cost_usd_per_run": 0.1, "enforced_by": "harness"}
    r = judge(manifest, "budget_cap_enforced")
    assert r.status == "pass" and "own" in r.reason


def test_budget_prompt_is_not_enforcement(judge, manifest) -> None:
    manifest["budget"]["enforced_by"] = "prompt"
    assert judge(manifest, "budget_cap_enforced").status == "fail"


def test_budget_missing_everywhere(judge, manifest) -> None:
    del manifest["budget"]
    r = judge(manifest, "budget_cap_enforced")
    assert r.status == "fail" and "no budget covers it" in r.reason


def test_budget_own_prompt_cap_under_harness_pipeline_warns(judge, manifest) -> None:
    manifest["agents"][0]["budget"] = {"max_cost_usd_per_run": 0.1, "enforced_by": "prompt"}
    r = judge(manifest, "budget_cap_enforced")
    assert r.status == "pass" and r.warnings[0][0] == "HA-109"


def test_budget_spawner_needs_max_spawn_depth(judge, manifest) -> None:
    del manifest["budget"]["max_spawn_depth"]
    add_agent(manifest, id="child")
    manifest["agents"][0]["spawns"] = ["child"]
    r = judge(manifest, "budget_cap_enforced")
    assert r.status == "fail" and "max_spawn_depth" in r.reason
    assert judge(manifest, "budget_cap_enforced", "child").status == "pass"


def test_budget_na_for_human(judge, manifest) -> None:
    add_agent(manifest, id="h", model="human")
    assert judge(manifest, "budget_cap_enforced", "h").status == "n/a"


# independent_verification
def with_write(m: Manifest, effect: str = "write", **tool: Any) -> Manifest:
    m["agents"][0]["access"]["scopes"].append("db:write")
    m["agents"][0]["tools"].append({"name": "w", "effect": effect, "scope": "db:write"} | tool)
    return m


def test_verification_na_without_writes(judge, manifest) -> None:
    assert judge(manifest, "independent_verification").status == "n/a"


def test_verification_fails_without_verifier(judge, manifest) -> None:
    r = judge(with_write(manifest), "independent_verification")
    assert r.status == "fail" and "no verifier" in r.reason


def test_verification_passes_with_other_provider_and_family(judge, manifest) -> None:
    add_agent(manifest, id="v")
    r = judge(with_write(manifest, verified_by=["v"]), "independent_verification")
    assert r.status == "pass" and not r.warnings


def test_verification_same_family_fails(judge, manifest) -> None:
    add_agent(manifest, id="v", model={"provider": "azure", "family": "GPT-4o"})
    r = judge(with_write(manifest, verified_by=["v"]), "independent_verification")
    assert r.status == "fail" and "echo chamber" in r.reason


def test_verification_same_provider_other_family_warns(judge, manifest) -> None:
    add_agent(manifest, id="v", model={"provider": "openai", "family": "o3"})
    r = judge(with_write(manifest, verified_by=["v"]), "independent_verification")
    assert r.status == "pass" and r.warnings[0][0] == "HA-105"


def test_verification_by_itself_fails(judge, manifest) -> None:
    r = judge(with_write(manifest, verified_by=["a"]), "independent_verification")
    assert r.status == "fail" and "verifies itself" in r.reason


def test_verification_by_human_passes(judge, manifest) -> None:
    add_agent(manifest, id="h", model="human")
    assert (
        judge(with_write(manifest, verified_by=["h"]), "independent_verification").status == "pass"
    )


# human_gate_for_destructive_ops
def test_gate_na_for_plain_write(judge, manifest) -> None:
    assert judge(with_write(manifest), "human_gate_for_destructive_ops").status == "n/a"


@pytest.mark.parametrize("effect", ["destructive", "external"])
def test_gate_fails_without_approval(judge, manifest, effect: str) -> None:
    r = judge(with_write(manifest, effect), "human_gate_for_destructive_ops")
    assert r.status == "fail" and effect in r.reason


def test_gate_passes_when_required(judge, manifest) -> None:
    m = with_write(
        manifest, "destructive", human_gate={"required": True, "approvers": ["ops_lead"]}
    )
    r = judge(m, "human_gate_for_destructive_ops")
    assert r.status == "pass" and not r.warnings


def test_gate_with_required_false_fails(judge, manifest) -> None:
    m = with_write(manifest, "external", human_gate={"required": False})
    assert judge(m, "human_gate_for_destructive_ops").status == "fail"


# sla_decomposed_per_stage
def test_sla_fails_without_target(judge, manifest) -> None:
    del manifest["slo"]
    assert "no slo.target" in judge(manifest, "sla_decomposed_per_stage").reason


def test_sla_fails_without_stage_reliability(judge, manifest) -> None:
    del manifest["agents"][0]["stage"]
    assert "no stage.reliability" in judge(manifest, "sla_decomposed_per_stage").reason


def test_sla_passes_when_compound_meets_target(judge, manifest) -> None:
    r = judge(manifest, "sla_decomposed_per_stage")
    assert r.status == "pass" and "compound" in r.reason


def test_sla_equal_share_path(judge, manifest) -> None:
    # two stages, target 0.99: share = 0.99^(1/2) = 0.994987; b misses, a passes on its share
    manifest["agents"][0]["stage"]["reliability"] = 0.996
    add_agent(manifest, id="b", stage={"reliability": 0.98})
    assert judge(manifest, "sla_decomposed_per_stage").status == "pass"
    r = judge(manifest, "sla_decomposed_per_stage", "b")
    assert r.status == "fail" and "0.994987" in r.reason


def test_sla_retries_count(judge, manifest) -> None:
    manifest["agents"][0]["stage"] = {"reliability": 0.9, "retries": 1}  # 1 - 0.1^2 = 0.99
    assert judge(manifest, "sla_decomposed_per_stage").status == "pass"


def test_sla_fallback_is_judged_with_the_stage_it_backs(judge, manifest) -> None:
    manifest["agents"][0]["stage"] = {"reliability": 0.9, "fallback": ["fb"]}
    add_agent(manifest, id="fb", stage={"reliability": 0.95})
    # 0.9 + 0.1 * 0.95 = 0.995 >= 0.99: one series stage, the fallback is not one
    assert judge(manifest, "sla_decomposed_per_stage").status == "pass"
    assert "compound 0.995 meets" in judge(manifest, "sla_decomposed_per_stage", "fb").reason
    add_agent(manifest, id="weak", stage={"reliability": 0.9})  # now the compound misses
    r = judge(manifest, "sla_decomposed_per_stage", "fb")
    assert r.status == "pass" and "backs up (a) 0.995 reaches" in r.reason


# scoring
@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, "audit-ready"),
        (1, "at-risk"),
        (3, "at-risk"),
        (4, "audit-will-fail"),
        (7, "audit-will-fail"),
    ],
)
def test_bands(score: int, expected: str) -> None:
    assert band(score) == expected


def test_pipeline_score_is_the_worst_agent(write_manifest, manifest) -> None:
    add_agent(manifest, id="b", access={"enforced_at": "prompt", "scopes": []})
    manifest["agents"][1]["trail"] = False
    p = assess_pipeline(load_manifest(write_manifest(manifest)))
    scores = {a.id: a.score for a in p.agents}
    assert scores == {"a": 0, "b": 3}
    assert p.score == 3 and p.band == "at-risk"
    assert p.failing_checks == [
        "has_audit_trail",
        "trail_is_immutable",
        "access_enforced_at_harness",
    ]
