"""Where checks are registered: a decorator on the check function fills :data:`REGISTRY`.

Adding a check is the function with ``@check()`` in :mod:`harness_audit.checks.checks`, its rule
(with ``check:``, ``label`` and ``short_label``) in ``rules/checks.yaml``, and its observed side
in the evidence judge, or ``@check(manifest_only=True)`` when a trail cannot show it. The order
of registration is the order of the checks in every output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from harness_audit.manifest.model import Agent, Pipeline
    from harness_audit.sla import Decomposition

Status = Literal["pass", "fail", "n/a"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check judged for one agent: status, a one-line reason and the manifest line."""

    check: str
    status: Status
    reason: str
    line: int
    warnings: tuple[tuple[str, str], ...] = ()  # (rule id, message)
    subject: str = ""


@dataclass(frozen=True)
class Context:
    """What every check may look at besides its agent: the pipeline and its SLA model."""

    pipeline: Pipeline
    sla: Decomposition


CheckFunction = Callable[[Context, "Agent"], CheckResult]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A registered check: its name (the function's), the function, and whether it is judged
    on the manifest alone (no observed side in the evidence judge)."""

    name: str
    function: CheckFunction
    manifest_only: bool = False


REGISTRY: dict[str, CheckSpec] = {}
"""Every check, by name, in registration order."""


def check(*, manifest_only: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as a check named after it (see the module doc)."""

    def register(function: CheckFunction) -> CheckFunction:
        name = function.__name__
        if name in REGISTRY:
            raise ValueError(f"check {name!r} is registered twice")
        REGISTRY[name] = CheckSpec(name, function, manifest_only)
        return function

    return register
