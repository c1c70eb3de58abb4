"""The command groups, the error guard, the one way to register a command, and the rendering
every command shares. Command modules import this one (never the reverse);
:mod:`harness_audit.cli._cli` imports the command modules, in the order ``--help`` lists them.

Every command and group callback is registered through :func:`command`, which applies the
error guard, so none can forget it (the root's callback too, below).
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from harness_audit.cli._coerce import install
from harness_audit.errors import ExitCode, HarnessAuditError
from harness_audit.report import Registry

install()  # typer's coercion without pydantic for plain values (issue 28, item 4)

F = TypeVar("F", bound=Callable[..., Any])
_state = {"debug": False}
_HELP = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="harness-audit",
    help="Compliance auditor and gap scanner for multi-agent AI pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=_HELP,
    rich_markup_mode=None,
)
rules_app = typer.Typer(
    help="List the rules and their control mappings; `rules show ID`.",
    invoke_without_command=True,
    no_args_is_help=False,
    context_settings=_HELP,
)
trail_app = typer.Typer(
    help="Keys, sealing, checkpoints and proofs for trails.",
    no_args_is_help=True,
    context_settings=_HELP,
)
checkpoint_app = typer.Typer(
    help="Signed checkpoints.", no_args_is_help=True, context_settings=_HELP
)
app.add_typer(rules_app, name="rules")
app.add_typer(trail_app, name="trail")
trail_app.add_typer(checkpoint_app, name="checkpoint")
GROUPS = {"": app, "rules": rules_app, "trail": trail_app, "trail checkpoint": checkpoint_app}


def guarded(func: F) -> F:
    """Turn library errors into exit code 2 with diagnostics, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from harness_audit.cli._io import print_diagnostics, terminal

        try:
            return func(*args, **kwargs)
        except HarnessAuditError as e:
            if _state["debug"]:
                traceback.print_exc()
            print_diagnostics(e.diagnostics())
            raise typer.Exit(ExitCode.USAGE) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(ExitCode.OK) from None
        except OSError as e:  # the machine, not the input: a full disk, a permission, ...
            if _state["debug"]:
                traceback.print_exc()
            where = f"{e.filename}: " if e.filename else ""
            print(
                terminal(f"harness-audit: error: {where}{e.strerror or e}"),
                file=sys.stderr,
            )
            raise typer.Exit(ExitCode.USAGE) from None
        except Exception as e:
            if _state["debug"]:
                traceback.print_exc()
            print(
                f"harness-audit: internal error: {type(e).__name__}: {terminal(e)} "
                "(run with --debug for a traceback, and please report it)",
                file=sys.stderr,
            )
            raise typer.Exit(ExitCode.USAGE) from None

    wrapper.__harness_guarded__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def command(path: str) -> Callable[[F], F]:
    """Register ``func`` as the guarded command ``path`` (``trail seal``), its parameters and
    help from ``options.toml``; a group's path registers its callback."""

    def register(func: F) -> F:
        from harness_audit.cli._options import SPEC, Command, helped

        run = guarded(Command(path, func))
        if path in GROUPS:
            GROUPS[path].callback()(run)
            return func
        parent, _, name = path.rpartition(" ")
        group = GROUPS[parent]
        group.command(name, help=helped(SPEC["command"][path]["help"]))(run)
        return func

    return register


def only(argv: list[str], group: typer.Typer = app) -> None:
    """Keep only the command (or group) ``argv`` names first, at each level where it names
    one exactly: typer builds every registered command's parameters on each run, and a run
    needs one (issue 28, item 4; bench/README.md). Any other argument list keeps them all, so
    a misspelt command is answered as before."""
    names = [c.name for c in group.registered_commands] + [g.name for g in group.registered_groups]
    if not argv or argv[0] not in names:
        return
    group.registered_commands[:] = [c for c in group.registered_commands if c.name == argv[0]]
    group.registered_groups[:] = [g for g in group.registered_groups if g.name == argv[0]]
    for g in group.registered_groups:
        assert g.typer_instance is not None
        only(argv[1:], g.typer_instance)


def _version(value: bool) -> None:
    if value:
        from harness_audit.cli._version import version_text

        print(version_text())
        raise typer.Exit(ExitCode.OK)


def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Compliance auditor and gap scanner for multi-agent AI pipelines."""
    _state["debug"] = debug
    if ctx.invoked_subcommand:
        from harness_audit.config import config_default_map

        ctx.default_map = config_default_map(ctx, ctx.invoked_subcommand)


app.callback()(guarded(root))  # the root's own options are typer's (--version is eager)


# --- rendering -------------------------------------------------------------------------------


def emit(
    registry: Registry[Any],
    result: Any,
    fmt: str,
    targets: list[tuple[str, Path]],
    highlight_risk: bool = False,
) -> None:
    """Render to the ``--output`` files (each whole or not at all), else to stdout."""
    from harness_audit.cli._io import terminal_width, use_color
    from harness_audit.report.base import RenderOptions

    if targets:
        opts = RenderOptions(highlight_risk=highlight_risk)
        rendered = [(path, registry.get(f).render(result, opts)) for f, path in targets]
        for path, text in rendered:
            write_or_print(text, path)
    else:
        opts = RenderOptions(
            color=use_color(), width=terminal_width(), highlight_risk=highlight_risk
        )
        sys.stdout.write(registry.get(fmt).render(result, opts))


def write_or_print(text: Any, output: Path | None) -> None:
    """``text`` into ``output`` (whole or not at all; ``-``: stdout), else onto stdout."""
    from harness_audit.cli._io import say, write_atomic

    if not output:
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
        if str(output) != "-":
            say(f"wrote {output}")
