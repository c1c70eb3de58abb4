"""Runtime evidence: judging the declared controls against what the trails show (EVIDENCE.md)."""

from harness_audit.evidence.model import Evidence
from harness_audit.evidence.trails import judge_trails

__all__ = ["Evidence", "judge_trails"]
