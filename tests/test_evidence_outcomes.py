"""Risk and approving decision outcomes come from ``rules/outcomes.yaml`` (issue 12 item 9)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness_audit.evidence.outcomes import load_outcomes

from .test_evidence_judge import Feed, feed  # noqa: F401 - the fixture

RISK = [
    "decline",
    "declined",
    "refer",
    "referred",
    "reject",
    "rejected",
    "deny",
    "denied",
    "escalate",
    "hold",
    "fail",
    "flag",
    "flagged",
    "flag_high_risk",
    "FLAG_for_review",
    "Refer",
]
APPROVING = ["approve", "approved", "accept", "pay", "publish"]


def amnesia(f: Feed, risk: str, approve: str, cite: bool = False) -> list[str]:
    f.start("r")
    flag = f.add("r", "a", "decision", subject="loan", outcome=risk)
    f.add("r", "b", "decision", subject="loan", outcome=approve, evidence=[flag] if cite else [])
    f.end("r")
    return [o.rule for o in f.finish().observations]


@pytest.mark.parametrize("word", RISK)
def test_each_risk_word_then_an_uncited_approval_is_state_amnesia(
    feed: Callable[..., Feed],  # noqa: F811 - the fixture
    word: str,
) -> None:
    assert load_outcomes().kind(word) == "risk"
    assert "HA-201" in amnesia(feed(), word, "approve")
    assert "HA-201" not in amnesia(feed(), word, "approve", cite=True)


@pytest.mark.parametrize("word", APPROVING)
def test_each_approving_word_after_a_risk_is_state_amnesia(
    feed: Callable[..., Feed],  # noqa: F811 - the fixture
    word: str,
) -> None:
    assert load_outcomes().kind(word) == "approving"
    assert "HA-201" in amnesia(feed(), "refer", word)


@pytest.mark.parametrize("word", ["summarised", "noted", "holdout", "referral_letter_sent"])
def test_other_words_are_neither(word: str) -> None:
    assert load_outcomes().kind(word) == "other"


def test_the_words_are_data_with_their_rationale() -> None:
    from harness_audit._resources import data_dir
    from harness_audit.manifest.yamlsafe import load_yaml

    data = load_yaml(data_dir("rules") / "outcomes.yaml").data
    assert data["source"] and set(RISK[:11]) <= set(data["risk"]["words"])
    assert data["risk"]["prefixes"] == ["flag"]
    assert load_outcomes() is load_outcomes()  # loaded once
