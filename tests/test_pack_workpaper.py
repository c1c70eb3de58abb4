"""The evidence pack as a work paper (issue 16): key provenance, exceptions shown "20 of N",
the period and its gaps, re-performable samples, per-pipeline conclusions, AIUC-1."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

from harness_audit.errors import ExitCode

from .conftest import SAMPLES
from .test_pack import build


@pytest.fixture(scope="module")
def wp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mp = pytest.MonkeyPatch()
    out = tmp_path_factory.mktemp("wp") / "pack"
    r = build(out, str(SAMPLES), "--no-pdf", monkeypatch=mp)
    mp.undo()
    assert r.exit_code == ExitCode.FINDINGS, r.output
    return out


def text(pack: Path) -> str:
    """evidence.html as plain text, tags dropped."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", (pack / "evidence.html").read_text())).split())


def test_unpinned_key_is_named_and_caveated(wp: Path) -> None:
    t = text(wp)
    assert "verified with the manifest's own key (not pinned)" in t
    cover = t.split("Contents")[0]
    assert (
        "Caveat" in cover
        and "support-refunds are verified with the manifest's own key (not pinned)" in cover
    )
    assert "Witnesses 0 cosigning witness(es)" in t
    assert re.search(r"Unanchored events [0-9,]+ event\(s\) after the newest trusted", t)


def test_exceptions_past_twenty_say_how_many_and_where(wp: Path) -> None:
    t = text(wp)
    found = re.findall(r"20 of ([0-9,]+) shown; findings\.json holds all ([0-9,]+) kept", t)
    assert found and all(int(n.replace(",", "")) > 20 for n, _ in found)
    data = json.loads((wp / "findings.json").read_text())
    kept = [
        len(c["evidence"]["failures"])
        for p in data["pipelines"]
        for a in p["agents"]
        for c in a["checks"].values()
        if "evidence" in c
    ]
    assert max(kept) == max(int(n.replace(",", "")) for n, _ in found)


# -- the period, its gaps, and samples re-performed from the population CSVs ------------------


