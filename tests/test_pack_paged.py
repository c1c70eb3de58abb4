"""evidence.pdf's source (issue 28, item 3): the control matrix's mapping of checks and design
rules to the criteria of every framework once, then per pipeline each check or rule once with
its agent controls counted by conclusion, its deviations and the EU AI Act articles that apply:
every fact of the per-framework matrices that evidence.html and findings.json keep whole, the
per-agent conclusions being the work paper's."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

import harness_audit.report.pack as pack_module
from harness_audit.errors import ExitCode

from .conftest import SAMPLES
from .test_pack import build


@pytest.fixture(scope="module")
def paged(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The HTML given to WeasyPrint (captured, not rendered) and the pack built beside it."""
    mp = pytest.MonkeyPatch()
    seen: list[str] = []

    def capture(html: str) -> bytes:
        seen.append(html)
        return b"%PDF-1.7\n"

    mp.setattr(pack_module, "render_pdf", capture)
    out = tmp_path_factory.mktemp("paged") / "pack"
    key = SAMPLES / "loan-assessment-hardened" / "keys" / "trail.pub"
    r = build(out, str(SAMPLES), "--key", str(key), monkeypatch=mp)
    mp.undo()
    assert r.exit_code == ExitCode.FINDINGS, r.output
    (html,) = [h for h in seen if 'id="controls"' in h]
    return html, out


def section(html: str) -> str:
    return html.split('<section id="controls"', 1)[1].split("<h3>Across the pipelines", 1)[0]


def text(cell: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split())


def tables(html: str) -> tuple[dict[str, list[str]], dict[str, dict[str, list[str]]]]:
    """The PDF's matrix: the mapping (first cell to the text of the others) and, per pipeline,
    each row of its matrix (the same)."""

    def rows(body: str, where: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in re.findall(r"<tr><td>.*?</tr>", body, re.S):
            cells = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            assert cells[0] not in out, f"{where}: {cells[0]} repeated"
            out[cells[0]] = cells[1:]
        return out

    first, *parts = section(html).split("<h3>")[1:]
    title, body = first.split("</h3>", 1)
    assert title == "Criteria per check or rule"
    mapping = rows(body, title)
    per = {}
    for part in parts:
        name, body = part.split("</h3>", 1)
        per[unescape(name)] = rows(body, name)
    return mapping, per


def test_the_pdf_matrix_maps_once_then_one_table_per_pipeline(
    paged: tuple[str, Path],
) -> None:
    html, pack = paged
    assert section(html).count('<table class="matrix map">') == 1
    assert section(html).count('<table class="matrix cross">') == 4
    assert section(html).count('class="matrix"') == 0  # no per-framework table in the PDF
    mapping, per = tables(html)
    assert set(per) == {
        "loan-assessment",
        "loan-assessment-hardened",
        "market-research",
        "support-refunds",
    }
    for name, rows in per.items():  # each pipeline's rows are checks or rules of the mapping
        assert set(rows) - {"EU AI Act applies"} <= set(mapping), name
    # evidence.html keeps one table per framework per pipeline
    full = section((pack / "evidence.html").read_text())
    assert full.count('<table class="matrix">') == 4 * 8
    assert "matrix cross" not in full and "matrix map" not in full


def test_every_criterion_conclusion_and_deviation_count_of_the_json_is_in_the_pdf_matrix(
    paged: tuple[str, Path],
) -> None:
    """Each criterion under each check that tests it in the mapping; per pipeline, each
    check's agent controls counted by conclusion as findings.json lists them (a "not tested"
    too), linked to the first such entry of the work paper; the EU AI Act rows."""
    html, pack = paged
    mapping, per = tables(html)
    criteria = json.loads((pack / "findings.json").read_text())["workpaper"]["criteria"]
    order = list(criteria)
    anchors = set(re.findall(r'<tr id="(wp-[0-9a-f]{16})">', html))
    links = re.findall(r'<a href="#(wp-[0-9a-f]{16})">', section(html))
    assert links and set(links) <= anchors
    seen_kinds = set()
    for fw, items in criteria.items():
        col = order.index(fw)
        for item in items:
            for check in dict.fromkeys(item["tested_by"]):
                cells = mapping[check.replace("_", " ")]
                assert item["id"] in cells[col].split(", "), (fw, item["id"], check)
            for name, x in item["pipelines"].items():
                for check, agents in x["controls"].items():
                    cell = per[name][check.replace("_", " ")][0]
                    kinds: dict[str, int] = {}
                    for conclusion in agents.values():
                        kind = conclusion.partition(":")[0]
                        kinds[kind] = kinds.get(kind, 0) + 1
                    s = "" if len(agents) == 1 else "s"
                    assert cell.startswith(f"{len(agents)} agent control{s}: "), (name, check)
                    listed = re.split(r"\s*,\s*", cell.split(": ", 1)[1])
                    assert sorted(listed) == sorted(f"{n} {k}" for k, n in kinds.items())
                    seen_kinds |= set(kinds)
                if "applies" in x:
                    assert f"{x['applies']}: {x['why']}" in per[name]["EU AI Act applies"][0]
    assert {"exceptions noted", "not tested", "no exceptions noted"} <= seen_kinds


def test_a_conclusion_of_a_kind_not_known_is_counted_not_dropped() -> None:
    from harness_audit.report.workpaper import conclusion_counts

    entries = [
        {"conclusion": c, "anchor": f"wp-{i}"}
        for i, c in enumerate(
            ["no exceptions noted", "something new: why", "not tested: no trails",
             "exceptions noted: 3", "not tested: the population is empty"]
        )
    ]  # fmt: skip
    assert conclusion_counts(entries) == [
        {"kind": "exceptions noted", "count": 1, "anchor": "wp-3"},
        {"kind": "not tested", "count": 2, "anchor": "wp-2"},
        {"kind": "no exceptions noted", "count": 1, "anchor": "wp-0"},
        {"kind": "something new", "count": 1, "anchor": "wp-1"},
    ]
