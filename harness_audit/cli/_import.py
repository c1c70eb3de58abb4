"""``init`` and ``trail import``: start from what a team already has (IMPORT.md).

Both read foreign files as data (YAML and JSON parsed, Python read with ``ast``) and write only
their own output: ``init`` one draft manifest, never over a file without ``--force``;
``trail import`` a sealed trail folder plus ``import.json``, written whole into a new or
empty folder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from harness_audit.cli import _options as opt
from harness_audit.cli._app import app, command, trail_app
from harness_audit.errors import ExitCode
from harness_audit.import_formats import DEFINITION_CHOICES, DEFINITIONS, TRACE_CHOICES, TRACES
from harness_audit.import_formats import labels as _labels

if TYPE_CHECKING:  # the checker sees plain strings; Typer sees the choices
    TraceFrom = str
    DefinitionFrom = str
else:
    TraceFrom = Literal[TRACE_CHOICES]
    DefinitionFrom = Literal[DEFINITION_CHOICES]


@command(
    app,
    "init",
    help=f"Draft a manifest from framework definitions ({_labels(DEFINITIONS)}). Never runs "
    "their code; every field the sources cannot say is written failing its check, with a "
    "`# TODO: declare` comment.",
)
def init(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Framework definitions: files or folders (default: the current directory)."
        ),
    ] = None,
    source: Annotated[
        DefinitionFrom,
        typer.Option("--from", help="The framework (default: detected from the content)."),
    ] = "auto",
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The draft manifest to write ('-' for stdout).")
    ] = Path("harness.yaml"),
    name: Annotated[
        str | None,
        typer.Option("--name", help="The pipeline's metadata.name (default: from the sources)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the output file if it exists.")
    ] = False,
    from_trail: Annotated[
        Path | None,
        typer.Option(
            "--from-trail",
            metavar="DIR",
            help="Draft from a trail instead (e.g. one `trail import` wrote): the agents, "
            "models, tools and effects, spawns and approvals it shows ran, failing closed.",
        ),
    ] = None,
    check: Annotated[
        Path | None,
        typer.Option(
            "--check",
            metavar="MANIFEST",
            help="Write nothing: re-read the definitions (PATHS, else the sources the draft "
            "recorded) and exit 1 when the code has an agent, tool, edge, model or gate the "
            "manifest does not declare, or the manifest declares one the code no longer has.",
        ),
    ] = None,
) -> None:
    """Draft a manifest from framework definitions (listed in the help). Never runs their
    code; every field the sources cannot say is written failing its check, with a
    `# TODO: declare` comment."""
    from harness_audit.cli._io import terminal
    from harness_audit.importers import draft_from_trail, draft_manifest, draft_to_file

    if from_trail is not None:
        if paths or check is not None or source != "auto":
            from harness_audit.errors import Diagnostic, UsageError

            raise UsageError(
                Diagnostic(
                    "--from-trail",
                    "drafts from a trail alone: no definitions, --from or --check with it",
                    expected="harness-audit init --from-trail DIR -o harness.yaml",
                )
            )
        if str(output) == "-":
            sys.stdout.write(draft_from_trail(from_trail, name))
            return
        todo = draft_to_file([from_trail], output, name=name, force=force, trail=from_trail)
        print(
            f"wrote the draft manifest {terminal(output)} from the trail "
            f"{terminal(from_trail)}: {todo} field(s) to declare (# TODO: declare); what ran, "
            "not what is declared",
            file=sys.stderr,
        )
        return
    if check is not None:
        _check(check, list(paths or []), source)
        return
    sources = list(paths or [Path(".")])
    unseen: list[str] = []
    if str(output) == "-":
        sys.stdout.write(draft_manifest(sources, source, name, unseen))
    else:
        todo = draft_to_file(sources, output, source, name, force, unseen)
        print(
            f"wrote the draft manifest {terminal(output)}: {todo} field(s) to declare "
            "(# TODO: declare); `harness-audit scan` judges it as it stands",
            file=sys.stderr,
        )
    if unseen:  # what the readers could not read: drafted as explicit unknowns (fail closed)
        print(
            f"could not read {len(unseen)} thing(s) the code computes at run time; drafted "
            "as unknowns that fail their checks until declared:",
            file=sys.stderr,
        )
        for u in unseen:
            print(f"  {terminal(u)}", file=sys.stderr)


def _check(manifest: Path, paths: list[Path], source: str) -> None:
    """``init --check``: the drift lines on stdout, exit 1 when there are any."""
    from harness_audit.cli._io import terminal
    from harness_audit.importers.drift import check

    drift, unseen = check(manifest, paths, source)
    for x in drift:
        print(terminal(str(x)))
    for u in unseen:
        print(f"not compared (computed at run time): {terminal(u)}", file=sys.stderr)
    if drift:
        print(
            f"{terminal(manifest)}: {len(drift)} difference(s) between the code and the "
            "manifest; update the manifest (or the code)",
            file=sys.stderr,
        )
        raise typer.Exit(ExitCode.FINDINGS)
    print(f"{terminal(manifest)}: in step with the code", file=sys.stderr)


@command(trail_app, "import")
def trail_import(
    sources: Annotated[
        list[Path],
        typer.Argument(
            metavar="SOURCE...",
            help=f"Trace files or folders ({_labels(TRACES)}).",
        ),
    ],
    key: opt.SignerKey,
    origin: Annotated[
        str,
        typer.Option("--origin", help="The trail's log origin, e.g. harness-audit/support-bot."),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The trail folder to write (new or empty).")
    ],
    source_format: Annotated[
        TraceFrom,
        typer.Option("--from", help="The trace format (default: detected from the content)."),
    ] = "auto",
    map_file: Annotated[
        Path | None,
        typer.Option("--map", help="YAML mapping of agent names and tool effects/scopes."),
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="A manifest whose agents and tools name the source's."),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=2,
            help="1: read and seal in one process; 2: seal in a second process while this "
            "one reads (the default where there are two CPUs). The trail is the same.",
        ),
    ] = None,
    shard: opt.Shard = None,
) -> None:
    """Turn traces into a sealed trail folder plus import.json. Sealing proves that nothing
    changed after the import; the source format itself proved nothing."""
    from harness_audit.cli._io import terminal
    from harness_audit.importers import import_files

    summary = import_files(
        sources, output, origin, key, source_format, map_file, manifest, jobs, shard
    )
    events = sum(summary["events"].values())
    dropped = sum(summary["dropped"].values())
    formats = ", ".join(sorted({str(s["format"]) for s in summary["sources"]}))
    print(
        f"imported {events:,} events in {summary['runs']:,} run(s) from "
        f"{len(summary['sources'])} source(s) ({terminal(formats)}); "
        f"{summary['records_read']:,} record(s) read: {summary['records_mapped']:,} mapped, "
        f"{dropped:,} dropped (see import.json); sealed into {terminal(output)}",
        file=sys.stderr,
    )
    for warning in summary.get("warnings", []):
        print(f"warning: {terminal(warning)}", file=sys.stderr)
    if not events:
        raise typer.Exit(ExitCode.FINDINGS)


__all__ = ["init", "trail_import"]
