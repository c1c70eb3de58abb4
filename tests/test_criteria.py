"""Criteria are not graded; the TSC scope is an input; the EU AI Act by classification
(issue 22, items 5 and 6)."""

from __future__ import annotations

import pytest

from harness_audit.checks.catalogue import load_rulebook
from harness_audit.compliance import criteria, reviews

QUESTIONED = {  # issue 22: the mappings an auditor would strike, by rule
    ("HA-006", "CC8.1"),  # change management from a run-time gate
    ("HA-007", "A1.2"),  # environmental protection and recovery from SLA arithmetic
    ("HA-002", "CC7.3"),  # evaluating security events from immutability
    ("HA-007", "CC9.2"),  # vendor risk from SLA decomposition
}
WORDS = {  # the criteria's own opening words (AICPA 2017 TSC, rev. 2022 points of focus)
    "CC8.1": "The entity authorizes, designs, develops or acquires, configures, documents",
    "A1.2": "The entity authorizes, designs, develops or acquires, implements, operates",
    "CC7.3": "The entity evaluates security events to determine whether",
    "CC9.2": "The entity assesses and manages risks associated with vendors",
}


def test_questioned_mappings_are_struck_or_justified_in_the_criterion_s_words() -> None:
    book = load_rulebook()
    decided = {(r.rule, r.criterion): r for r in reviews()}
    for rule_id, criterion in QUESTIONED:
        r = decided[(rule_id, criterion)]
        mapped = criterion in book.rules[rule_id].mappings.get("soc2", ())
        assert r.decision == ("kept" if mapped else "struck"), (rule_id, criterion)
        assert WORDS[criterion] in r.words and r.reason
    for criterion in WORDS:  # every other rule still mapping one of them says why, too
        for rule in book.rules.values():
            if criterion in rule.mappings.get("soc2", ()):
                r = decided.get((rule.id, criterion))
                assert r is not None and r.decision == "kept", (rule.id, criterion)
                assert WORDS[criterion] in r.words
    assert "CC8.1" not in book.rules["HA-006"].mappings["soc2"]


def test_a_review_that_disagrees_with_the_rules_does_not_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import harness_audit.compliance as c
    from harness_audit.errors import RuleError

    real = c.load_rules

    def fake(name: str) -> dict:  # type: ignore[type-arg]
        data = real(name)
        if name == "criteria.yaml":
            data["tsc"]["review"][0]["decision"] = "kept"  # HA-006 no longer maps CC8.1
        return data

    criteria.cache_clear()
    monkeypatch.setattr(c, "load_rules", fake)
    try:
        with pytest.raises(RuleError, match=r"HA-006 CC8\.1"):
            criteria()
    finally:
        criteria.cache_clear()
