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
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", (pack / "evidence.html").read_text()))
                    .split())


def test_unpinned_key_is_named_and_caveated(wp: Path) -> None:
    t = text(wp)
    assert "verified with the manifest's own key (not pinned)" in t
    cover = t.split("Contents")[0]
    assert "Caveat" in cover and "support-refunds: the trail is verified with the manifest's own" \
        " key (not pinned)" in cover
    assert "Witnesses 0 cosigning witness(es)" in t
    assert re.search(r"Unanchored events [0-9,]+ event\(s\) after the newest trusted", t)


def test_exceptions_past_twenty_say_how_many_and_where(wp: Path) -> None:
    t = text(wp)
    found = re.findall(r"20 of ([0-9,]+) shown; findings\.json holds all ([0-9,]+) kept", t)
    assert found and all(int(n.replace(",", "")) > 20 for n, _ in found)
    data = json.loads((wp / "findings.json").read_text())
    kept = [len(c["evidence"]["failures"]) for p in data["pipelines"] for a in p["agents"]
            for c in a["checks"].values() if "evidence" in c]
    assert max(kept) == max(int(n.replace(",", "")) for n, _ in found)
