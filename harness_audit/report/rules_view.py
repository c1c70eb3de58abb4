"""How ``rules`` and ``rules show`` present the rule book."""

from __future__ import annotations

import difflib
import io
import json
from dataclasses import dataclass

from rich.table import Table

from harness_audit.checks.catalogue import FRAMEWORK_ORDER, Rule, RuleBook
from harness_audit.errors import Diagnostic, UsageError
from harness_audit.report.base import DEFAULT_OPTIONS, Renderer, RenderOptions
from harness_audit.report.inert import console as make_console
from harness_audit.report.inert import terminal_block


def resolve_rule(book: RuleBook, key: str) -> Rule:
    """The rule a key names: a rule id in any case, or a check name; raises UsageError with the
    nearest name otherwise."""
    if key.upper() in book.rules:
        return book.rules[key.upper()]
    for r in book.rules.values():
        if r.check == key:
            return r
    names = [*book.rules, *(r.check for r in book.rules.values() if r.check)]
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UsageError(
        Diagnostic(
            "rules show",
            f"no rule {key!r}{hint}",
            expected="a rule id such as HA-003 or a check name",
        )
    )


def rules_json(book: RuleBook, ids: list[str]) -> str:
    """The rules of ``ids`` as JSON: id, title, problem, check, severity, fix and mappings."""
    out = []
    for i in ids:
        r = book.rules[i]
        out.append(
            {
                "id": r.id,
                "title": r.title,
                "problem": r.problem,
                "check": r.check,
                "severity": r.severity,
                "remediation": r.remediation,
                "mappings": {
                    fw: list(r.mappings[fw]) for fw in FRAMEWORK_ORDER if fw in r.mappings
                },
            }
        )
    return json.dumps({"rules": out}, indent=2) + "\n"


def rules_table(book: RuleBook, color: bool, width: int) -> str:
    """The rule book as one table: id, severity, check and title, problem and controls."""
    buf = io.StringIO()
    console = make_console(buf, color, width)
    t = Table(header_style="bold")
    for col in ("id", "severity", "check / title", "problem", "controls"):
        t.add_column(col)
    for r in book.rules.values():
        t.add_row(
            r.id,
            r.severity,
            f"{r.check}\n{r.title}" if r.check else r.title,
            str(r.problem),
            ", ".join(r.controls),
        )
    console.print(t)
    text = buf.getvalue()
    return text if color else terminal_block(text)


def rule_text(book: RuleBook, r: Rule) -> str:
    """One rule in full: severity, check, problem, each framework's controls with their titles, and
    the fix."""
    lines = [f"{r.id}  {r.title}", f"severity: {r.severity}"]
    if r.check:
        lines.append(f"check:    {r.check}")
    problem = book.problems.get(r.problem)
    lines.append(f"problem:  {r.problem} ({problem.title if problem else '?'})")
    lines.append("controls:")
    for fw in FRAMEWORK_ORDER:
        if fw not in r.mappings:
            continue
        f = book.frameworks[fw]
        lines.append(f"  {f.name} ({f.version}):")
        for c in r.mappings[fw]:
            lines.append(f"    {c:<18} {f.controls[c]}")
    lines.append("fix:")
    lines.append(f"  {r.remediation}")
    return terminal_block("\n".join(lines) + "\n")


@dataclass(frozen=True, slots=True)
class RuleList:
    """``rules``: the rule book and the rules to list."""

    book: RuleBook
    ids: list[str]


@dataclass(frozen=True, slots=True)
class RuleShown:
    """``rules show ID``: one rule of the book."""

    book: RuleBook
    rule: Rule

    @property
    def ids(self) -> list[str]:
        """The one rule's id, for the JSON shape shared with ``rules``."""
        return [self.rule.id]


class RulesTableRenderer(Renderer[RuleList]):
    """Every rule in a table."""

    name = "table"

    def render(self, result: RuleList, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """A rich table at the terminal's width."""
        return rules_table(result.book, options.color, options.width)


class RulesJsonRenderer(Renderer[RuleList | RuleShown]):
    """The rules as JSON (for ``rules`` and ``rules show`` alike)."""

    name = "json"

    def render(self, result: RuleList | RuleShown, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """Indented JSON."""
        return rules_json(result.book, result.ids)


class RuleTextRenderer(Renderer[RuleShown]):
    """One rule explained."""

    name = "table"

    def render(self, result: RuleShown, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """What it checks, why, the controls, the fix."""
        return rule_text(result.book, result.rule)
