"""Issue 22, item 7: one page per pipeline that a CISO reads, first in the pack.

Six questions per pipeline, each answered yes, no, not proven (or not applicable) with its
reason and a link into the detail; read off the same judged checks and findings the pack shows,
never more kindly; ``summary.html`` and ``summary.pdf`` in the signed pack, and ``report
--summary-only`` for the PDF alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from harness_audit.audit import AuditRequest, run_audit
from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode
from harness_audit.evidence.period import parse_period
from harness_audit.report import summary
from harness_audit.trust import TrustRoot

from .conftest import SAMPLES
from .trailkit import SIGNER

HARDENED = SAMPLES / "loan-assessment-hardened"
KEY = HARDENED / "keys" / "trail.pub"
COVERED = "2026-09-01T08:00:00Z..2026-09-02T06:45:22Z"  # the README's period for the sample
UNCOVERED = "2026-08-01..2026-09-30"  # its trail covers a day of it
EPOCH = "1790000000"
ANSWERS = {"yes", "no", "not_proven", "n/a"}
runner = CliRunner()


def pinned(period: str | None = COVERED, **kw: Any) -> AuditRequest:
    return AuditRequest(
        (HARDENED,),
        trust=TrustRoot(keys=(str(KEY),), key_source="flag"),
        period=parse_period(period) if period else None,
        **kw,
    )


def replies(request: AuditRequest) -> dict[str, dict[str, summary.Reply]]:
    run = run_audit(request)
    return {
        p.pipeline: {r.question.key: r for r in p.replies}
        for p in summary.pages(run.assessment, summary.sla_reports(run))
    }


def pdf_text(path: Path) -> str:
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext (poppler) is not installed")
    out = subprocess.run([exe, str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples' pack without the PDFs (test_pack.py renders them), signed."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
    out = tmp_path_factory.mktemp("summary") / "pack"
    key = out.parent / "pack.key"
    key.write_text(SIGNER.text())
    r = runner.invoke(
        app, ["report", str(SAMPLES), "-o", str(out), "--no-pdf", "--sign-key", str(key)]
    )
    mp.undo()
    assert r.exit_code == ExitCode.FINDINGS, r.output
    return out


def test_the_summary_comes_first_in_the_pack_signed_and_verified(
    pack: Path, tmp_path: Path
) -> None:
    sums = (pack / "SHA256SUMS").read_text()
    assert re.search(r"^[0-9a-f]{64}  summary\.html$", sums, re.M)
    html = (pack / "evidence.html").read_text()
    cover, first, detail = (
        html.index('id="cover"'),
        html.index('id="glance-1"'),
        html.index('<section id="summary"'),
    )
    assert cover < first < detail  # first after the cover, before the detail, which stays
    assert html.count('<section class="glance"') == 4  # one page per pipeline
    for name in ("loan-assessment", "loan-assessment-hardened", "support-refunds"):
        assert f"<h2>{name}: at a glance</h2>" in html
    ok = runner.invoke(app, ["report", "verify", str(pack), "--key", SIGNER.verifier.text()])
    assert ok.exit_code == 0 and "ok summary.html" in ok.stdout, ok.stdout
    copy = tmp_path / "copy"
    shutil.copytree(pack, copy)
    page = copy / "summary.html"
    page.write_text(page.read_text().replace(">no<", ">yes<", 1))
    bad = runner.invoke(app, ["report", "verify", str(copy), "--key", SIGNER.verifier.text()])
    assert bad.exit_code == ExitCode.FINDINGS and "CHANGED summary.html" in bad.stdout


def test_every_link_leads_into_the_detail(pack: Path) -> None:
    html = (pack / "evidence.html").read_text()
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    start, end = html.index('id="glance-1"'), html.index('<section id="summary"')
    inside = re.findall(r'href="#([^"]+)"', html[start:end])
    assert inside and set(inside) <= ids
    alone = (pack / "summary.html").read_text()
    outside = re.findall(r'href="([^"]+)"', alone)
    assert outside and all(h.startswith("evidence.html#") for h in outside)
    assert {h.partition("#")[2] for h in outside} <= ids
    assert "<script" not in alone.lower()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', alone)
    assert csp and "default-src 'none'" in unescape(csp.group(1))
    assert "style-src 'sha256-" in unescape(csp.group(1)) and not re.search(r"\sstyle=", alone)


def test_each_question_is_answered_with_a_reason_on_the_samples() -> None:
    got = replies(AuditRequest((SAMPLES,)))
    assert len(got) == 4
    for pipeline in got.values():
        assert [k for k in pipeline] == [q.key for q in summary.QUESTIONS]
        for r in pipeline.values():
            assert r.answer in ANSWERS and r.reason, r
            assert r.answer == "n/a" or r.links
    loan = got["loan-assessment"]
    assert {r.answer for r in loan.values()} == {"no"}
    assert "seq 522" in loan["access"].reason and "HA-202" in loan["access"].reason
    assert "HA-108" in loan["slo"].reason
    # the hardened trail, its key not pinned: nothing is proven, and each says why
    hardened = got["loan-assessment-hardened"]
    assert {r.answer for r in hardened.values()} == {"not_proven"}
    assert all("not pinned" in r.reason for r in hardened.values())
    assert "captured at the source" in hardened["recorded"].reason
    assert got["market-research"]["gated"].answer == "n/a"
    assert "HA-206" in got["market-research"]["access"].reason
    refunds = got["support-refunds"]
    assert refunds["access"].answer == "no" and "partner_webhook" in refunds["access"].reason
    assert refunds["gated"].answer == "no" and "close_account" in refunds["gated"].reason


def test_a_pipeline_with_no_trail_is_a_design_review_never_a_yes() -> None:
    got = replies(AuditRequest((SAMPLES,), use_trails=False))
    hardened = got["loan-assessment-hardened"]
    assert {r.answer for r in hardened.values()} == {"not_proven"}
    for r in hardened.values():
        assert r.reason.startswith("design review: the manifest declares it"), r.reason
    assert {r.answer for r in got["loan-assessment"].values()} == {"no"}  # declared failures
    assert not any(r.answer == "yes" for p in got.values() for r in p.values())


def test_the_hardened_sample_pinned_over_a_covered_period_answers_yes() -> None:
    h = replies(pinned())["loan-assessment-hardened"]
    for key in ("recorded", "access", "verified", "gated", "costs"):
        assert h[key].answer == "yes", h[key]
        assert "pinned key harness-audit/loan-assessment-hardened+be820b21" in h[key].reason
        assert "no exception" in h[key].reason
    assert "recorded since 2026-09-01T08:00:00Z" in h["recorded"].reason
    assert "captured at the source (anchor signed 2026-09-02T06:45:23Z)" in h["recorded"].reason
    assert "786 trail events" in h["recorded"].reason
    assert "1 attempt(s) refused by the harness" in h["access"].reason
    assert f"over the declared period {COVERED}" in h["access"].reason
    # 30 runs cannot show a stage at 0.9998: the SLA section says "not enough data"; so does this
    assert h["slo"].answer == "not_proven"
    assert "0.999922 meets the target 0.999" in h["slo"].reason
    assert "not enough data" in h["slo"].reason and "more runs" in h["slo"].reason
    assert h["slo"].links[0].anchor == "sla"


def test_a_period_the_trail_does_not_cover_proves_nothing() -> None:
    h = replies(pinned(UNCOVERED))["loan-assessment-hardened"]
    assert {r.answer for r in h.values()} == {"not_proven"}
    assert all("coverage gap" in r.reason for r in h.values())


def test_a_trail_sealed_after_the_fact_says_so_and_is_not_a_yes() -> None:
    h = replies(pinned(sealed_late_after_s=0.1))["loan-assessment-hardened"]
    assert h["recorded"].answer == "not_proven"
    assert "sealed" in h["recorded"].reason and "captured at the source" not in (
        h["recorded"].reason
    )
    assert h["access"].answer == "yes"  # the other controls stand, on imported evidence


def test_an_answer_is_never_kinder_than_the_checks() -> None:
    """Read off the checks: a yes only when every applicable agent passed on trails; any fail
    is a no; any not proven is at best not proven."""
    for request in (
        AuditRequest((SAMPLES,)),
        AuditRequest((SAMPLES,), use_trails=False),
        pinned(),
        pinned(UNCOVERED),
    ):
        run = run_audit(request)
        for p in run.assessment.pipelines:
            for q in summary.QUESTIONS:
                r = summary.answer(p, q, summary.sla_reports(run)[p.pipeline.name])
                statuses = {a.checks[c].status for a in p.agents for c in q.checks}
                if "fail" in statuses:
                    assert r.answer == "no", (p.pipeline.name, q.key)
                elif "not_proven" in statuses:
                    assert r.answer in ("no", "not_proven"), (p.pipeline.name, q.key)
                if r.answer == "yes":
                    assert p.evidence is not None and statuses <= {"pass", "n/a"}
                    assert p.evidence.trust is not None and p.evidence.trust.pinned


def test_a_listed_human_means_one_is_listed(tmp_path: Path) -> None:
    """A gate that names no approvers passes the check (with HA-006) but cannot answer yes to
    "gated by a listed human"."""
    data = yaml.safe_load((HARDENED / "harness.yaml").read_text())
    for a in data["agents"]:
        for t in a.get("tools", []):
            if isinstance(t.get("human_gate"), dict):
                t["human_gate"].pop("approvers", None)
    (tmp_path / "harness.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    shutil.copytree(HARDENED / "trails", tmp_path / "trails")
    request = dataclasses.replace(pinned(), paths=(tmp_path,))
    gated = replies(request)["loan-assessment-hardened"]["gated"]
    assert gated.answer == "not_proven" and "no approvers named" in gated.reason


def test_one_page_per_pipeline_and_untrusted_text_is_escaped(tmp_path: Path) -> None:
    import weasyprint

    run = run_audit(AuditRequest((SAMPLES,)))
    hostile = "<script>alert(1)</script>" + "x" * 300
    p0 = run.assessment.pipelines[0]
    renamed = dataclasses.replace(p0, pipeline=dataclasses.replace(p0.pipeline, name=hostile))
    assessment = dataclasses.replace(
        run.assessment, pipelines=(renamed, *run.assessment.pipelines[1:])
    )
    pages = summary.pages(assessment, summary.sla_reports(run))
    html = summary.render_html(pages, dt.datetime(2026, 9, 21, tzinfo=dt.UTC))
    assert "<script>" not in html and "&lt;script&gt;" in html
    doc = weasyprint.HTML(string=html).render()
    assert len(doc.pages) == len(pages) == 4


def test_summary_only_writes_the_pdf_alone(tmp_path: Path) -> None:
    out = tmp_path / "filed" / "summary.pdf"
    args = ["report", str(HARDENED), "--key", str(KEY), "--period", COVERED]
    r = runner.invoke(app, [*args, "--summary-only", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.parent.iterdir()) == ["summary.pdf"]
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    assert "loan-assessment-hardened: at a glance" in text
    for q in summary.QUESTIONS:
        assert q.text in text
    assert text.count(" yes ") >= 5 and "not proven" in text
    assert "page 1 of 1" in text  # one pipeline, one page
    assert "captured at the source" in text


def test_summary_only_refuses_what_it_does_not_write(tmp_path: Path) -> None:
    base = ["report", str(HARDENED), "--summary-only"]
    for extra in (
        ["--no-pdf"],
        ["--sign-key", str(tmp_path / "k.key")],
        ["--population-out", str(tmp_path / "pop")],
    ):
        r = runner.invoke(app, [*base, "-o", str(tmp_path / "s.pdf"), *extra])
        assert r.exit_code == ExitCode.USAGE and extra[0] in r.output, r.output
    folder = runner.invoke(app, [*base, "-o", str(tmp_path)])
    assert folder.exit_code == ExitCode.USAGE and "names the PDF file" in folder.output
    manifest = HARDENED / "harness.yaml"
    before = manifest.read_bytes()
    clash = runner.invoke(app, [*base, "-o", str(manifest)])
    assert clash.exit_code == ExitCode.USAGE and manifest.read_bytes() == before
    assert not list(tmp_path.glob("*.pdf"))


def test_the_signed_pack_of_the_hardened_sample_opens_on_its_page(tmp_path: Path) -> None:
    """With PDFs: summary.pdf is the page alone; evidence.pdf has it right after the cover."""
    out = tmp_path / "pack"
    key = tmp_path / "pack.key"
    key.write_text(SIGNER.text())
    args = ["report", str(HARDENED), "--key", str(KEY), "--period", COVERED]
    r = runner.invoke(app, [*args, "-o", str(out), "--sign-key", str(key)])
    assert r.exit_code == 0, r.output
    assert r.output.index("summary.html") < r.output.index("evidence.html")
    alone = pdf_text(out / "summary.pdf")
    assert "page 1 of 1" in alone and "at a glance" in alone and " yes " in alone
    exe = shutil.which("pdftotext")
    assert exe is not None
    page2 = subprocess.run(
        [exe, "-f", "2", "-l", "2", str(out / "evidence.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "loan-assessment-hardened: at a glance" in page2
    assert "Is every decision recorded" in " ".join(page2.split())
    ok = runner.invoke(app, ["report", "verify", str(out), "--key", SIGNER.verifier.text()])
    assert ok.exit_code == 0 and "ok summary.pdf" in ok.stdout


def test_a_waived_no_stays_a_no_and_says_it_was_waived() -> None:
    run = run_audit(AuditRequest((SAMPLES / "support-refunds",)))
    p = run.assessment.pipelines[0]
    waived = dataclasses.replace(
        p,
        findings=tuple(
            dataclasses.replace(f, waived="accepted until the partner signs (SEC-1)")
            if f.check == "access_enforced_at_harness"
            else f
            for f in p.findings
        ),
    )
    access = summary.QUESTIONS[1]
    r = summary.answer(waived, access, summary.sla_reports(run)[p.pipeline.name])
    assert r.answer == "no" and "waived" in r.reason and "does not remove it" in r.reason
