"""Runtime evidence: judging the declared controls against what the trails show (EVIDENCE.md).

:func:`judge_trails` is imported on first use: the checks' observed sides import the evidence
types of :mod:`harness_audit.evidence.model`, and the judge imports the checks, so this package
imports nothing above its model when it is first imported.
"""

from typing import Any

from harness_audit.evidence.model import Evidence

__all__ = ["Evidence", "judge_trails"]


def __getattr__(name: str) -> Any:
    """``judge_trails``, imported when first asked for."""
    if name == "judge_trails":
        from harness_audit.evidence.trails import judge_trails

        return judge_trails
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
