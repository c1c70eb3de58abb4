"""``--version``, importable without the command line (typer builds it in about 0.1 s)."""

from __future__ import annotations

from harness_audit import __version__


def version_text() -> str:
    """The version and which verifier core runs."""
    from harness_audit.trail._core import describe

    return f"harness-audit {__version__} (verifier core: {describe()})"
