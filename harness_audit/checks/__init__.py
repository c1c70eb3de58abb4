"""The seven checks, the rules under ``rules/`` and the scored :class:`Assessment`."""

from harness_audit.checks.assessment import (
    Assessment,
    PipelineResult,
    assess,
    assess_pipeline,
    band,
)
from harness_audit.checks.catalogue import RuleBook, load_rulebook
from harness_audit.checks.checks import CHECKS, CheckResult

__all__ = [
    "CHECKS",
    "Assessment",
    "CheckResult",
    "PipelineResult",
    "RuleBook",
    "assess",
    "assess_pipeline",
    "band",
    "load_rulebook",
]
