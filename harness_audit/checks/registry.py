"""Where checks are registered: decorators in the check's own module fill :data:`REGISTRY`.

A check is one module under ``checks/`` (listed in :mod:`harness_audit.checks.checks`, whose
order is the order of the checks in every output) plus its rule (with ``check:``, ``label`` and
``short_label``) in ``rules/checks.yaml``. The module holds:

- its declared side, the function judged on the manifest, registered by ``@check()``;
- its observed side, what it counts on which trail events, an :class:`Observed` subclass
  registered by ``@observed(declared_function)`` (its :meth:`Observed.handlers` name the event
  kinds; the judge calls them in its one pass), and/or a function of the trails' verification
  report registered by ``@observed_on_verify(declared_function)``; or ``@check(manifest_only=
  True)`` when a trail cannot show the check;
- its enforcement text, how the manifest says the control is enforced (the work paper's
  "enforced" line), registered by ``@enforcement(declared_function)``.

``tests/test_registry.py`` fails when a check lacks its rule or its observed side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, TypeVar

if TYPE_CHECKING:
    from harness_audit.evidence.model import Evidence, Handler, Judging
    from harness_audit.manifest.model import Agent, Pipeline
    from harness_audit.sla import Decomposition
    from harness_audit.trust import TrustRoot

Status = Literal["pass", "fail", "not_proven", "n/a"]
"""``not_proven``: declared to pass, but the trails judged do not prove it (the reason says
why: no event in the population, unanchored, key not pinned, a coverage gap, unknown cost, an
agent named only as a stand-in)."""


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
VerifyFunction = Callable[["Pipeline", "Evidence", "TrustRoot"], None]
"""An observed side judged on the trails' verification report (``evidence.verify``, with
``evidence.trust``), once the trails are judged."""


class Observed:
    """A check's observed side in one pass of the evidence judge: made once when the judge
    starts (``judge`` is what it sees of it), fed the events of the kinds :meth:`handlers`
    names, and told when the pass ends."""

    def __init__(self, judge: Judging) -> None:
        self.judge = judge

    def handlers(self) -> Iterable[tuple[type, Handler]]:
        """(event kind, handler) pairs: the judge calls ``handler(event, actor, run, where)``
        for every event of that kind, checks in registration order."""
        return ()

    def finish(self) -> None:
        """Called once after the last event (before the judge's :class:`Evidence` is made)."""


ObservedClass = TypeVar("ObservedClass", bound=type[Observed])


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A registered check: its name (the function's), the function, whether it is judged on
    the manifest alone (no observed side in the evidence judge), its enforcement text and its
    observed side (see the module doc)."""

    name: str
    function: CheckFunction
    manifest_only: bool = False
    enforcement: EnforcementFunction | None = None
    observer: type[Observed] | None = None
    on_verify: VerifyFunction | None = None
    rows: bool = False  # its population is events, one CSV row each (the work paper's CSVs)

    @property
    def observed(self) -> bool:
        """Whether the check has an observed side (on events or on the verification report)."""
        return self.observer is not None or self.on_verify is not None


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


def observed(
    declared: CheckFunction, *, rows: bool = True
) -> Callable[[ObservedClass], ObservedClass]:
    """Register the decorated :class:`Observed` subclass as the observed side of the check
    ``declared`` on trail events; ``rows``: its population is events it counts by
    ``Judging.operated``, each a row of the control's population CSV (False for a population
    counted otherwise, as the SLA's observed attempts)."""

    def register(cls: ObservedClass) -> ObservedClass:
        REGISTRY[declared.__name__] = replace(_spec(declared), observer=cls, rows=rows)
        return cls

    return register


def observed_on_verify(declared: CheckFunction) -> Callable[[VerifyFunction], VerifyFunction]:
    """Register the decorated function as the observed side of the check ``declared`` on the
    trails' verification report."""

    def register(function: VerifyFunction) -> VerifyFunction:
        REGISTRY[declared.__name__] = replace(_spec(declared), on_verify=function)
        return function

    return register