def _redraw(csv_path: Path, n: int, seed: int, control: str) -> list[dict[str, str]]:
    """The method as the pack's README.txt states it, written again here (not imported)."""
    import csv
    import datetime as dt
    import random

    rows = list(csv.DictReader(csv_path.open(encoding="utf-8", newline="")))

    def month(ts: str) -> str:
        try:
            t = dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(dt.UTC)
        except ValueError:
            return "unknown"
        return t.strftime("%Y-%m")

    by: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by.setdefault(month(r["ts"]), []).append(r)
    total = len(rows)
    n = min(n, total)
    k = {m: n * len(v) // total for m, v in by.items()}
    left = n - sum(k.values())
    for m in sorted(by, key=lambda m: (-(n * len(by[m]) % total), m))[:left]:
        k[m] += 1
    chosen = []
    for m in sorted(by):
        picks = random.Random(f"{seed}:{control}:{m}").sample(range(len(by[m])), k[m])
        chosen += [by[m][i] for i in picks]
    order = {id(r): i for i, r in enumerate(rows)}
    return sorted(chosen, key=lambda r: order[id(r)])


def _holey(tmp: Path) -> Path:
    """A pipeline whose trail has events in January and from late May, nothing between."""
    from harness_audit.trail.writer import TrailWriter

    from .trailkit import SIGNER, event, pub

    folder = tmp / "holey"
    folder.mkdir()
    text = (SAMPLES / "loan-assessment-hardened" / "harness.yaml").read_text()
    (folder / "harness.yaml").write_text(text.replace("keys/trail.pub", "key.pub"))
    pub(folder)
    days = (
        [f"2026-01-{d:02d}" for d in range(5, 29)]
        + [f"2026-05-{d:02d}" for d in range(25, 32)]
        + [f"2026-06-{d:02d}" for d in range(1, 29)]
    )
    with TrailWriter(folder / "trails", "harness-audit/test", SIGNER, checkpoint_every=50) as w:
        i = 0
        for day in days:
            for h in (9, 15):
                for _ in range(2):
                    w.append(event(i) | {"ts": f"{day}T{h:02d}:{i % 60:02d}:00.000Z"})
                    i += 1
    return folder


@pytest.fixture(scope="module")
def holey(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("holey")
    folder = _holey(tmp)
    mp = pytest.MonkeyPatch()
    out, pop = tmp / "pack", tmp / "pop"
    r = build(
        out,
        str(folder),
        "--no-pdf",
        "--period",
        "2026-01-01..2026-06-30",
        "--population-out",
        str(pop),
        "--seed",
        "7",
        "--sample",
        "10",
        monkeypatch=mp,
    )
    mp.undo()
    assert r.exit_code in (ExitCode.OK, ExitCode.FINDINGS), r.output
    return out, pop


def test_a_four_month_hole_is_a_gap_with_its_dates(holey: tuple[Path, Path]) -> None:
    out, _ = holey
    data = json.loads((out / "findings.json").read_text())
    cov = data["pipelines"][0]["coverage"]
    assert cov["period"]["declared"] == "2026-01-01..2026-06-30"
    spans = [(g["from"][:10], g["to"][:10]) for g in cov["gaps"]]
    assert ("2026-01-28", "2026-05-25") in spans  # the hole, about four months
    assert ("2026-01-01", "2026-01-05") in spans  # the period starts before the trail
    assert ("2026-06-28", "2026-07-01") in spans  # and ends after it
    assert all(g["hours"] > 24 for g in cov["gaps"])
    gaps = [f for f in data["pipelines"][0]["findings"] if f["rule"] == "HA-209"]
    assert any("2026-01-28" in f["message"] and "2026-05-25" in f["message"] for f in gaps)
    cover = text(out).split("Contents")[0]
    assert "Declared: 2026-01-01..2026-06-30" in cover and "coverage gap(s)" in cover
    assert "2026-05-25" in cover


def test_events_outside_the_period_are_counted_not_judged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _holey(tmp_path)
    out = tmp_path / "p"
    r = build(
        out, str(folder), "--no-pdf", "--period", "2026-05-01..2026-06-30", monkeypatch=monkeypatch
    )
    assert r.exit_code in (ExitCode.OK, ExitCode.FINDINGS), r.output
    p = json.loads((out / "findings.json").read_text())["pipelines"][0]
    assert p["coverage"]["events_outside_period"] == 24 * 4
    assert p["coverage"]["events_in_period"] == (7 + 28) * 4
    trail = p["agents"][0]["checks"]["has_audit_trail"]["evidence"]
    assert trail["operated"] <= (7 + 28) * 4


def test_samples_are_re_performed_from_the_population_csv(
    holey: tuple[Path, Path], wp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _ = holey
    data = json.loads((out / "findings.json").read_text())["workpaper"]
    assert data["sampling"]["seed"] == 7 and "random.Random" in data["sampling"]["method"]
    checked = 0
    for entries in data["pipelines"].values():
        for c in entries:
            if c["sample"] is None:
                continue
            got = _redraw(out / c["csv"], c["sample"]["size"], 7, c["control"])
            assert got == c["sample"]["rows"], c["control"]
            checked += 1
            if c["population"] >= 10:
                months = {r["ts"][:7] for r in c["sample"]["rows"]}
                assert len(months) >= 2, (c["control"], months)  # spread across the period
    assert checked >= 3
    assert 'random.Random(f"{seed}:{control}:{m}")' in (out / "README.txt").read_text()
    # the table's sizes, without --sample: 1 for an automated control, by frequency for manual
    out2, pop2 = tmp_path / "p2", tmp_path / "pop2"
    r = build(
        out2,
        str(SAMPLES / "support-refunds"),
        "--no-pdf",
        "--population-out",
        str(pop2),
        monkeypatch=monkeypatch,
    )
    assert r.exit_code == ExitCode.FINDINGS, r.output
    entries = json.loads((out2 / "findings.json").read_text())["workpaper"]["pipelines"]
    sizes = {(c["nature"], c["sample"]["size"]) for c in entries["support-refunds"] if c["sample"]}
    assert ("automated", 1) in sizes and any(n == "manual" and s > 1 for n, s in sizes)
    for c in entries["support-refunds"]:
        if c["sample"]:
            assert (
                "rules/sampling.yaml" in c["sample"]["rationale"]
                or c["nature"] == "automated"
                or c["population"] == 0  # an empty population: nothing to sample
            )
            assert (
                _redraw(out2 / c["csv"], c["sample"]["size"], 0, c["control"])
                == c["sample"]["rows"]
            )


def test_population_csv_rows_are_the_population(holey: tuple[Path, Path]) -> None:
    out, pop = holey
    data = json.loads((out / "findings.json").read_text())
    for c in data["workpaper"]["pipelines"]["loan-assessment-hardened"]:
        if c["csv"]:
            lines = (out / c["csv"]).read_text().splitlines()
            head = "seq,ts,run,span,file,line,anchored,evidence_seq,evidence_file,evidence_line"
            assert lines[0] == head
            assert len(lines) - 1 == c["population"]
            assert (pop / c["csv"].removeprefix("populations/")).read_text() == "\n".join(
                lines
            ) + "\n"  # --population-out writes a copy of the pack's own


# -- per-pipeline conclusions, what the pack is not, frameworks, rendering -----------------------


def test_hardened_controls_conclude_no_exceptions(
    wp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 22: the hardened sample's controls conclude "no exceptions noted" only with its
    key pinned; with the manifest's own key each says "not tested: <reason>" (it said "no
    exceptions noted" before)."""
    data = json.loads((wp / "findings.json").read_text())["workpaper"]["pipelines"]
    hardened = data["loan-assessment-hardened"]
    assert not any(c["conclusion"] == "no exceptions noted" for c in hardened)
    untested = [c["conclusion"] for c in hardened if c["conclusion"] != "not applicable"]
    assert untested and all(x.startswith("not tested: ") and "not pinned" in x for x in untested)
    assert any(c["conclusion"].startswith("exceptions noted: ") for c in data["loan-assessment"])
    pinned = tmp_path / "pinned"
    key = SAMPLES / "loan-assessment-hardened" / "keys" / "trail.pub"
    r = build(
        pinned,
        str(SAMPLES / "loan-assessment-hardened"),
        "--key",
        str(key),
        "--no-pdf",
        monkeypatch=monkeypatch,
    )
    assert r.exit_code == ExitCode.OK, r.output
    got = json.loads((pinned / "findings.json").read_text())["workpaper"]["pipelines"]
    conclusions = [c["conclusion"] for c in got["loan-assessment-hardened"]]
    assert set(conclusions) <= {"no exceptions noted", "not applicable"}
    assert conclusions.count("no exceptions noted") >= 20
    html = (wp / "evidence.html").read_text()
    section = html.split('<section id="controls"')[1].split("</section>")[0]
    assert "<h3>loan-assessment-hardened</h3>" in section and "Across the pipelines" in section
    for c in hardened:
        for key in ("objective", "enforced", "frequency", "nature", "type", "tests"):
            assert c[key], (c["control"], key)


def test_exceptions_link_to_their_replay_excerpt(wp: Path) -> None:
    html = (wp / "evidence.html").read_text()
    links = set(re.findall(r'<a href="#(replay-[0-9a-f]{16})">', html))
    targets = set(re.findall(r'<h4 id="(replay-[0-9a-f]{16})">', html))
    assert links and links <= targets


def test_what_the_pack_is_not_and_sign_off(
    wp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = text(wp)
    limits = t.split("What this pack is not")[-1]
    for needle in (
        "description of the system",
        "assertion",
        "Complementary user entity controls",
        "carve-out",
        "anthropic",
        "Sign-off",
    ):
        assert needle in limits, needle
    assert "Prepared by Date Reviewed by Date" in limits  # blank without --preparer
    out = tmp_path / "p"
    build(
        out,
        str(SAMPLES / "support-refunds"),
        "--no-pdf",
        "--preparer",
        "A. Auditor",
        monkeypatch=monkeypatch,
    )
    assert "Prepared by A. Auditor Date 2026-09-21" in text(out)


def test_roles_and_the_sla_budget_column(wp: Path) -> None:
    t = text(wp)
    assert "assess credit risk from the bureau report and the application" in t
    assert "Allowed failures per 1M runs (budget)" in t


def test_aiuc1_mapping_against_the_data_file() -> None:
    from harness_audit.checks.catalogue import FRAMEWORK_ORDER, load_rulebook

    book = load_rulebook()
    fw = book.frameworks["aiuc_1"]
    wanted = {"E015", "B006", "D003", "C007", "C009", "E004", "A003"}
    assert set(fw.controls) == wanted and "aiuc_1" in FRAMEWORK_ORDER
    assert fw.facts["release"] == "2026-01-15" and fw.facts["source"].startswith(
        "https://www.aiuc-1.com/"
    )
    assert set(fw.facts["requirements"]) == wanted
    mapped = {c for r in book.rules.values() for c in r.mappings.get("aiuc_1", ())}
    assert mapped == wanted  # every requirement is tested by a rule, and nothing else is named
    by_check = {r.check: set(r.mappings.get("aiuc_1", ())) for r in book.rules.values() if r.check}
    assert "E015" in by_check["has_audit_trail"]
    assert "D003" in by_check["access_enforced_at_harness"]
    assert {"C007", "C009"} <= by_check["human_gate_for_destructive_ops"]


def test_owasp_agentic_top_10_is_the_december_2025_list() -> None:
    from harness_audit.checks.catalogue import load_rulebook

    fw = load_rulebook().frameworks["owasp_agentic_top10"]
    assert fw.controls == {
        "ASI01": "Agent Goal Hijack",
        "ASI02": "Tool Misuse and Exploitation",
        "ASI03": "Identity and Privilege Abuse",
        "ASI04": "Agentic Supply Chain Vulnerabilities",
        "ASI05": "Unexpected Code Execution (RCE)",
        "ASI06": "Memory and Context Poisoning",
        "ASI07": "Insecure Inter-Agent Communication",
        "ASI08": "Cascading Failures",
        "ASI09": "Human-Agent Trust Exploitation",
        "ASI10": "Rogue Agents",
    }
    assert fw.facts["release"] == "2025-12-09"


def test_eu_ai_act_defaults_to_the_omnibus_and_keeps_art_113(
    wp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = text(wp)
    assert (
        "Digital Omnibus on AI: Art. 50 2026-08-02, Annex III 2027-12-02, Annex I 2028-08-02"
        " (applied here)" in t
    )
    assert "16 June 2026" in t and "29 June 2026" in t
    out = tmp_path / "p"
    build(
        out,
        str(SAMPLES / "support-refunds"),
        "--no-pdf",
        "--ai-act-date",
        "art-113",
        monkeypatch=monkeypatch,
    )
    assert "Annex III 2026-08-02, Annex I 2027-08-02 (applied here)" in text(out)


def test_bad_period_and_gap_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for args in (
        ["--period", "2026-06-30..2026-01-01"],
        ["--period", "June"],
        ["--max-gap", "soon"],
    ):
        r = build(
            tmp_path / "o",
            str(SAMPLES / "support-refunds"),
            "--no-pdf",
            *args,
            monkeypatch=monkeypatch,
        )
        assert r.exit_code == ExitCode.USAGE, (args, r.output)
        assert not (tmp_path / "o").exists()
