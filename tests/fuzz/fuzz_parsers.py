"""An atheris harness over the parsers of attacker-written input (not run by pytest).

    pip install atheris
    PYTHONPATH=. python3 tests/fuzz/fuzz_parsers.py -max_total_time=60 [corpus/]

Each input's first byte picks the parser (YAML loader, manifest through the checks, waivers,
pyproject.toml, .harness-audit.yaml); the rest is the file. Only a HarnessAuditError may
escape: anything else is a crash atheris reports, with the input that caused it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from harness_audit.checks import assess_pipeline
    from harness_audit.config import load_config
    from harness_audit.errors import HarnessAuditError
    from harness_audit.manifest import load_manifest
    from harness_audit.manifest.yamlsafe import load_yaml
    from harness_audit.waivers import load_waivers

DIR = Path(tempfile.mkdtemp(prefix="harness-audit-atheris-"))
(DIR / "toml").mkdir()
(DIR / "yaml").mkdir()
MANIFEST = b"""apiVersion: harness-audit/v1
kind: Pipeline
metadata: {name: p}
agents:
  - id: a
    model: {provider: openai, family: gpt-4o}
    stage: {reliability: 0.9, fallback: [b]}
  - id: b
    model: human
    verifies: [a]
"""


def one_input(data: bytes) -> None:
    """Feed one input to the parser its first byte picks."""
    if not data:
        return
    kind, body = data[0] % 5, data[1:]
    try:
        if kind == 0:
            load_yaml(_write(DIR / "f.yaml", body))
        elif kind == 1:
            assess_pipeline(load_manifest(_write(DIR / "m.harness.yaml", MANIFEST + body)))
        elif kind == 2:
            load_waivers(_write(DIR / "w.yaml", body))
        elif kind == 3:
            _write(DIR / "toml" / "pyproject.toml", body)
            load_config(DIR / "toml")
        else:
            _write(DIR / "yaml" / ".harness-audit.yaml", body)
            load_config(DIR / "yaml")
    except HarnessAuditError:
        pass


def _write(path: Path, body: bytes) -> Path:
    path.write_bytes(body)
    return path


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
