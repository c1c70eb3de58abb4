"""The seven per-agent checks of MANIFEST.md, one module each, in output order.

Importing a check's module registers it (:mod:`harness_audit.checks.registry`): its declared
side returns ``pass``, ``fail`` or ``n/a`` with a one-line reason and the manifest line it is
about; warnings (a pass that an auditor should still see) ride along. The order of the imports
below is the order of the checks in every output.
"""

from __future__ import annotations

# the order of these imports is the order of registration, so of every output
# isort: off
from harness_audit.checks import (  # noqa: F401 - imported to register
    has_audit_trail,
    trail_is_immutable,
    access_enforced_at_harness,
    budget_cap_enforced,
    independent_verification,
    human_gate_for_destructive_ops,
    sla_decomposed_per_stage,
)

# isort: on
from harness_audit.checks.registry import (
    REGISTRY,
    CheckFunction,
    CheckResult,
    Context,
    Status,
)

CHECKS: tuple[str, ...] = tuple(REGISTRY)
"""The checks' names, in the order they were registered above (the order of every output)."""

CHECK_FUNCTIONS: dict[str, CheckFunction] = {name: spec.function for name, spec in REGISTRY.items()}

__all__ = ["CHECKS", "CHECK_FUNCTIONS", "CheckResult", "Context", "Status"]
