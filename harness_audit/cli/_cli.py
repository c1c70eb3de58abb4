"""Typer commands. Each parses its arguments, calls the library, renders, and exits.

Heavy modules are imported inside the commands so ``--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from harness_audit import __version__
from harness_audit.errors import ExitCode, HarnessAuditError

F = TypeVar("F", bound=Callable[..., Any])
_state = {"debug": False}

app = typer.Typer(
    name="harness-audit",
    help="Compliance auditor and gap scanner for multi-agent AI pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)
rules_app = typer.Typer(help="List the rules and their control mappings; `rules show ID`.",
                        invoke_without_command=True, no_args_is_help=False,
                        context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(rules_app, name="rules")


def guarded(func: F) -> F:
    """Turn library errors into exit code 2 with diagnostics, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from harness_audit.cli._io import print_diagnostics

        try:
            return func(*args, **kwargs)
        except HarnessAuditError as e:
            if _state["debug"]:
                traceback.print_exc()
            print_diagnostics(e.diagnostics())
            raise typer.Exit(ExitCode.USAGE) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as e:
            if _state["debug"]:
                traceback.print_exc()
            print(f"harness-audit: internal error: {type(e).__name__}: {e} "
                  "(run with --debug for a traceback, and please report it)", file=sys.stderr)
            raise typer.Exit(ExitCode.USAGE) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        print(f"harness-audit {__version__}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Compliance auditor and gap scanner for multi-agent AI pipelines."""
    _state["debug"] = debug


class ScanFormat(StrEnum):
    table = "table"
    json = "json"


class FailOn(StrEnum):
    any = "any"
    at_risk = "at-risk"
    audit_will_fail = "audit-will-fail"
    never = "never"


@app.command()
@guarded
def scan(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Manifests, or directories to search for harness.yaml / *.harness.yaml.")] = None,
    fmt: Annotated[ScanFormat, typer.Option("--format", "-f", help="Output format.")] = (
        ScanFormat.table),
    output: Annotated[list[str] | None, typer.Option(
        "--output", "-o", help="Write to PATH (in --format) or FORMAT=PATH; repeatable.")] = None,
    fail_on: Annotated[FailOn, typer.Option(
        "--fail-on", help="Exit 1 at: any failed check (default), a band, or never.")] = (
        FailOn.any),
    max_manifest_bytes: Annotated[int, typer.Option(
        "--max-manifest-bytes", min=1, help="Refuse manifests larger than this.")] = 5 * 2**20,
) -> None:
    """Find and validate manifests, run the seven checks per agent, print the gap scores."""
    from harness_audit.checks import assess
    from harness_audit.cli._io import (
        parse_outputs,
        refuse_overwriting_inputs,
        terminal_width,
        use_color,
        write_atomic,
    )
    from harness_audit.manifest import discover, load_all
    from harness_audit.report import SCAN_FORMATS, get_renderer
    from harness_audit.report.base import RenderOptions

    targets = discover(paths or [Path(".")])
    outputs = parse_outputs(output or [], fmt.value, SCAN_FORMATS)
    refuse_overwriting_inputs((p for _, p in outputs), targets)
    assessment = assess(load_all(targets, max_bytes=max_manifest_bytes))
    if outputs:
        rendered = [(path, get_renderer(f).render(assessment)) for f, path in outputs]
        for path, text in rendered:
            write_atomic(path, text)
            print(f"wrote {path}", file=sys.stderr)
    else:
        opts = RenderOptions(color=use_color(), width=terminal_width())
        sys.stdout.write(get_renderer(fmt.value).render(assessment, opts))
    raise typer.Exit(ExitCode.FINDINGS if assessment.fails(fail_on.value) else ExitCode.OK)


class ListFormat(StrEnum):
    table = "table"
    json = "json"


@rules_app.callback()
@guarded
def rules_list(
    ctx: typer.Context,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
) -> None:
    """List every rule with its check, severity and control mappings."""
    if ctx.invoked_subcommand is not None:
        return
    from harness_audit.checks import load_rulebook
    from harness_audit.report.rules_view import rules_json, rules_table

    book = load_rulebook()
    if fmt is ListFormat.json:
        sys.stdout.write(rules_json(book, list(book.rules)))
    else:
        from harness_audit.cli._io import terminal_width, use_color

        sys.stdout.write(rules_table(book, use_color(), terminal_width()))


@rules_app.command("show")
@guarded
def rules_show(
    rule_id: Annotated[str, typer.Argument(metavar="ID", help="A rule id (HA-003) or a check "
                                           "name (access_enforced_at_harness).")],
    fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
) -> None:
    """Explain one rule: what it checks, why, the controls it maps to, how to fix it."""
    from harness_audit.checks import load_rulebook
    from harness_audit.report.rules_view import resolve_rule, rule_text, rules_json

    book = load_rulebook()
    rule = resolve_rule(book, rule_id)
    if fmt is ListFormat.json:
        sys.stdout.write(rules_json(book, [rule.id]))
    else:
        sys.stdout.write(rule_text(book, rule))
