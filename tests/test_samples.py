"""The bundled sample pipelines scan with the scores the README promises."""

from __future__ import annotations

import pytest

from harness_audit.checks import assess
from harness_audit.manifest import discover, load_all

from .conftest import SAMPLES

EXPECTED = {
    "loan-assessment": (
        7,
        "audit-will-fail",
        {
            "credit_risk": 4,
            "document_check": 4,
            "compliance_check": 3,
            "decision_writer": 2,
            "notify": 7,
        },
    ),
    "loan-assessment-hardened": (0, "audit-ready", None),
    "market-research": (2, "at-risk", None),
    "support-refunds": (3, "at-risk", None),
}


@pytest.fixture(scope="module")
def results():
    return {p.pipeline.name: p for p in assess(load_all(discover([SAMPLES]))).pipelines}


def test_every_sample_is_found(results) -> None:
    assert set(results) == set(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_sample_scores(results, name: str) -> None:
    score, band, agents = EXPECTED[name]
    p = results[name]
    assert (p.score, p.band) == (score, band)
    if agents:
        assert {a.id: a.score for a in p.agents} == agents


def test_first_sample_fails_every_check_somewhere(results) -> None:
    assert len(results["loan-assessment"].failing_checks) == 7


def test_hardened_sample_has_no_finding_that_fails_a_build(results) -> None:
    assert [
        f for f in results["loan-assessment-hardened"].findings if f.severity not in ("info", "low")
    ] == []


def test_refund_sample_shows_destructive_and_external_risks(results) -> None:
    rules = {f.rule for f in results["support-refunds"].findings}
    assert {"HA-006", "HA-102", "HA-005", "HA-003"} <= rules


def test_research_sample_spawns_within_depth(results) -> None:
    rules = {f.rule for f in results["market-research"].findings}
    assert "HA-107" not in rules and "HA-101" in rules
