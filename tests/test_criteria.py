"""Criteria are not graded; the TSC scope is an input; the EU AI Act by classification
(issue 22, items 5 and 6)."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from harness_audit.checks.catalogue import load_rulebook
from harness_audit.cli._cli import app
from harness_audit.compliance import criteria, reviews
from harness_audit.errors import ExitCode

from .conftest import SAMPLES
from .test_pack import build

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


# -- item 5: no criterion row carries a grade, in any format ---------------------------------

GRADE = re.compile(
    r"\b(pass|passes|passed|fail|fails|failed|met|not met|satisfied|not-satisfied)\b", re.I
)
CRITERION = re.compile(r"\b(CC\d\.\d|A1\.\d|PI1\.\d|C1\.\d|P\d\.\d)\b")


def matrix_rows(html: str) -> list[str]:
    """The text of every row of the control matrix whose first cell is a control id, less
    its second cell (the framework's own summary of the control: "it fails safely" is NIST's
    words, not a grade)."""
    section = html.split('<section id="controls"', 1)[1].split("<section ", 1)[0]
    rows = re.findall(r"<tr><td class=\"mono\">.*?</tr>", section, re.S)
    out = []
    for r in rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)
        del cells[1]
        out.append(" ".join(unescape(re.sub(r"<[^>]+>", " ", " ".join(cells))).split()))
    return out


@pytest.fixture(scope="module")
def samples_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mp = pytest.MonkeyPatch()
    out = tmp_path_factory.mktemp("crit") / "pack"
    key = SAMPLES / "loan-assessment-hardened" / "keys" / "trail.pub"  # a clean control is
    r = build(out, str(SAMPLES), "--key", str(key), "--no-pdf", monkeypatch=mp)  # one proven
    mp.undo()
    assert r.exit_code == ExitCode.FINDINGS, r.output
    return out


def test_no_criterion_row_in_the_pack_carries_a_grade(samples_pack: Path) -> None:
    html = (samples_pack / "evidence.html").read_text()
    rows = matrix_rows(html)
    assert any(r.startswith("CC6.1 ") for r in rows) and any("Art. 14(1)" in r for r in rows)
    graded = [r[:120] for r in rows if GRADE.search(r)]
    assert not graded, graded
    assert 'class="status-passes">passes' not in html and ">fails</td>" not in html


def test_findings_json_lists_criteria_with_controls_and_deviations_not_grades(
    samples_pack: Path,
) -> None:
    data = json.loads((samples_pack / "findings.json").read_text())
    crit = data["workpaper"]["criteria"]
    row = next(r for r in crit["soc2"] if r["id"] == "CC6.1")
    per = row["pipelines"]["loan-assessment-hardened"]
    assert set(per) == {"controls", "deviations", "deviations_shown"}
    assert per["controls"]["access_enforced_at_harness"]  # clean controls are listed too
    text = json.dumps(crit)
    assert not re.search(r'"(status|state|grade|result)"', text)
    assert not re.search(r'": "(pass|passes|fail|fails|met|not met)"', text)


def test_the_matrix_links_clean_controls_to_their_work_paper_entry(samples_pack: Path) -> None:
    html = (samples_pack / "evidence.html").read_text()
    section = html.split('<section id="controls"', 1)[1].split('<section id="workpaper"', 1)[0]
    links = set(re.findall(r'href="#(wp-[0-9a-f]{16})"', section))
    ids = set(re.findall(r'<table class="wp" id="(wp-[0-9a-f]{16})"', html))
    assert links and links <= ids
    assert 'no exceptions noted: <a href="#wp-' in section


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "junit", "markdown", "oscal", "csv"])
def test_no_line_naming_a_criterion_carries_a_grade_in_scan_outputs(fmt: str) -> None:
    out = CliRunner().invoke(app, ["scan", str(SAMPLES), "-f", fmt]).stdout
    bad = [ln.strip()[:120] for ln in out.splitlines() if CRITERION.search(ln) and GRADE.search(ln)]
    assert not bad, bad
    if fmt == "oscal":
        results = json.loads(out)["assessment-results"]["results"]
        assert all("findings" not in r for r in results)
        assert '"satisfied"' not in out and '"not-satisfied"' not in out
        props = {
            p["value"]
            for r in results
            for o in r["observations"]
            for p in o.get("props", [])
            if p["name"] == "criterion"
        }
        assert "soc2-cc6.1" in props and not any(p.startswith("soc2-a1") for p in props)


# -- item 5: the Trust Services categories in scope are an input -----------------------------


def cover(pack: Path) -> str:
    html = (pack / "evidence.html").read_text()
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html.split("<nav", 1)[0])).split())


def ids_listed(pack: Path) -> set[str]:
    return {r.split(" ", 1)[0] for r in matrix_rows((pack / "evidence.html").read_text())}


def test_default_scope_is_security_and_is_on_the_cover(samples_pack: Path) -> None:
    assert "TSC in scope Security (the default: no compliance.tsc" in cover(samples_pack)
    listed = ids_listed(samples_pack)
    assert "CC6.1" in listed and not listed & {"A1.1", "PI1.3", "PI1.4", "PI1.5"}
    data = json.loads((samples_pack / "findings.json").read_text())
    assert {r["id"] for r in data["workpaper"]["criteria"]["soc2"]} <= {
        c for c in listed if c.startswith("CC")
    }
    assert data["workpaper"]["tsc"]["loan-assessment"] == {
        "categories": ["security"],
        "source": "default",
    }


def test_tsc_flag_sets_the_scope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "p"
    r = build(
        out,
        str(SAMPLES / "loan-assessment"),
        "--no-pdf",
        "--no-trails",
        "--tsc",
        "security,availability",
        monkeypatch=monkeypatch,
    )
    assert r.exit_code == ExitCode.FINDINGS, r.output
    assert "Security, Availability (as given by --tsc)" in cover(out)
    listed = ids_listed(out)
    assert "A1.1" in listed and "CC6.1" in listed and "PI1.3" not in listed


def test_manifest_declares_the_scope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = with_compliance(tmp_path, {"tsc": ["processing_integrity"]})
    out = tmp_path / "p"
    r = build(out, str(m), "--no-pdf", "--no-trails", monkeypatch=monkeypatch)
    assert r.exit_code == ExitCode.FINDINGS, r.output
    assert "Processing Integrity (as the manifest declares (compliance.tsc))" in cover(out)
    listed = ids_listed(out)
    assert "PI1.3" in listed and not any(c.startswith("CC") for c in listed)


def test_an_unknown_tsc_category_is_a_usage_error_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "p"
    r = build(
        out,
        str(SAMPLES / "loan-assessment"),
        "--no-pdf",
        "--no-trails",
        "--tsc",
        "security,avail",
        monkeypatch=monkeypatch,
    )
    assert r.exit_code == ExitCode.USAGE and "unknown Trust Services category 'avail'" in r.stderr
    assert not out.exists()


def with_compliance(tmp_path: Path, compliance: dict[str, Any]) -> Path:
    """The loan sample's manifest with a compliance block, written beside the test."""
    data = yaml.safe_load((SAMPLES / "loan-assessment" / "harness.yaml").read_text())
    data["compliance"] = compliance
    data.get("trail", {}).pop("path", None)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "loan.harness.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# -- item 6: the EU AI Act by classification -------------------------------------------------


