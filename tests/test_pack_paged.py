"""evidence.pdf's source (issue 28, item 3): the control matrix once per pipeline across the
frameworks, each check or design rule once, with every fact of the per-framework matrices that
evidence.html and findings.json keep whole."""

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


def cross_rows(html: str) -> dict[str, dict[str, list[str]]]:
    """Per pipeline, each row of its matrix: first cell to the text of the others."""
    out: dict[str, dict[str, list[str]]] = {}
    for part in section(html).split("<h3>")[1:]:
        name, body = part.split("</h3>", 1)
        rows = out.setdefault(unescape(name), {})
        for r in re.findall(r"<tr><td>.*?</tr>", body, re.S):
            cells = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            assert cells[0] not in rows, f"{name}: {cells[0]} repeated"
            rows[cells[0]] = cells[1:]
    return out


def test_the_pdf_matrix_is_one_table_per_pipeline_each_check_once(
    paged: tuple[str, Path],
) -> None:
    html, pack = paged
    assert section(html).count('<table class="matrix cross">') == 4
    assert section(html).count('class="matrix"') == 0  # no per-framework table in the PDF
    rows = cross_rows(html)
    assert set(rows) == {
        "loan-assessment",
        "loan-assessment-hardened",
        "market-research",
        "support-refunds",
    }
    # evidence.html keeps one table per framework per pipeline
    full = section((pack / "evidence.html").read_text())
    assert full.count('<table class="matrix">') == 4 * 8 and "matrix cross" not in full


def test_every_criterion_control_and_deviation_count_of_the_json_is_in_the_pdf_matrix(
    paged: tuple[str, Path],
) -> None:
    html, pack = paged
    rows = cross_rows(html)
    criteria = json.loads((pack / "findings.json").read_text())["workpaper"]["criteria"]
    order = list(criteria)
    for fw, items in criteria.items():
        col = order.index(fw)
        for item in items:
            for name, x in item["pipelines"].items():
                for check in dict.fromkeys(item["tested_by"]):
                    cells = rows[name][check.replace("_", " ")]
                    assert item["id"] in cells[col].split(", "), (fw, item["id"], name, check)
                for check, agents in x["controls"].items():
                    for agent, conclusion in agents.items():
                        assert conclusion in cells_of(rows[name], check)[-2], (check, agent)
                        assert agent in cells_of(rows[name], check)[-2], (check, agent)
                if "applies" in x:
                    assert f"{x['applies']}: {x['why']}" in rows[name]["EU AI Act applies"][0]


def cells_of(rows: dict[str, list[str]], check: str) -> list[str]:
    return rows[check.replace("_", " ")]
