"""Issue 22, items 3 and 4, and issue 23, item 18: the work paper concludes only what it
tested, and everything the auditor re-performs from is inside the pack's signature.

- Populations count every event of the control, also on an unanchored trail, and a CSV is
  written for every control whose population is events, failing pipelines included.
- The CSVs are in the pack (``populations/``), listed in SHA256SUMS and checked by
  ``report verify``, which names a file or folder added anywhere and refuses a SHA256SUMS that
  is not what was signed; a refused ``report`` leaves nothing.
- Sample rows point at the event that evidences the control (the approval, the verification).
- ``report resample`` draws the auditor's own sample from the signed CSVs.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode
from harness_audit.evidence.population import draw

from .conftest import SAMPLES
from .test_pack import build
from .trailkit import OTHER, SIGNER

HARDENED = SAMPLES / "loan-assessment-hardened"
HARDENED_KEY = HARDENED / "keys" / "trail.pub"
HEAD = "seq,ts,run,span,file,line,anchored,evidence_seq,evidence_file,evidence_line"


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mp = pytest.MonkeyPatch()
    out = tmp_path_factory.mktemp("pops") / "pack"
    r = build(out, str(SAMPLES), "--no-pdf", "--key", str(HARDENED_KEY), monkeypatch=mp)
    mp.undo()
    assert r.exit_code == ExitCode.FINDINGS, r.output
    return out


def _workpaper(pack: Path) -> dict[str, list[dict[str, object]]]:
    data = json.loads((pack / "findings.json").read_text())
    out: dict[str, list[dict[str, object]]] = data["workpaper"]["pipelines"]
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# -- item 3: populations on unanchored trails, a CSV for every control -------------------------


def test_unanchored_trail_populations_count_every_event(pack: Path) -> None:
    """loan-assessment's trail has no trusted checkpoint: its populations list every event of
    each control (they were 0 or 1 before), marked unanchored, and conclude "not tested"."""
    trail = SAMPLES / "loan-assessment" / "trails" / "trail-000001.jsonl"
    events = [json.loads(x) for x in trail.read_text().splitlines() if x.strip()]
    own = sum(1 for e in events if e.get("agent") == "credit_risk")
    entries = {c["control"]: c for c in _workpaper(pack)["loan-assessment"]}
    c = entries["credit_risk/has_audit_trail"]
    assert c["population"] == own > 1
    rows = _rows(pack / str(c["csv"]))
    assert len(rows) == own and {r["anchored"] for r in rows} == {"no"}
    assert str(c["conclusion"]).startswith(("not tested: ", "exceptions noted: "))


def test_a_csv_for_every_control_failing_pipelines_included(pack: Path) -> None:
    from harness_audit.checks.registry import REGISTRY

    with_rows = {n for n, s in REGISTRY.items() if s.rows}
    assert with_rows == {
        "has_audit_trail",
        "access_enforced_at_harness",
        "budget_cap_enforced",
        "independent_verification",
        "human_gate_for_destructive_ops",
    }
    for name, entries in _workpaper(pack).items():
        for c in entries:
            if c["check"] in with_rows:
                assert c["csv"], (name, c["control"])
                lines = (pack / str(c["csv"])).read_text().splitlines()
                assert lines[0] == HEAD and len(lines) - 1 == c["population"]


def test_no_exceptions_noted_only_on_a_tested_sample(pack: Path) -> None:
    for entries in _workpaper(pack).values():
        for c in entries:
            if c["conclusion"] == "no exceptions noted":
                assert isinstance(c["population"], int) and c["population"] > 0
                if c["csv"]:
                    sample = c["sample"]
                    assert isinstance(sample, dict) and sample["rows"], c["control"]
    hardened = {c["control"]: c for c in _workpaper(pack)["loan-assessment-hardened"]}
    assert hardened["notify/human_gate_for_destructive_ops"]["conclusion"] == (
        "no exceptions noted"
    )


def test_an_empty_population_is_never_a_clean_conclusion() -> None:
    from harness_audit.evidence.model import Control
    from harness_audit.evidence.population import Sample
    from harness_audit.report.workpaper import _clean_conclusion

    empty = Sample("a/has_audit_trail", 0, 0, [], {})
    assert _clean_conclusion(empty, None, True) == "not tested: the population is empty"
    unsampled = Sample("a/has_audit_trail", 3, 0, [], {"2026-09": (3, 0)})
    assert _clean_conclusion(unsampled, None, True).startswith("not tested: no sample")
    whole = Control(operated=4)
    assert _clean_conclusion(None, whole, False) == "no exceptions noted"
    assert _clean_conclusion(None, Control(), False).startswith("not tested")


# -- item 4: inside the signature, rows that point at the evidence -----------------------------


def test_gate_rows_point_at_the_approval(pack: Path) -> None:
    entries = {c["control"]: c for c in _workpaper(pack)["loan-assessment-hardened"]}
    c = entries["notify/human_gate_for_destructive_ops"]
    rows = _rows(pack / str(c["csv"]))
    assert rows and all(r["evidence_seq"] for r in rows)
    lines = Path(rows[0]["evidence_file"]).read_text().splitlines()
    for r in rows:
        approval = json.loads(lines[int(r["evidence_line"]) - 1])
        assert approval["kind"] == "approval" and approval["verdict"] == "approved"
        assert approval["seq"] == int(r["evidence_seq"]) and approval["target"] == r["span"]
    verified = entries["notify/independent_verification"]
    for r in _rows(pack / str(verified["csv"])):
        ev = json.loads(lines[int(r["evidence_line"]) - 1]) if r["evidence_seq"] else None
        assert ev is None or (ev["kind"] == "verification" and ev["target"] == r["span"])
    html = (pack / "evidence.html").read_text()
    assert "evidenced by seq " in html


def test_report_verify_checks_the_population_csvs(tmp_path: Path, pack: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(pack, copy)
    key = SIGNER.verifier.text()

    def verify() -> list[str]:
        r = CliRunner().invoke(app, ["report", "verify", str(copy), "--key", key])
        assert r.exit_code in (ExitCode.OK, ExitCode.FINDINGS), r.output
        return r.stdout.splitlines()

    assert verify()[-1] == "pack: VERIFIED"
    first, second = sorted((copy / "populations").glob("*.csv"))[:2]
    first.write_text(first.read_text() + "999,2026-09-01T00:00:00Z,forged,x,y,1,yes,,,\n")
    second.unlink()
    (copy / "populations" / "later.csv").write_text(HEAD + "\n")
    (copy / "extra" / "deeper").mkdir(parents=True)
    out = verify()
    assert out[-1] == "pack: FAILED"
    assert f"CHANGED populations/{first.name}" in out
    assert f"REMOVED populations/{second.name}" in out
    assert "ADDED populations/later.csv" in out
    assert "ADDED extra/deeper/" in out


def test_report_verify_added_sub_folder_and_link(tmp_path: Path, pack: Path) -> None:
    """Issue 23, item 18: an added sub-folder (even empty) or link is named, never VERIFIED."""
    for extra in ("folder", "link"):
        copy = tmp_path / extra
        shutil.copytree(pack, copy)
        if extra == "folder":
            (copy / "notes").mkdir()
        else:
            (copy / "populations" / "alias.csv").symlink_to(copy / "findings.json")
        r = CliRunner().invoke(
            app, ["report", "verify", str(copy), "--key", SIGNER.verifier.text()]
        )
        assert r.exit_code == ExitCode.FINDINGS, r.output
        assert "pack: FAILED" in r.stdout
        assert ("ADDED notes/" if extra == "folder" else "ADDED populations/alias.csv") in r.stdout


@pytest.mark.parametrize(
    "tail", [b"\xff\xfe not text\n", b"0" * 64 + b"  ../../etc/passwd\n", b"no two spaces\n"]
)
def test_report_verify_sums_not_what_was_signed(tmp_path: Path, pack: Path, tail: bytes) -> None:
    """Issue 23, item 18: a SHA256SUMS that is not UTF-8 or lists a path outside the pack is
    changed (its signature fails) and malformed (exit 1, FAILED), never an internal error."""
    copy = tmp_path / "copy"
    shutil.copytree(pack, copy)
    with (copy / "SHA256SUMS").open("ab") as f:
        f.write(tail)
    r = CliRunner().invoke(app, ["report", "verify", str(copy), "--key", SIGNER.verifier.text()])
    assert r.exit_code == ExitCode.FINDINGS, r.output
    assert "CHANGED SHA256SUMS" in r.stdout and "MALFORMED SHA256SUMS: line " in r.stdout
    assert r.stdout.rstrip().endswith("pack: FAILED")
    assert "Traceback" not in r.output


def test_a_refused_report_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "pack"
    r = build(
        out,
        str(SAMPLES / "support-refunds"),
        "--no-pdf",
        "--population-out",
        str(out / "pop"),
        monkeypatch=monkeypatch,
    )
    assert r.exit_code == ExitCode.USAGE and "inside the pack" in r.output
    assert not out.exists()
    blocked = tmp_path / "busy"
    blocked.mkdir()
    (blocked / "mine.txt").write_text("not a pack")
    r = build(
        blocked,
        str(SAMPLES / "support-refunds"),
        "--no-pdf",
        "--population-out",
        str(tmp_path / "pop"),
        monkeypatch=monkeypatch,
    )
    assert r.exit_code == ExitCode.USAGE
    assert not (tmp_path / "pop").exists()  # the pack was refused before any write
    assert [p.name for p in blocked.iterdir()] == ["mine.txt"]


# -- item 4: report resample ---------------------------------------------------------------------


def test_resample_draws_from_the_signed_csvs(pack: Path) -> None:
    before = _tree(pack)
    r = CliRunner().invoke(
        app,
        [
            "report",
            "resample",
            str(pack),
            "--seed",
            "20261207",
            "--size",
            "3",
            "--key",
            SIGNER.verifier.text(),
        ],
    )
    assert r.exit_code == ExitCode.OK, r.output
    assert _tree(pack) == before  # writes nothing into the pack
    got = list(csv.DictReader(r.stdout.splitlines()))
    assert got and set(got[0]) == {"csv", "seq", "run", "ts"}
    controls = {
        str(c["csv"]): str(c["control"])
        for entries in _workpaper(pack).values()
        for c in entries
        if c["csv"]
    }
    expected = []
    for name in sorted(controls):
        for row in draw(pack / name, 3, 20261207, controls[name]).rows:
            expected.append({"csv": name, "seq": row["seq"], "run": row["run"], "ts": row["ts"]})
    assert got == expected
    assert "signature verified" in r.output


def test_resample_refuses_a_pack_that_does_not_verify(tmp_path: Path, pack: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(pack, copy)
    victim = sorted((copy / "populations").glob("*.csv"))[0]
    victim.write_text(HEAD + "\n")
    for key in ([SIGNER.verifier.text()], []):
        args = ["report", "resample", str(copy), "--seed", "1", "--size", "2"]
        r = CliRunner().invoke(app, args + (["--key", *key] if key else []))
        assert r.exit_code == ExitCode.USAGE, r.output
        assert "Traceback" not in r.output and not r.stdout.strip()
    wrong = CliRunner().invoke(
        app,
        ["report", "resample", str(pack), "--seed", "1", "--key", OTHER.verifier.text()],
    )
    assert wrong.exit_code == ExitCode.USAGE and "does not verify" in wrong.output