def ai_act_rows(pack: Path) -> dict[str, str]:
    """The EU AI Act rows of the (one) pipeline's matrix: article to its Applies cell."""
    html = (pack / "evidence.html").read_text()
    section = html.split('<section id="controls"', 1)[1].split("<h3>Across the pipelines", 1)[0]
    table = section.split("EU AI Act (Regulation", 1)[1].split("</table>", 1)[0]
    out = {}
    for row in re.findall(r"<tr><td class=\"mono\">.*?</tr>", table, re.S):
        cells = [
            " ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split())
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        out[cells[0]] = cells[-1]
    return out


def ai_act_pack(tmp_path: Path, mp: pytest.MonkeyPatch, act: dict[str, Any] | None) -> Path:
    m = with_compliance(tmp_path, {"eu_ai_act": act} if act else {"tsc": ["security"]})
    out = tmp_path / "p"
    r = build(out, str(m), "--no-pdf", "--no-trails", monkeypatch=mp)
    assert r.exit_code == ExitCode.FINDINGS, r.output
    return out


def in_9_to_15(article: str) -> bool:
    return 9 <= int(re.match(r"Art\. (\d+)", article).group(1)) <= 15  # type: ignore[union-attr]


def test_a_limited_risk_deployer_has_no_high_risk_obligation_applying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = ai_act_pack(tmp_path, monkeypatch, {"risk_class": "limited", "role": "deployer"})
    rows = ai_act_rows(out)
    assert any(in_9_to_15(a) for a in rows)
    applying = [a for a, cell in rows.items() if cell.startswith("applies")]
    assert not applying, applying
    assert all("the system is declared limited risk" in c for c in rows.values())
    assert "EU AI Act class limited risk; deployer" in cover(out)
    data = json.loads((out / "findings.json").read_text())
    states = {
        r["id"]: r["pipelines"]["loan-assessment"]["applies"]
        for r in data["workpaper"]["criteria"]["eu_ai_act"]
    }
    assert set(states.values()) == {"does not apply"}
    assert not [f for f in data["pipelines"][0]["findings"] if f["rule"] == "HA-106"]


def test_undeclared_is_not_classified_and_rows_say_applies_if_high_risk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = ai_act_pack(tmp_path, monkeypatch, None)
    assert "EU AI Act class not classified (no compliance.eu_ai_act declared)" in cover(out)
    rows = ai_act_rows(out)
    assert rows and all(c.startswith("applies if high-risk") for c in rows.values())
    assert "(to its provider only)" in rows["Art. 19"]
    assert "(to its deployer only)" in rows["Art. 26(6)"]
    data = json.loads((out / "findings.json").read_text())
    (ha106,) = [f for f in data["pipelines"][0]["findings"] if f["rule"] == "HA-106"]
    assert "of a high-risk system" in ha106["message"]
    assert "this system is not classified" in ha106["message"]


def test_high_risk_roles_decide_art_19_and_26(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployer = ai_act_pack(
        tmp_path / "d",
        monkeypatch,
        {"risk_class": "high", "role": "deployer", "annex_iii": "5(b)"},
    )
    rows = ai_act_rows(deployer)
    assert rows["Art. 26(6)"].startswith("applies:") and rows["Art. 14(1)"].startswith("applies:")
    assert rows["Art. 19"].startswith("does not apply") and rows["Art. 72"].startswith("does not")
    assert "EU AI Act class high-risk, Annex III point 5(b); deployer" in cover(deployer)
    provider = ai_act_pack(
        tmp_path / "p",
        monkeypatch,
        {"risk_class": "high", "role": ["provider"], "annex_iii": "5(b)"},
    )
    rows = ai_act_rows(provider)
    assert rows["Art. 19"].startswith("applies:") and rows["Art. 17(1)(d)"].startswith("applies:")
    assert rows["Art. 26(2)"].startswith("does not apply")


def test_the_manifest_s_classification_loads(write_manifest) -> None:  # type: ignore[no-untyped-def]
    from harness_audit.manifest import load_manifest

    from .conftest import base_manifest

    m = base_manifest()
    m["compliance"] = {
        "tsc": ["availability", "security"],
        "eu_ai_act": {"risk_class": "high", "role": ["provider", "deployer"], "annex_iii": "5(b)"},
    }
    c = load_manifest(write_manifest(m)).compliance
    assert c.tsc == ("availability", "security") and c.eu_ai_act is not None
    assert c.eu_ai_act.roles == ("provider", "deployer") and c.eu_ai_act.annex_iii == "5(b)"
