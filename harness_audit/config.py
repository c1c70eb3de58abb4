"""Project defaults for ``scan`` and ``report``: ``[tool.harness-audit]`` in pyproject.toml, or
``.harness-audit.yaml``, in the working directory. Command-line flags win."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any

from harness_audit.errors import Diagnostic, ManifestError

KEYS: dict[str, type | tuple[type, ...]] = {
    "paths": list, "fail-on": str, "format": str, "output": list, "waivers": str,
    "baseline": str, "trails": str, "sample": int, "seed": int, "jobs": int,
    "ai-act-date": str,  # which EU AI Act application date reports apply (report)
    # the trust root (scan, report): pinned trail keys, the auditor's trusted state, witnesses
    "trail-keys": list, "trusted-state": str, "require-pinned": bool, "witness-keys": list,
    "witness-quorum": int,
}
# settings whose values are paths: confined to the project (CLI.md, Paths from untrusted places)
PATH_KEYS = ("paths", "output", "waivers", "baseline", "trails", "trail-keys", "trusted-state",
             "witness-keys")


def load_config(folder: Path) -> tuple[dict[str, Any], str | None]:
    """The settings and where they came from, as errors name it (none: empty settings)."""
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ManifestError(Diagnostic(str(pyproject), f"not TOML: {e}")) from e
        section = data.get("tool", {}).get("harness-audit")
        if section is not None:
            where = f"{pyproject} [tool.harness-audit]"
            return _check(section, where), where
    own = folder / ".harness-audit.yaml"
    if own.is_file():
        from harness_audit.manifest.yamlsafe import load_yaml

        data = load_yaml(own).data
        if not isinstance(data, dict):
            raise ManifestError(Diagnostic(str(own), "not a mapping of settings"))
        return _check(data, str(own)), str(own)
    return {}, None


def _check(section: dict[str, Any], where: str) -> dict[str, Any]:
    problems = []
    for key, value in section.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, list(KEYS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(Diagnostic(where, f"unknown setting {key!r}{hint}",
                                       expected="one of " + ", ".join(KEYS)))
        elif not isinstance(value, KEYS[key]) or (isinstance(value, bool)
                                                   and KEYS[key] is not bool):
            problems.append(Diagnostic(where, f"{key} is {type(value).__name__}",
                                       expected=getattr(KEYS[key], "__name__", "a value")))
    if problems:
        raise ManifestError(problems)
    return section
