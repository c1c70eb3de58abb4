"""evidence.pdf is bounded by pipelines x controls (issue 28, item 3): the same pipeline with 20
or 1,000 exceptions of a control gives a PDF of the same pages; the PDF lists the first
exceptions of each control and names, with its SHA-256, the file of the signed pack that lists
them all; the pack still verifies."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode
from harness_audit.report.workpaper import PDF_EXCEPTIONS_SHOWN

from .test_evidence import Trail, manifest_dict
from .test_pack import build, need
from .trailkit import SIGNER


def pipeline(folder: Path, bad_runs: int, name: str = "ev") -> Path:
    """A pipeline whose agent ``a`` pays, unapproved and unverified, in ``bad_runs`` runs
    (each an exception of its human gate and of its independent verification), between
    clean runs."""
    m = manifest_dict()
    m["metadata"]["name"] = name
    m["trail"] |= {"path": "trails/", "public_key": "k.pub"}
    folder.mkdir(parents=True)
    (folder / "harness.yaml").write_text(yaml.safe_dump(m, sort_keys=False))
    (folder / "k.pub").write_text(SIGNER.verifier.text() + "\n")
    t = Trail()
    t.clean_run("r-clean-0")
    for i in range(bad_runs):
        run = f"r{i}"
        t.add(run, "harness", "run_start", None, pipeline=name)
        t.add(run, "a", "model_call", model=manifest_dict()["agents"][0]["model"],
              input_tokens=1, output_tokens=1, cost_microusd=1000)  # fmt: skip
        t.add(run, "a", "tool_call", tool="pay", effect="destructive", scope="db:write",
              outcome="ok", args_digest="b" * 64)  # fmt: skip
        t.add(run, "harness", "run_end", pipeline="ev", outcome="ok")
    t.clean_run("r-clean-1")
    t.write(folder / "trails")
    return folder


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    found = re.search(r"Pages:\s+(\d+)", info.stdout)
    assert found is not None
    return int(found.group(1))


def flat_text(pdf: Path) -> str:
    """The PDF's text with every blank removed (a digest may wrap across lines)."""
    text = subprocess.run(
        [need("pdftotext"), str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return "".join(text.split())


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    need("pdfinfo")
    mp = pytest.MonkeyPatch()
    out = {}
    for n in (PDF_EXCEPTIONS_SHOWN * 2, 1000):
        base = tmp_path_factory.mktemp(f"bounded{n}")
        src = pipeline(base / "ev", n)
        out[n] = base / "pack"
        key = str(src / "k.pub")
        r = build(out[n], str(src), "--key", key, monkeypatch=mp)
        assert r.exit_code == ExitCode.FINDINGS, r.output
    mp.undo()
    return out


def test_the_pdf_does_not_grow_with_the_exceptions(packs: dict[int, Path]) -> None:
    few, many = packs[PDF_EXCEPTIONS_SHOWN * 2], packs[1000]
    gate = "human_gate_for_destructive_ops"
    for pack, n in ((few, PDF_EXCEPTIONS_SHOWN * 2), (many, 1000)):
        found = json.loads((pack / "findings.json").read_text())
        a = found["pipelines"][0]["agents"][0]
        assert a["checks"][gate]["evidence"]["failed"] == n  # the exceptions are all there
        assert len(a["checks"][gate]["evidence"]["failures"]) == n  # and all listed
    assert pages(few / "evidence.pdf") == pages(many / "evidence.pdf")
    # evidence.html keeps its listings: it grows with the runs the exceptions are in
    assert len((many / "evidence.html").read_bytes()) > len((few / "evidence.html").read_bytes())


def test_each_control_lists_its_first_exceptions_and_names_the_rest(
    packs: dict[int, Path],
) -> None:
    pack = packs[1000]
    text = flat_text(pack / "evidence.pdf")
    found = json.loads((pack / "findings.json").read_text())
    failures = found["pipelines"][0]["agents"][0]["checks"]["human_gate_for_destructive_ops"]
    locations = failures["evidence"]["failures"]
    # the first in trail order, up to the bound, the file named once, and not the next one
    assert len({x["file"] for x in locations}) == 1
    listed = (
        "".join(locations[0]["file"].split())
        + ":"
        + ";".join(f"line{x['line']}seq{x['seq']}" for x in locations[:PDF_EXCEPTIONS_SHOWN])
    )
    assert listed in text
    after = locations[PDF_EXCEPTIONS_SHOWN]
    assert f"line{after['line']}seq{after['seq']}" not in text
    more = f"{1000 - PDF_EXCEPTIONS_SHOWN:,}more:findings.json(sha256"
    assert more in text
    assert "summarises;thecompletepopulationandexceptionlistingsarethenamedfiles" in text


def test_every_file_the_pdf_names_is_in_the_pack_with_that_digest(
    packs: dict[int, Path],
) -> None:
    pack = packs[1000]
    text = flat_text(pack / "evidence.pdf")
    sums = dict(
        reversed(line.split("  ", 1)) for line in (pack / "SHA256SUMS").read_text().splitlines()
    )
    named = re.findall(r"(findings\.json|evidence\.html)\(sha256([0-9a-f]{64})\)", text)
    named += re.findall(r"(populations/[A-Za-z0-9_.-]+?\.csv),sha256([0-9a-f]{64})", text)
    assert {n for n, _ in named} >= {"findings.json", "evidence.html"}
    assert any(n.startswith("populations/") for n, _ in named)
    for name, digest in named:
        assert sums[name] == digest == hashlib.sha256((pack / name).read_bytes()).hexdigest()


def test_the_bounded_pack_still_verifies(packs: dict[int, Path]) -> None:
    for pack in packs.values():
        key = SIGNER.verifier.text()
        r = CliRunner().invoke(app, ["report", "verify", str(pack), "--key", key])
        assert r.exit_code == 0 and "pack: VERIFIED" in r.stdout, r.stdout


def test_the_pdf_bound_is_the_first_in_trail_order() -> None:
    """The exceptions the PDF lists are the control's first ones, as findings.json orders
    them, and the replay excerpts are the runs of each control's first exception."""
    from harness_audit.report.workpaper import pdf_excerpts

    class Loc:
        def __init__(self, run: str) -> None:
            self.run = run

    wp: dict[str, Any] = {
        "excerpts": {"p": [{"run": r} for r in ("r1", "r2", "r3")]},
        "controls": {"p": [{"shown": [Loc("r2"), Loc("r1")]}, {"shown": []}]},
    }
    assert pdf_excerpts(wp) == {"p": [{"run": "r2"}]}


def _drawn(tmp_path: Path, jobs: int) -> tuple[Any, dict[str, list[dict[str, Any]]]]:
    """The sample pipelines judged for a pack with ``jobs``: the run and its work paper."""
    from harness_audit.audit import AuditRequest, run_audit
    from harness_audit.report.workpaper import control_entries

    from .conftest import SAMPLES

    folder = tmp_path / f"jobs{jobs}"
    folder.mkdir()
    request = AuditRequest((SAMPLES,), seed=7, jobs=jobs, population_dir=folder, for_pack=True)
    run = run_audit(request)
    entries = control_entries(
        list(run.assessment.pipelines),
        {n: t.populations for n, t in run.trails.items()},
        {n: t.samples for n, t in run.trails.items()},
        7,
    )
    return run, entries


def test_the_samples_drawn_where_each_pipeline_is_judged_are_the_same(tmp_path: Path) -> None:
    """``report --jobs N`` draws each pipeline's samples in the process that judged it, as
    soon as it is judged (issue 28, item 3): the same samples and work paper as one after the
    other, each drawn from its own CSV by its seed string."""
    from harness_audit.evidence.population import draw

    run1, one = _drawn(tmp_path, 1)
    run2, two = _drawn(tmp_path, 2)
    assert len(run1.trails) == 4 and {n: t.samples for n, t in run2.trails.items()} == {
        n: t.samples for n, t in run1.trails.items()
    }
    assert two == one
    drawn = [(n, k, v) for n, t in run1.trails.items() for k, v in t.samples.items()]
    assert any(sample.rows for _, _, (_, _, sample) in drawn)
    for name, key, (size, _, sample) in drawn:  # re-performed from the CSV alone
        path = (
            run1.trails[name].populations
            / Path(next(c["csv"] for c in one[name] if c["control"] == key)).name
        )
        assert draw(path, size, 7, key) == sample


def test_a_pipeline_whose_process_failed_is_drawn_in_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipeline whose judging process fails is judged again in the parent (judge_all), and
    its samples drawn there too: the same work paper."""
    import os

    from harness_audit import audit

    _, one = _drawn(tmp_path, 1)
    parent, judge, here = os.getpid(), audit._judge, []

    def failing(request: Any, p: Any, paths: Any) -> Any:
        if os.getpid() == parent:
            here.append(p.name)  # a fallback: the pool's processes have their own list
        elif p.name == "loan-assessment":
            raise RuntimeError("this pipeline's process fails")
        return judge(request, p, paths)

    failing.__module__, failing.__qualname__ = audit.__name__, "_judge"  # pickled by name
    monkeypatch.setattr(audit, "_judge", failing)
    run, two = _drawn(tmp_path, 2)
    assert here == ["loan-assessment"]
    assert two == one and run.trails["loan-assessment"].samples


KINDS = "noexceptionsnoted|exceptionsnoted|nottested"
COUNTS = re.compile(rf"(\d+)agentcontrols?:(\d+(?:{KINDS})(?:,\d+(?:{KINDS}))*)")


def matrix_counts(text: str) -> list[tuple[int, tuple[tuple[str, int], ...]]]:
    """Each row of the PDF's per-pipeline matrices that has agent controls: how many, and the
    count of each conclusion (the PDF's text, blanks removed)."""
    out = []
    for total, counts in COUNTS.findall(text):
        kinds = re.findall(rf"(\d+)({KINDS})", counts)
        out.append((int(total), tuple(sorted((k, int(n)) for n, k in kinds))))
    return out


def expected_counts(found: dict[str, Any]) -> list[tuple[int, tuple[tuple[str, int], ...]]]:
    """The same from findings.json's full matrix: per pipeline and check in its scope, the
    agents' conclusions by kind (the words before any ":")."""
    per: dict[tuple[str, str], dict[str, str]] = {}
    for items in found["workpaper"]["criteria"].values():
        for item in items:
            for name, x in item["pipelines"].items():
                for check, agents in x["controls"].items():
                    per[(name, check)] = agents
    out = []
    for agents in per.values():
        kinds: dict[str, int] = {}
        for conclusion in agents.values():
            kind = "".join(conclusion.partition(":")[0].split())
            kinds[kind] = kinds.get(kind, 0) + 1
        out.append((len(agents), tuple(sorted(kinds.items()))))
    return out


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pack of two pipelines, one with exceptions, one without."""
    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("two")
    bad = pipeline(base / "ev", PDF_EXCEPTIONS_SHOWN)
    clean = pipeline(base / "ev-two", 0, name="ev-two")
    r = build(base / "pack", str(bad), str(clean), "--key", str(bad / "k.pub"), monkeypatch=mp)
    mp.undo()
    assert r.exit_code == ExitCode.FINDINGS, r.output
    return base / "pack"


def test_the_mapping_is_printed_once_and_the_counts_add_up(
    packs: dict[int, Path], two: Path
) -> None:
    """The criteria each check or rule maps to are the same for every pipeline: evidence.pdf
    prints them once, whatever the number of pipelines; per pipeline its matrix counts each
    check's agent controls by conclusion, every kind that occurs (a "not tested" too), the
    counts adding up to the agent controls, as findings.json's full matrix has them."""
    for pack, pipelines in ((packs[PDF_EXCEPTIONS_SHOWN * 2], 1), (two, 2)):
        text = flat_text(pack / "evidence.pdf")
        assert text.count("Criteriapercheckorrule") == 1
        assert text.count("CheckorruleSOC2EUAIAct") == 1  # the mapping's header, once
        assert text.count("Agentcontrols(conclusions,section4)") == pipelines
        assert text.count("SOC2categoriesinscope:") == pipelines
        rows = matrix_counts(text)
        assert rows and all(total == sum(n for _, n in kinds) for total, kinds in rows)
        found = json.loads((pack / "findings.json").read_text())
        assert sorted(rows) == sorted(expected_counts(found))
    kinds = {k for _, ks in matrix_counts(flat_text(two / "evidence.pdf")) for k, _ in ks}
    assert {"exceptionsnoted", "noexceptionsnoted"} <= kinds
