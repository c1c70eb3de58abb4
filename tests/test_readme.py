"""The README's examples are tested, so they cannot drift from what the commands do.

- A fenced block whose first line is ``$ harness-audit ...`` (or that follows a comment
  ``<!-- $ harness-audit ... -->``) shows that command's output: the block must be the start of
  what the command prints at 100 columns (a last line ``...`` stands for the rest).
- A fenced block without a language whose lines are ``harness-audit ...`` commands is run, in
  README order, in one folder holding a copy of the samples; each exits 0, or as its comment
  says (``# exits 1``).
- The samples table's gap scores are what ``scan`` gives.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app

from .conftest import ROOT, SAMPLES

README_PATH = ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")
WIDTH = "100"


def blocks() -> list[tuple[int, str, str | None, list[str]]]:
    """(line number, language, preceding ``<!-- $ … -->`` command, lines) of each block."""
    out = []
    lines = README.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        j = i + 1
        while not lines[j].startswith("```"):
            j += 1
        before = lines[start - 1] if start else ""
        cm = re.match(r"^<!-- \$ (harness-audit .*) -->$", before)
        out.append((start + 1, lang, cm.group(1) if cm else None, lines[start + 1 : j]))
        i = j + 1
    return out


def invoke(command: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    args = shlex.split(command, comments=True)
    assert args[0] == "harness-audit", command
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("COLUMNS", WIDTH)
    r = CliRunner().invoke(app, args[1:])
    return r.exit_code, r.stdout


OUTPUT_BLOCKS = [
    (n, cmd or body[0][2:], body if cmd else body[1:])
    for n, _, cmd, body in blocks()
    if cmd or (body and body[0].startswith("$ harness-audit "))
]
COMMAND_BLOCKS = [
    (n, body)
    for n, lang, cmd, body in blocks()
    if not lang
    and not cmd
    and body
    and all(x.startswith("harness-audit ") for x in body if x.strip())
]


def test_the_readme_has_examples_of_both_kinds() -> None:
    assert len(OUTPUT_BLOCKS) >= 3 and len(COMMAND_BLOCKS) >= 3


@pytest.mark.parametrize(
    ("line", "command", "expected"), OUTPUT_BLOCKS, ids=[f"line{n}" for n, _, _ in OUTPUT_BLOCKS]
)
def test_output_blocks_are_what_the_command_prints(
    line: int, command: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out = invoke(command, ROOT, monkeypatch)
    got = [x.rstrip() for x in out.split("\n")]
    want = [x.rstrip() for x in expected]
    if os.environ.get("UPDATE_GOLDEN"):
        _update_block(
            line, command, got, truncated=bool(want) and want[-1] == "...", keep=len(want) - 1
        )
        return
    if want and want[-1] == "...":
        want = want[:-1]
        got = got[: len(want)]
    else:
        while got and not got[-1]:
            got.pop()
    assert got == want, f"README.md:{line}: `{command}` prints something else"


def _update_block(line: int, command: str, got: list[str], truncated: bool, keep: int) -> None:
    """UPDATE_GOLDEN=1: write what the command prints into the README block at ``line``."""
    lines = README_PATH.read_text(encoding="utf-8").split("\n")
    start = line  # the index of the first line inside the block
    if lines[start].startswith("$ "):
        start += 1
    end = lines.index("```", start)
    while got and not got[-1]:
        got.pop()
    body = [*got[:keep], "..."] if truncated else got
    lines[start:end] = body
    README_PATH.write_text("\n".join(lines), encoding="utf-8")


def test_command_blocks_run_as_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(SAMPLES, tmp_path / "sample_pipelines")
    for line, body in COMMAND_BLOCKS:
        for command in (x for x in body if x.strip()):
            m = re.search(r"#\s*exits (\d)", command)
            want = int(m.group(1)) if m else 0
            code, out = invoke(command, tmp_path, monkeypatch)
            assert code == want, f"README.md:{line}: `{command}` exited {code}:\n{out}"


def test_the_samples_table_quotes_the_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each sample's score as ``scan`` gives it, and with its key pinned (``--key``, issue 22:
    the hardened sample is audit-ready only then)."""
    rows = re.findall(
        r"^\| `sample_pipelines/([\w-]+)` \| .* \| (\d+) ([\w-]+) \| (?:(\d+) ([\w-]+)|—) \|$",
        README,
        re.MULTILINE,
    )
    assert len(rows) == len([p for p in SAMPLES.iterdir() if (p / "harness.yaml").exists()])
    _, out = invoke(f"harness-audit scan {SAMPLES} -f json", ROOT, monkeypatch)
    scored = {
        Path(p["file"]).parent.name: (p["score"], p["band"]) for p in json.loads(out)["pipelines"]
    }
    for name, score, band, keyed_score, keyed_band in rows:
        assert scored[name] == (int(score), band), name
        key = SAMPLES / name / "keys" / "trail.pub"
        assert bool(keyed_score) == key.exists(), name
        if keyed_score:
            _, out = invoke(
                f"harness-audit scan {SAMPLES / name} --key {key} -f json", ROOT, monkeypatch
            )
            [p] = json.loads(out)["pipelines"]
            assert (p["score"], p["band"]) == (int(keyed_score), keyed_band), name
