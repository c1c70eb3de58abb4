"""Where the package's data (``rules/``, ``schemas/``, ``templates/``) is, and the one loader
of each: :func:`load_rules` for a ``rules/`` table, :func:`load_schema` for a JSON Schema.

In a wheel they are inside the package under ``_data/``; in a source checkout or editable
install they are at the repository root, where they are edited.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, cast

_PKG = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """The folder of package data ``name``: in the wheel, else in the checkout; raises
    FileNotFoundError when neither has it."""
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"package data folder {name!r} is missing from this installation")


def load_rules(name: str) -> dict[str, Any]:
    """``rules/<name>`` (YAML) as loaded; :class:`~harness_audit.errors.RuleError` naming the
    file when it does not parse or is not a mapping. Not cached: each caller caches what it
    builds from it."""
    # manifest/ imports this module: its YAML reader is imported when a table is loaded
    from harness_audit.errors import Diagnostic, HarnessAuditError, RuleError
    from harness_audit.manifest.yamlsafe import load_yaml

    try:
        data = load_yaml(data_dir("rules") / name, display=f"rules/{name}").data
    except HarnessAuditError as e:
        raise RuleError(e.diagnostics()) from e
    if not isinstance(data, dict):
        raise RuleError(Diagnostic(f"rules/{name}", "not a mapping"))
    return data


def load_schema(name: str) -> dict[str, Any]:
    """``schemas/<name>`` (a JSON Schema) as loaded."""
    with (data_dir("schemas") / name).open(encoding="utf-8") as f:
        return cast(dict[str, Any], json.load(f))
