"""Manifests at the limits: long fallback chains, deep folders, unreadable entries."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness_audit.checks import assess_pipeline
from harness_audit.errors import InputError
from harness_audit.manifest import load_manifest
from harness_audit.manifest.loader import discover
from harness_audit.sla.model import decompose, with_fallbacks

from .conftest import base_manifest


def chain(n: int) -> dict[str, Any]:
    m = base_manifest()
    agents = []
    for i in range(n):
        stage: dict[str, Any] = {"reliability": 0.5}
        if i < n - 1:
            stage["fallback"] = [f"a{i + 1}"]
        agents.append(
            {"id": f"a{i}", "model": {"provider": "openai", "family": "gpt-4o"}, "stage": stage}
        )
    m["agents"] = agents
    return m


def test_a_500_deep_fallback_chain_is_assessed(write_manifest: Callable[..., Path]) -> None:
    pipeline = load_manifest(write_manifest(chain(500)))
    d = decompose(pipeline)
    assert d.series_stages == ("a0",)
    assert d.stages["a499"].effective == 0.5
    expected = 0.5
    for _ in range(499):
        expected = with_fallbacks(0.5, [expected], 1.0)
    assert d.stages["a0"].effective == pytest.approx(expected)
    assert assess_pipeline(pipeline).pipeline is pipeline


def test_fallbacks_are_worked_out_as_before(write_manifest: Callable[..., Path]) -> None:
    m = chain(3)
    m["agents"][0]["stage"]["fallback"] = ["a1", "a2"]
    m["agents"][0]["stage"]["coverage"] = 0.5
    d = decompose(load_manifest(write_manifest(m)))
    a2 = 0.5
    a1 = with_fallbacks(0.5, [a2], 1.0)
    assert d.stages["a0"].effective == pytest.approx(with_fallbacks(0.5, [a1, a2], 0.5))


def test_a_folder_tree_deeper_than_the_recursion_limit_is_searched(tmp_path: Path) -> None:
    folders = [tmp_path]
    for _ in range(1100):
        folders.append(folders[-1] / "d")
        os.mkdir(folders[-1])
    (folders[-1] / "harness.yaml").write_text("a: 1\n")
    try:
        assert [p.name for p in discover([tmp_path])] == ["harness.yaml"]
    finally:  # pytest's own clean-up recurses as deep as the tree
        (folders[-1] / "harness.yaml").unlink()
        for folder in reversed(folders[1:]):
            folder.rmdir()


def test_a_folder_that_cannot_be_listed_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "locked").mkdir()
    real = Path.iterdir

    def deny(self: Path) -> Any:
        if self.name == "locked":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "iterdir", deny)
    with pytest.raises(InputError, match="locked: cannot be listed: Permission denied"):
        discover([tmp_path])
