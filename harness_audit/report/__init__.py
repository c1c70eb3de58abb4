"""Renderers: one module per output format, each behind :class:`~.base.Renderer`.

Every command that prints a result has a :class:`Registry` of its formats; the CLI derives its
``--format`` choices from the registry (a test keeps them equal). Modules are imported only
when their format is asked for, so the CLI starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from harness_audit.checks.assessment import Assessment, PipelineResult
    from harness_audit.evidence.replay import Replay, Replays, RunList
    from harness_audit.report.base import Renderer
    from harness_audit.report.rules_view import RuleList, RuleShown
    from harness_audit.sla.analysis import SlaResult
    from harness_audit.trail.verify import VerifyReport
    from harness_audit.trail.witness import CheckpointResult

T = TypeVar("T")


class Registry(Generic[T]):
    """The formats one command can render its result ``T`` in: name -> ``module:Class``."""

    def __init__(self, command: str, formats: dict[str, str]) -> None:
        self.command = command
        self.formats = dict(formats)

    @property
    def names(self) -> tuple[str, ...]:
        """The format names, in the order ``--help`` lists them (the first is the default)."""
        return tuple(self.formats)

    def get(self, fmt: str) -> Renderer[T]:
        """The renderer of one format (its module is imported now)."""
        module, _, cls = self.formats[fmt].partition(":")
        renderer: Renderer[T] = getattr(importlib.import_module(module), cls)()
        return renderer


_R = "harness_audit.report."
SCAN: Registry[Assessment] = Registry(
    "scan",
    {
        "table": _R + "terminal:TableRenderer",
        "json": _R + "json_format:JsonRenderer",
        "sarif": _R + "sarif:SarifRenderer",
        "junit": _R + "junit:JunitRenderer",
        "markdown": _R + "markdown:MarkdownRenderer",
        "oscal": _R + "oscal:OscalRenderer",
        "csv": _R + "csv_format:CsvRenderer",
    },
)
VERIFY: Registry[VerifyReport] = Registry(
    "verify",
    {
        "table": _R + "verify_view:VerifyTextRenderer",
        "json": _R + "verify_view:VerifyJsonRenderer",
    },
)
CHECKPOINT: Registry[CheckpointResult] = Registry(
    "trail checkpoint verify",
    {
        "table": _R + "verify_view:CheckpointTextRenderer",
        "json": _R + "verify_view:CheckpointJsonRenderer",
    },
)
SLA: Registry[SlaResult] = Registry(
    "sla",
    {
        "table": _R + "sla_view:SlaTextRenderer",
        "json": _R + "sla_view:SlaJsonRenderer",
    },
)
REPLAY: Registry[Replay | Replays | RunList] = Registry(
    "replay",
    {
        "table": _R + "replay_view:ReplayTextRenderer",
        "json": _R + "replay_view:ReplayJsonRenderer",
    },
)
RULES: Registry[RuleList] = Registry(
    "rules",
    {
        "table": _R + "rules_view:RulesTableRenderer",
        "json": _R + "rules_view:RulesJsonRenderer",
    },
)
RULE: Registry[RuleShown] = Registry(
    "rules show",
    {
        "table": _R + "rules_view:RuleTextRenderer",
        "json": _R + "rules_view:RulesJsonRenderer",
    },
)
GRAPH: Registry[PipelineResult] = Registry(
    "graph",
    {
        "mermaid": _R + "graph_view:MermaidRenderer",
        "dot": _R + "graphviz:DotRenderer",
        "svg": _R + "graphviz:SvgRenderer",
        "json": _R + "graph_view:GraphJsonRenderer",
    },
)
REGISTRIES: tuple[Registry[Any], ...] = (SCAN, VERIFY, CHECKPOINT, SLA, REPLAY, RULES, RULE, GRAPH)


__all__ = [
    "CHECKPOINT",
    "GRAPH",
    "REGISTRIES",
    "REPLAY",
    "RULE",
    "RULES",
    "SCAN",
    "SLA",
    "VERIFY",
    "Registry",
]
