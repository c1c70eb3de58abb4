"""Issue 11, item 4: a check is registered in one place, and every check has an observed side
in the evidence judge or is declared manifest-only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from harness_audit.checks import CHECKS, load_rulebook
from harness_audit.checks.checks import CHECK_FUNCTIONS
from harness_audit.checks.registry import REGISTRY, check
from harness_audit.evidence import judge, trails


def _judged_checks() -> set[str]:
    """Every check name the judge passes to ``operated`` or ``control`` (its observed sides),
    in the judge and where the trails' integrity is judged."""
    found: set[str] = set()
    nodes = [
        n
        for m in (judge, trails)
        for n in ast.walk(ast.parse(Path(m.__file__).read_text(encoding="utf-8")))
    ]
    for node in nodes:
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("operated", "control")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            found.add(node.args[1].value)
    return found


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
    judged = _judged_checks()
    manifest_only = {n for n, s in REGISTRY.items() if s.manifest_only}
    assert judged <= set(CHECKS), f"the judge observes unknown checks: {judged - set(CHECKS)}"
    missing = set(CHECKS) - judged - manifest_only
    assert not missing, f"no observed side in the judge, and not manifest_only: {missing}"
    assert not judged & manifest_only, "declared manifest-only but judged on trails"


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
