"""The format pages in ``docs/`` (issue 26, item 4) stay in the project and in step with the code:
every page is in the index, every relative link resolves (none leaves the repository), the
manifest example loads, and the names the code defines (event kinds and fields, problem kinds,
extension lines, JSON keys, CSV columns, import formats) are all on their page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness_audit.evidence.population import COLUMNS
from harness_audit.import_formats import DEFINITIONS, TRACES
from harness_audit.manifest import load_manifest
from harness_audit.report.verify_view import verify_dict
from harness_audit.trail import events
from harness_audit.trail.problem import ProblemKind
from harness_audit.trail.provenance import IMPORT_KEYWORD, SIGNED_KEYWORD
from harness_audit.trail.verify import verify_trail

from .conftest import ROOT, SAMPLES

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def text(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_every_page_is_in_the_index() -> None:
    index = text("README.md")
    names = {p.name for p in PAGES} - {"README.md"} | {"verify-trail.py"}
    assert names <= set(LINK.findall(index)), names - set(LINK.findall(index))


@pytest.mark.parametrize("page", [*PAGES, ROOT / "README.md"], ids=lambda p: p.name)
def test_relative_links_resolve_inside_the_repository(page: Path) -> None:
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        resolved = (page.parent / target).resolve()
        assert resolved.exists(), f"{page.name}: {target}"
        assert ROOT in resolved.parents or resolved == ROOT, f"{page.name}: {target} leaves"


def test_the_manifest_example_loads(tmp_path: Path) -> None:
    example = re.search(r"## 6\. An example\n\n```yaml\n(.*?)```", text("manifest.md"), re.S)
    assert example is not None
    (tmp_path / "harness.yaml").write_text(example.group(1), encoding="utf-8")
    assert load_manifest(tmp_path / "harness.yaml").name == "refunds"


def test_trail_page_names_every_kind_field_and_problem() -> None:
    page = text("trail.md")
    for kind in events.KINDS:
        assert f"`{kind.__struct_config__.tag}`" in page
        for field in kind.__struct_fields__:
            assert f"`{field}`" in page, (kind, field)
    for problem in ProblemKind.__args__:
        assert f"`{problem}`" in page, problem
    assert f"`{SIGNED_KEYWORD} " in page and f"`{IMPORT_KEYWORD} " in page


def test_cli_json_page_names_every_key_of_verify() -> None:
    page = text("cli-json.md")
    s = SAMPLES / "support-refunds"
    data = verify_dict(verify_trail([s / "trails"], [(s / "keys/trail.pub").read_text().strip()]))
    keys = {*data, *data["anchor"], *data["checkpoints"], *data["provenance"]}
    assert {k for k in keys if f"`{k}`" not in page and f'"{k}":' not in page} == set()


def test_pack_page_names_every_population_column() -> None:
    page = text("evidence-pack.md")
    assert all(f"`{c}`" in page for c in COLUMNS)


def test_import_page_names_every_format() -> None:
    page = text("import-mappings.md")
    assert all(f"`{name}`" in page for name, _ in (*TRACES, *DEFINITIONS))
