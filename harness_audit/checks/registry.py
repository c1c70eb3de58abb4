"""Where checks are registered: decorators in the check's own module fill :data:`REGISTRY`.

A check is one module under ``checks/`` (listed in :mod:`harness_audit.checks.checks`, whose
order is the order of the checks in every output) plus its rule (with ``check:``, ``label`` and
``short_label``) in ``rules/checks.yaml``. The module holds:

- its declared side, the function judged on the manifest, registered by ``@check()``;
- its enforcement text, how the manifest says the control is enforced (the work paper's
  "enforced" line), registered by ``@enforcement(declared_function)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
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
EnforcementFunction = Callable[["Pipeline", "Agent"], str]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A registered check: its name (the function's), the function, whether it is judged on
    the manifest alone (no observed side in the evidence judge), and its enforcement text."""

    name: str
    function: CheckFunction
    manifest_only: bool = False
    enforcement: EnforcementFunction | None = None


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


def _spec(declared: CheckFunction) -> CheckSpec:
    """The registered check whose declared side is ``declared``; ValueError if none."""
    spec = REGISTRY.get(declared.__name__)
    if spec is None or spec.function is not declared:
        raise ValueError(f"{declared.__name__!r} is not a registered check")
    return spec


def enforcement(declared: CheckFunction) -> Callable[[EnforcementFunction], EnforcementFunction]:
    """Register the decorated function as how the manifest enforces the check ``declared``
    for an agent, in one line (the work paper's "enforced")."""

    def register(function: EnforcementFunction) -> EnforcementFunction:
        REGISTRY[declared.__name__] = replace(_spec(declared), enforcement=function)
        return function

    return register


def enforcement_text(check: str, pipeline: Pipeline, agent: Agent) -> str:
    """How the manifest says ``check`` is enforced for ``agent`` (empty for a check with no
    enforcement text)."""
    spec = REGISTRY.get(check)
    if spec is None or spec.enforcement is None:
        return ""
    return spec.enforcement(pipeline, agent)
