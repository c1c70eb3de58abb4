"""The evidence pack: content, reproducibility, signature and tamper checks, the PDF."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode

from .conftest import DATA, ROOT, SAMPLES
from .trailkit import SIGNER

EPOCH = "1790000000"  # 2026-09-21


def need(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is missing: .ci/run installs it")
        pytest.skip(f"{tool} is not installed")
    return exe


def build(out: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    key = out.parent / "pack.key"
    key.write_text(SIGNER.text())
    return CliRunner().invoke(app, ["report", *args, "-o", str(out), "--sign-key", str(key)])


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mp = pytest.MonkeyPatch()
    out = tmp_path_factory.mktemp("pack") / "pack"
    r = build(out, str(SAMPLES), monkeypatch=mp)
    mp.undo()
    assert r.exit_code == ExitCode.FINDINGS, r.output  # the samples have findings
    return out


def test_pack_files(pack: Path) -> None:
    names = sorted(p.name for p in pack.iterdir())
    assert names == [
        "README.txt",
        "SHA256SUMS",
        "SHA256SUMS.sig",
        "evidence.html",
        "evidence.pdf",
        "findings.json",
        "populations",
        "summary.html",  # issue 22 item 7: one page per pipeline, also first in evidence.*
        "summary.pdf",
    ]
    csvs = list((pack / "populations").glob("*.csv"))
    sums = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=pack, capture_output=True, text=True, check=False
    )
    # issue 22, item 4: the population CSVs are inside the signature, by their path in the pack
    assert csvs and sums.returncode == 0 and sums.stdout.count(": OK") == 6 + len(csvs)
    assert "populations/" in (pack / "SHA256SUMS").read_text()


def test_html_sections_and_numbers_match_the_scan(pack: Path) -> None:
    html = (pack / "evidence.html").read_text()
    for section in (
        "summary",
        "problems",
        "controls",
        "workpaper",
        "graph",
        "sla",
        "integrity",
        "runtime",
        "findings",
        "replay",
        "waivers",
        "limits",
        "appendix",
    ):
        assert f'<section id="{section}"' in html
    scan = json.loads(CliRunner().invoke(app, ["scan", str(SAMPLES), "-f", "json"]).stdout)
    findings = json.loads((pack / "findings.json").read_text())
    for a, b in zip(scan["pipelines"], findings["pipelines"], strict=True):
        assert (a["name"], a["score"], a["band"]) == (b["name"], b["score"], b["band"])
        assert f"<td>{a['name']}</td><td>{a['score']}</td>" in html
    assert html.count("<svg") >= 8  # a graph and a chart per pipeline
    assert "CC6.1" in html and "Art. 14(1)" in html and "LLM06:2025" in html
    assert "sample_pipelines/loan-assessment/harness.yaml" in html  # appendix with SHA-256
    assert re.search(r"[0-9a-f]{64}", html)


def test_html_is_self_contained_under_a_strict_csp(pack: Path) -> None:
    html = (pack / "evidence.html").read_text()
    found = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert found
    csp = unescape(found.group(1))  # the browser decodes the attribute
    assert "default-src 'none'" in csp and "script-src 'none'" in csp
    assert "unsafe-inline" not in csp and "style-src 'sha256-" in csp
    assert "<script" not in html.lower()
    assert not re.search(r"\s(src|srcset|action|formaction)=", html)
    assert not [h for h in re.findall(r'href="([^"]*)"', html) if not h.startswith("#")]
    assert not re.search(r"\sstyle=", html)  # the CSP's style hash covers only the <style>


def test_same_inputs_same_bytes(
    tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built again with --jobs 2 (the pipelines judged in two processes, the PDFs rendered in
    two), every file of the pack is the same, byte for byte, as with one."""
    again = tmp_path / "again"
    build(again, str(SAMPLES), "--jobs", "2", monkeypatch=monkeypatch)
    files = sorted(p.relative_to(pack) for p in pack.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert len([f for f in files if f.parts[0] == "populations"]) > 1
    for name in files:
        assert (again / name).read_bytes() == (pack / name).read_bytes(), name


def test_report_verify_names_what_changed(tmp_path: Path, pack: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(pack, copy)
    key = SIGNER.verifier.text()
    ok = CliRunner().invoke(app, ["report", "verify", str(copy), "--key", key])
    assert ok.exit_code == 0 and "pack: VERIFIED" in ok.stdout
    (copy / "evidence.html").write_text((copy / "evidence.html").read_text() + " ")
    (copy / "notes.txt").write_text("added later")
    (copy / "findings.json").unlink()
    bad = CliRunner().invoke(app, ["report", "verify", str(copy), "--key", key])
    assert bad.exit_code == ExitCode.FINDINGS
    assert {"CHANGED evidence.html", "ADDED notes.txt", "REMOVED findings.json"} <= set(
        bad.stdout.splitlines()
    )
    other = CliRunner().invoke(
        app,
        [
            "report",
            "verify",
            str(pack),
            "--key",
            "other+1e9c4a2b+AQ4nCJnhYfE8Z2wyUs4wGRgQcn1jL7Z3sd2xlvFl3Zc0",
        ],
    )
    assert other.exit_code in (ExitCode.FINDINGS, ExitCode.USAGE)


def test_sums_edited_after_signing(tmp_path: Path, pack: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(pack, copy)
    sums = copy / "SHA256SUMS"
    sums.write_text(sums.read_text().replace("evidence.pdf", "evidence.PDF"))
    r = CliRunner().invoke(app, ["report", "verify", str(copy), "--key", SIGNER.verifier.text()])
    assert r.exit_code == ExitCode.FINDINGS and "CHANGED SHA256SUMS" in r.stdout


def test_pdf_text_and_every_page_renders(pack: Path, tmp_path: Path) -> None:
    pdftotext, pdftoppm = need("pdftotext"), need("pdftoppm")
    text = subprocess.run(
        [pdftotext, str(pack / "evidence.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    for needle in (
        "loan-assessment",
        "support-refunds",
        "audit-will-fail",
        "CC6.1",
        "Art.14(1)",
        "A.6.2.8",
        "page1of",
        "Controlmatrix",
    ):
        assert needle in flat, needle
    pages = int(
        re.search(
            r"Pages:\s+(\d+)",
            subprocess.run(
                ["pdfinfo", str(pack / "evidence.pdf")], capture_output=True, text=True, check=True
            ).stdout,
        ).group(1)
    )  # type: ignore[union-attr]
    done = subprocess.run(
        [pdftoppm, "-r", "12", "-png", str(pack / "evidence.pdf"), str(tmp_path / "p")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and not done.stderr
    assert len(list(tmp_path.glob("p-*.png"))) == pages > 10


def test_findings_json_golden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "g"
    r = build(out, "sample_pipelines/loan-assessment", "--no-pdf", monkeypatch=monkeypatch)
    assert r.exit_code == ExitCode.FINDINGS, r.output
    got = json.loads((out / "findings.json").read_text())
    got["tool"]["version"] = "X"
    golden = DATA / "golden" / "loan-assessment.findings.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(json.dumps(got, indent=2) + "\n")
    assert got == json.loads(golden.read_text())


def test_report_needs_an_output_and_exits_2_on_bad_input(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["report", str(SAMPLES)])
    assert r.exit_code == ExitCode.USAGE and "--output" in r.stderr
    bad = CliRunner().invoke(app, ["report", str(tmp_path / "none"), "-o", str(tmp_path / "o")])
    assert bad.exit_code == ExitCode.USAGE and not (tmp_path / "o").exists()


def test_waivers_appear_in_the_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    w = tmp_path / "w.yaml"
    w.write_text(
        yaml.safe_dump(
            {
                "waivers": [
                    {
                        "rule": "HA-006",
                        "pipeline": "support-refunds",
                        "agent": "*",
                        "justification": "Refund approvals move to the new console in Q1.",
                        "owner": "support-eng@example.com",
                        "ticket": "RISK-77",
                        "expires": "2099-01-31",
                    }
                ]
            }
        )
    )
    out = tmp_path / "p"
    r = build(
        out,
        str(SAMPLES / "support-refunds"),
        "--no-pdf",
        "--waivers",
        str(w),
        monkeypatch=monkeypatch,
    )
    assert r.exit_code == ExitCode.FINDINGS, r.output
    html = (out / "evidence.html").read_text()
    assert "RISK-77" in html and "(waived: Refund approvals move" in html
    assert "active (" in html


def test_ai_act_date_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".harness-audit.yaml").write_text("ai-act-date: digital-omnibus\n")
    out = tmp_path / "p"
    build(out, str(SAMPLES / "support-refunds"), "--no-pdf", monkeypatch=monkeypatch)
    html = (out / "evidence.html").read_text()
    applied = html.split("(applied here)")[0].rsplit("<br>", 1)[-1]
    assert "2027-12-02" in applied and "2026-08-02" in html


def _recipe(text: str) -> str:
    """The shell recipe for checking SHA256SUMS.sig without this tool, as a document shows it."""
    if "```sh" in text:
        blocks = [b.split("```", 1)[0] for b in text.split("```sh\n")[1:]]
        return next(b for b in blocks if "openssl pkeyutl" in b)
    block = text.split("(OpenSSL 3)\n", 1)[1].split("\n\n", 2)[1]
    return "\n".join(line[4:] for line in block.splitlines())


@pytest.mark.parametrize("where", ["README.md", "pack README.txt"])
def test_the_openssl_recipe_checks_the_signature_without_this_tool(
    tmp_path: Path, where: str
) -> None:
    need("openssl")
    out = tmp_path / "pack"
    hardened = SAMPLES / "loan-assessment-hardened"
    key = str(hardened / "keys" / "trail.pub")  # issue 22: audit-ready only with it pinned
    r = build(out, str(hardened), "--key", key, "--no-pdf", monkeypatch=pytest.MonkeyPatch())
    assert r.exit_code == 0, r.output
    pub = tmp_path / "reports.pub"
    pub.write_text(SIGNER.verifier.text() + "\n")
    text = (
        (ROOT / "README.md").read_text()
        if where == "README.md"
        else (out / "README.txt").read_text()
    )
    script = _recipe(text)
    env = dict(os.environ, PUB=str(pub))
    ok = subprocess.run(
        ["bash", "-e", "-c", script], cwd=out, env=env, capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    assert "Signature Verified Successfully" in ok.stdout
    sums = (out / "SHA256SUMS").read_text()
    (out / "SHA256SUMS").write_text(sums.replace(sums[:8], "00000000", 1))  # rewrite the list
    bad = subprocess.run(
        ["bash", "-e", "-c", script], cwd=out, env=env, capture_output=True, text=True, check=False
    )
    assert bad.returncode != 0


def test_pdf_contents_entries_and_page_numbers_stand_apart(pack: Path) -> None:
    """Page 1 holds the contents; each entry's page number is its own word (issue 16: the
    two-column leader layout drew numbers over the next entry: "2̶6. Trail integrity")."""
    pdftotext = need("pdftotext")
    page1 = subprocess.run(
        [pdftotext, "-layout", "-f", "1", "-l", "1", str(pack / "evidence.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    html = (pack / "evidence.html").read_text()
    entries = re.findall(r'<td class="t"><a href="#[a-z]+">(\d+)\. ([^<]+)</a>', html)
    assert len(entries) == 13
    pages = []
    for n, title in entries:
        found = re.search(rf"(?<!\d){n}\. {re.escape(title)}\s+(\d+)(?=\s|$)", page1)
        assert found, (n, title)
        pages.append(int(found.group(1)))
    assert pages == sorted(pages) and pages[0] >= 2


def test_a_pipeline_too_large_to_draw_still_gets_its_pack(tmp_path: Path) -> None:
    import yaml

    from .conftest import base_manifest

    m = base_manifest()
    first = m["agents"][0]
    m["agents"] = [
        dict(first, id=f"a{i}", depends_on=[f"a{i - 1}"] if i else []) for i in range(1200)
    ]
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "harness.yaml").write_text(yaml.safe_dump(m))
    out = tmp_path / "pack"
    r = CliRunner().invoke(app, ["report", str(tmp_path / "big"), "-o", str(out), "--no-pdf"])
    assert r.exit_code in (0, 1), r.output
    assert "The graph is not drawn" in (out / "evidence.html").read_text()


def test_write_pack_writes_the_pack_and_the_populations(tmp_path: Path) -> None:
    from harness_audit.audit import AuditRequest
    from harness_audit.report.pack import PACK_FILES, write_pack

    run, files = write_pack(
        AuditRequest((SAMPLES / "support-refunds",)),
        tmp_path / "pack",
        pdf=False,
        population_out=tmp_path / "pop",
    )
    top = {n.partition("/")[0] for n in files}
    assert top <= set(PACK_FILES) and "evidence.pdf" not in files
    assert {p.name for p in (tmp_path / "pack").iterdir()} == top
    copies = {p.name: p.read_bytes() for p in (tmp_path / "pop").glob("*.csv")}
    assert run.trails and copies
    assert copies == {  # --population-out: a copy of the pack's own
        p.name: p.read_bytes() for p in (tmp_path / "pack" / "populations").glob("*.csv")
    }
