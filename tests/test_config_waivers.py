"""Loading a waivers file: a regular file of bounded size, every problem with its line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness_audit import waivers
from harness_audit.errors import InputError, ManifestError
from harness_audit.waivers import load_waivers

from .test_config import no_hang

__all__ = ["no_hang"]  # a fixture

GOOD = """waivers:
  - rule: HA-006
    pipeline: p
    agent: "*"
    justification: Accepted until the migration lands.
    owner: me@example.com
    ticket: RISK-1
    expires: 2099-12-31
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "waivers.yaml"
    p.write_text(text)
    return p


def test_a_good_file_loads(tmp_path: Path) -> None:
    (w,) = load_waivers(write(tmp_path, GOOD))
    assert (w.rule, w.line) == ("HA-006", 2)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path, no_hang: None) -> None:
    os.mkfifo(tmp_path / "w.yaml")
    with pytest.raises(InputError, match="not a regular file"):
        load_waivers(tmp_path / "w.yaml")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a regular file"):
        load_waivers(tmp_path)


def test_the_size_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waivers, "MAX_BYTES", 100)
    with pytest.raises(InputError, match="more than the 100"):
        load_waivers(write(tmp_path, GOOD))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (GOOD.replace("HA-006", "!!int HA-006"), 2),
        (GOOD.replace("2099-12-31", "2099-02-30"), 2),
        (GOOD.replace("ticket: RISK-1", "ticket: " + "9" * 5000), 7),
        ("waivers:\n  - !!bool maybe\n", 2),
    ],
)
def test_bad_values_are_errors_with_the_line(tmp_path: Path, text: str, line: int) -> None:
    with pytest.raises(ManifestError) as e:
        load_waivers(write(tmp_path, text))
    assert e.value.diagnostics()[0].line == line
