from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings

# CI machines are shared: judge properties by their examples, never by wall time
settings.register_profile("harness-audit", deadline=None)
settings.load_profile("harness-audit")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_pipelines"
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared"

BASE: dict[str, Any] = {
    "apiVersion": "harness-audit/v1",
    "kind": "Pipeline",
    "metadata": {"name": "t"},
    "slo": {"target": 0.99},
    "budget": {"max_cost_usd_per_run": 1.0, "max_spawn_depth": 1, "enforced_by": "harness"},
    "trail": {
        "enabled": True,
        "integrity": "signed_checkpoints",
        "public_key": "k.pub",
        "retention_days": 2555,
    },
    "agents": [
        {
            "id": "a",
            "model": {"provider": "openai", "family": "gpt-4o"},
            "stage": {"reliability": 0.999},
            "access": {"enforced_at": "harness", "scopes": ["s:read"]},
            "tools": [{"name": "r", "effect": "read", "scope": "s:read"}],
        },
    ],
}


def base_manifest() -> dict[str, Any]:
    return copy.deepcopy(BASE)


@pytest.fixture
def write_manifest(tmp_path: Path) -> Callable[..., Path]:
    """Write a manifest (dict or YAML text) to a file and return its path."""
    counter = {"n": 0}

    def write(content: dict[str, Any] | str, name: str | None = None) -> Path:
        counter["n"] += 1
        path = tmp_path / (name or f"m{counter['n']}.harness.yaml")
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def manifest() -> dict[str, Any]:
    return base_manifest()


VECTORS = DATA / "vectors"


def _vectors(name: str) -> Any:
    import json

    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def rfc6962_vectors() -> Any:
    """transparency-dev/merkle's RFC 6962 reference tree: 8 leaves, roots, proofs."""
    return _vectors("rfc6962_merkle.json")


@pytest.fixture(scope="session")
def note_vectors() -> Any:
    """Go sumdb/note example, the C2SP spec example, real sum.golang.org checkpoints."""
    return _vectors("c2sp_signed_note.json")


@pytest.fixture(scope="session")
def jcs_vectors() -> Any:
    """cyberphone/json-canonicalization documents and RFC 8785 Appendix B numbers."""
    return _vectors("rfc8785_jcs.json")


@pytest.fixture(scope="session")
def cosignature_vectors() -> Any:
    """C2SP tlog-cosignature: real witness cosignatures and known-answer lines."""
    return _vectors("c2sp_cosignature.json")
