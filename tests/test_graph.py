"""Graph findings beyond the checklist, and the graph's shape."""

from __future__ import annotations

from typing import Any

from harness_audit.checks import assess_pipeline
from harness_audit.graph import agent_node, build_graph, tool_node
from harness_audit.manifest import load_manifest

from .test_checks import add_agent


def rules_of(write_manifest: Any, m: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in assess_pipeline(load_manifest(write_manifest(m))).findings:
        out.setdefault(f.rule, []).append(f.message)
    return out


def chain(
    m: dict[str, Any], gate: bool = False, human_between: bool = False, verifier: bool = False
) -> dict[str, Any]:
    """a (reads untrusted) -> mid -> act (destructive tool)."""
    m["agents"][0]["untrusted_input"] = True
    add_agent(
        m,
        id="mid",
        depends_on=["a"],
        model="human" if human_between else {"provider": "openai", "family": "gpt-4o"},
    )
    tool: dict[str, Any] = {"name": "wire", "effect": "destructive", "scope": "s:read"}
    if gate:
        tool["human_gate"] = {"required": True, "approvers": ["cfo"]}
    if verifier:
        add_agent(m, id="v", model={"provider": "google", "family": "gemini"}, verifies=["act"])
        tool["verified_by"] = ["v"]
    add_agent(
        m,
        id="act",
        depends_on=["mid"],
        tools=[tool],
        model={"provider": "openai", "family": "gpt-4o"},
    )
    return m


def test_risk_path_found(write_manifest, manifest) -> None:
    msgs = rules_of(write_manifest, chain(manifest))["HA-102"]
    assert msgs == [
        "untrusted input reaches destructive tool 'wire' of 'act' along "
        "a -> mid -> act with no human gate, independent verifier or human agent "
        "on the way"
    ]


def test_risk_path_closed_by_gate(write_manifest, manifest) -> None:
    assert "HA-102" not in rules_of(write_manifest, chain(manifest, gate=True))


def test_risk_path_closed_by_human_agent(write_manifest, manifest) -> None:
    assert "HA-102" not in rules_of(write_manifest, chain(manifest, human_between=True))


def test_risk_path_closed_by_independent_verifier(write_manifest, manifest) -> None:
    assert "HA-102" not in rules_of(write_manifest, chain(manifest, verifier=True))


def test_self_verification(write_manifest, manifest) -> None:
    manifest["agents"][0]["verifies"] = ["a"]
    assert "lists itself in verifies" in rules_of(write_manifest, manifest)["HA-101"][0]


def test_dead_end_agent(write_manifest, manifest) -> None:
    add_agent(manifest, id="b", depends_on=["a"])
    add_agent(manifest, id="lonely")
    found = rules_of(write_manifest, manifest)["HA-103"]
    assert len(found) == 2 and any("'lonely'" in f for f in found)


def test_single_output_agent_is_not_a_dead_end(write_manifest, manifest) -> None:
    add_agent(manifest, id="b", depends_on=["a"])
    assert "HA-103" not in rules_of(write_manifest, manifest)


def test_budgets_over_pipeline_cap(write_manifest, manifest) -> None:
    manifest["agents"][0]["budget"] = {"max_cost_usd_per_run": 0.7, "enforced_by": "harness"}
    add_agent(
        manifest,
        id="b",
        depends_on=["a"],
        budget={"max_cost_usd_per_run": 0.6, "enforced_by": "harness"},
    )
    assert (
        "$1.3 per run, above the pipeline cap $1" in rules_of(write_manifest, manifest)["HA-104"][0]
    )


def test_spawn_depth_over_limit(write_manifest, manifest) -> None:
    manifest["agents"][0]["spawns"] = ["b"]
    add_agent(manifest, id="b", spawns=["c"])
    add_agent(manifest, id="c")
    assert "2 deep, but max_spawn_depth is 1" in rules_of(write_manifest, manifest)["HA-107"][0]


def test_retention_below_six_months(write_manifest, manifest) -> None:
    manifest["trail"]["retention_days"] = 30
    assert "HA-106" in rules_of(write_manifest, manifest)


def test_graph_nodes_and_edge_kinds(write_manifest, manifest) -> None:
    g = build_graph(load_manifest(write_manifest(chain(manifest, gate=True, verifier=True))))
    assert g.nodes[agent_node("a")]["untrusted_input"] is True
    kinds = {d["kind"] for _, _, d in g.edges(data=True)}
    assert kinds == {"data_flow", "verifies", "uses", "access", "approval"}
    assert g.has_edge("human:cfo", tool_node("act", "wire"))
    assert g.nodes["scope:s:read"]["kind"] == "scope"
