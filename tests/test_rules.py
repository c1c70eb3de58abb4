"""Rules and control mappings are data; they agree with CONTROLS.md."""

from __future__ import annotations

import re

import pytest

from harness_audit.checks import CHECKS, load_rulebook

from .conftest import SHARED

COLUMNS = ("soc2", "eu_ai_act", "nist_ai_rmf", "iso_42001", "owasp_llm", "owasp_agentic")


def expand(framework: str, cell: str) -> list[str]:
    """Turn a CONTROLS.md cell into identifiers: '12(1)–(2), 26(6)' -> Art. 12(1), 12(2), ..."""
    cell = cell.strip()
    if cell in ("—", "-", ""):
        return []
    out: list[str] = []
    prefix = ""
    for part in (p.strip() for p in cell.split(",")):
        if framework == "eu_ai_act":
            part = part.removeprefix("Art. ")
            m = re.fullmatch(r"(.*?)\((\w+)\)–\((\w+)\)", part)
            if m:
                base, lo, hi = m.groups()
                if lo.isdigit():
                    out += [f"Art. {base}({i})" for i in range(int(lo), int(hi) + 1)]
                else:
                    out += [f"Art. {base}({chr(c)})" for c in range(ord(lo), ord(hi) + 1)]
            else:
                out.append(f"Art. {part}")
        elif framework == "nist_ai_rmf":
            if " " in part:
                prefix = part.split(" ")[0]
                out.append(part)
            else:
                out.append(f"{prefix} {part}")
        elif framework == "owasp_llm":
            out.append(f"{part}:2025")
        else:
            out.append(part)
    return out


def controls_md_rows() -> dict[str, dict[str, list[str]]]:
    path = SHARED / "spec" / "CONTROLS.md"
    if not path.exists():
        pytest.skip("../shared/spec/CONTROLS.md is not beside this checkout")
    rows = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] in CHECKS:
            rows[cells[0]] = {fw: expand(fw, c) for fw, c in zip(COLUMNS, cells[1:], strict=True)}
    return rows


def test_every_check_has_exactly_one_rule() -> None:
    book = load_rulebook()
    assert sorted(r.check for r in book.rules.values() if r.check) == sorted(CHECKS)


def test_mappings_match_controls_md() -> None:
    """CONTROLS.md's table, less the SOC 2 mappings struck on review (rules/criteria.yaml,
    issue 22: each with the criterion's own words)."""
    from harness_audit.compliance import reviews

    book = load_rulebook()
    struck = {(r.rule, r.criterion) for r in reviews() if r.decision == "struck"}
    for check, expected in controls_md_rows().items():
        rule = book.for_check(check)
        for fw in COLUMNS:
            want = [c for c in expected[fw] if fw != "soc2" or (rule.id, c) not in struck]
            assert sorted(rule.mappings.get(fw, ())) == sorted(want), (check, fw)


def test_every_rule_is_complete() -> None:
    for r in load_rulebook().rules.values():
        assert r.title and r.remediation and 1 <= r.problem <= 7
        assert r.severity in ("critical", "high", "medium", "low", "info")


def test_eu_ai_act_dates_are_data_with_sources() -> None:
    facts = load_rulebook().frameworks["eu_ai_act"].facts
    dates = {d["id"]: d for d in facts["application_dates"]}
    annex = {k: {x["short"]: x["date"] for x in d["dates"]} for k, d in dates.items()}
    assert annex["art-113"] == {
        "Art. 50": "2026-08-02",
        "Annex III": "2026-08-02",
        "Annex I": "2027-08-02",
    }
    assert annex["digital-omnibus"] == {
        "Art. 50": "2026-08-02",
        "Annex III": "2027-12-02",
        "Annex I": "2028-08-02",
    }
    assert facts["default_application_date"] == "digital-omnibus"
    assert all(d["source"] and d["address"] for d in dates.values())
