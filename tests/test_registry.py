"""Issue 11, item 4 and issue 21, move 1: a check is one module, registered in one place, with
its rule in rules/; every check has an observed side (registered by event kind, dispatched by
the evidence judge) or is declared manifest-only."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from harness_audit.checks import CHECKS, load_rulebook
from harness_audit.checks.checks import CHECK_FUNCTIONS
from harness_audit.checks.registry import REGISTRY, Observed, check, enforcement, observed
from harness_audit.evidence.judge import Judge
from harness_audit.manifest import load_manifest
from harness_audit.trail.events import AnyEvent

SAMPLE = Path(__file__).resolve().parent.parent / "sample_pipelines/loan-assessment/harness.yaml"


def test_the_registry_is_the_list_of_checks() -> None:
    assert tuple(REGISTRY) == CHECKS
    assert CHECKS == (
        "has_audit_trail",
        "trail_is_immutable",
        "access_enforced_at_harness",
        "budget_cap_enforced",
        "independent_verification",
        "human_gate_for_destructive_ops",
        "sla_decomposed_per_stage",
    )
    assert {n: s.function for n, s in REGISTRY.items()} == CHECK_FUNCTIONS


def test_every_check_has_an_observed_side_or_is_manifest_only() -> None:
    """The link between the declared and the observed side is the registry: a check has an
    observed side (on events, or on the verification report) or says it has none."""
    for name in CHECKS:
        spec = REGISTRY[name]
        assert spec.observed or spec.manifest_only, (
            f"{name}: no observed side (@observed or @observed_on_verify), and not manifest_only"
        )
        assert not (spec.observed and spec.manifest_only), f"{name}: manifest-only but observed"


def test_the_judge_dispatches_each_event_kind_to_the_checks_registered_for_it() -> None:
    p = load_manifest(SAMPLE)
    j = Judge(p)
    assert set(j.dispatch) == set(get_args(AnyEvent))
    observers = [REGISTRY[n].observer for n in CHECKS if REGISTRY[n].observer is not None]
    assert [type(o) for o in j.checks] == observers
    for o in j.checks:
        kinds = list(o.handlers())
        assert kinds or type(o).finish is not Observed.finish, f"{type(o)} observes nothing"
        for kind, handler in kinds:
            assert kind in j.dispatch, f"{type(o).__name__} registered for {kind}, not an event"
            assert handler in j.dispatch[kind]
    # has_audit_trail is judged on every event, before the checks registered after it
    first = j.checks[0]
    assert all(first.event in hs for hs in j.dispatch.values())  # type: ignore[attr-defined]


def test_each_check_is_one_module_with_its_declared_and_observed_sides_and_enforcement() -> None:
    for name in CHECKS:
        spec = REGISTRY[name]
        module = f"harness_audit.checks.{name}"
        assert spec.function.__module__ == module
        assert spec.enforcement is not None, f"{name} has no @enforcement text"
        assert spec.enforcement.__module__ == module
        for side in (spec.observer, spec.on_verify):
            assert side is None or side.__module__ == module


def test_a_rule_without_a_registered_check_and_a_check_without_a_rule_are_caught() -> None:
    """Both halves of a new check: its module (registered) and its rule in rules/checks.yaml."""
    book = load_rulebook()
    ruled = {r.check for r in book.rules.values() if r.check}
    assert not ruled - set(REGISTRY), f"rules name unregistered checks: {ruled - set(REGISTRY)}"
    assert not set(CHECKS) - ruled, f"checks with no rule: {set(CHECKS) - ruled}"


def test_registering_an_observed_side_and_enforcement_needs_a_registered_check() -> None:
    def zz_unregistered(ctx: object, a: object) -> None: ...

    with pytest.raises(ValueError, match="not a registered check"):
        observed(zz_unregistered)(Observed)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a registered check"):
        enforcement(zz_unregistered)(lambda p, a: "")  # type: ignore[arg-type]


def test_every_check_has_one_rule_with_its_labels() -> None:
    book = load_rulebook()
    ruled = [r.check for r in book.rules.values() if r.check]
    assert sorted(ruled) == sorted(CHECKS)
    for c in CHECKS:
        r = book.for_check(c)
        assert r.label and r.short_label, c


def test_the_report_tables_come_from_rules() -> None:
    """The renderers hold no label or problem tables of their own: they read rules/."""
    from harness_audit.report import markdown, pack, rules_view, terminal

    for module in (markdown, pack, rules_view, terminal):
        assert not hasattr(module, "SHORT") and not hasattr(module, "PROBLEMS")
        assert not hasattr(module, "WHY")
    book = load_rulebook()
    assert sorted(book.problems) == list(range(1, 8))
    assert {r.problem for r in book.rules.values()} <= set(book.problems)


def test_a_check_is_registered_once() -> None:
    def has_audit_trail() -> None: ...

    with pytest.raises(ValueError, match="registered twice"):
        check()(has_audit_trail)  # type: ignore[arg-type]


def test_registering_adds_in_order_and_marks_manifest_only() -> None:
    def zz_probe_check(ctx: object, a: object) -> None: ...

    try:
        check(manifest_only=True)(zz_probe_check)  # type: ignore[arg-type]
        assert list(REGISTRY)[-1] == "zz_probe_check"
        assert REGISTRY["zz_probe_check"].manifest_only
    finally:
        REGISTRY.pop("zz_probe_check", None)
