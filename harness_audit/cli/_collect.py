"""``harness-audit collect``: the OTLP/HTTP receiver that seals what it receives.

Registered as every command is (:func:`~harness_audit.cli._app.command`); it parses its options
and calls :func:`harness_audit.capture.collect.collect`. Progress and counters go to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from harness_audit.cli import _options as opt
from harness_audit.cli._app import app, command
from harness_audit.errors import ExitCode


def _say(message: str) -> None:
    print(f"collect: {message}", file=sys.stderr, flush=True)


@command(app)
def collect(
    ctx: typer.Context,
    key: opt.SignerKey,
    origin: Annotated[
        str,
        typer.Option(
            "--origin",
            help="The trail's origin, line 1 of every checkpoint "
            "(e.g. harness-audit/loan-assessment).",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Trail folder to write (created; resumed when it holds a trail).",
        ),
    ],
    listen: Annotated[
        str,
        typer.Option(
            "--listen",
            help="HOST:PORT to bind (port 0: any free port, printed on stderr). "
            "Loopback only unless --allow-remote.",
        ),
    ] = "127.0.0.1:4318",
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a --listen address that is not loopback (the "
            "receiver has no authentication: put it behind a network policy or a "
            "collector).",
        ),
    ] = False,
    map_file: Annotated[
        Path | None,
        typer.Option(
            "--map",
            help="YAML map of source agent and tool names to manifest ids, effects "
            "and scopes (as `trail import --map`).",
        ),
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option("--manifest", help="Map source names to this manifest's ids.")
    ] = None,
    pipeline: Annotated[
        str, typer.Option("--pipeline", help="The pipeline name of run_start/run_end.")
    ] = "collected",
    max_body_bytes: Annotated[
        int,
        typer.Option(
            "--max-body-bytes",
            min=1024,
            help="Largest request body as sent (413 past it); "
            "a compressed body may inflate to 4 times this.",
        ),
    ] = 16 << 20,
    max_spans: Annotated[
        int, typer.Option("--max-spans", min=1, help="Most spans in one request (413 past it).")
    ] = 100_000,
    max_items: Annotated[
        int,
        typer.Option(
            "--max-items",
            min=1,
            help="Most items in one request: attributes, values, events and links in "
            "protobuf, every value in JSON; counted before the body is parsed (413 past it).",
        ),
    ] = 4_000_000,
    max_connections: Annotated[
        int,
        typer.Option(
            "--max-connections",
            min=0,
            help="Most open connections; at the cap a new one closes the longest idle "
            "(0: 1,024, lowered to stay 64 under the descriptor limit).",
        ),
    ] = 0,
    idle_timeout: Annotated[
        float,
        typer.Option(
            "--idle-timeout",
            min=0.0,
            help="Close a connection with no request in progress S seconds after it opened "
            "or after its last response (a request's headers must come within it; 0: never).",
        ),
    ] = 60.0,
    read_timeout: Annotated[
        float,
        typer.Option(
            "--read-timeout",
            min=0.0,
            help="A request's body must arrive within S seconds (408 past it; 0: no limit).",
        ),
    ] = 60.0,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", min=1, help="Sign a checkpoint every N events.")
    ] = 10_000,
    checkpoint_seconds: Annotated[
        float,
        typer.Option(
            "--checkpoint-seconds",
            min=0.0,
            help="Sign a checkpoint every S seconds while "
            "events arrive (0: only every N events and at shutdown).",
        ),
    ] = 30.0,
    progress_seconds: Annotated[
        float,
        typer.Option(
            "--progress-seconds", min=0.0, help="Print counters every S seconds (0: never)."
        ),
    ] = 10.0,
    shard: opt.Shard = None,
    acknowledge: Annotated[
        str,
        typer.Option(
            "--acknowledge",
            help="local: answer 200 once the request is fsynced (an s3:// trail uploads each "
            "segment when it closes); uploaded (s3:// only): once the request's segment is in "
            "the bucket, If-None-Match and retention (one segment object per request).",
        ),
    ] = "local",
) -> None:
    """Receive OTLP/HTTP traces (POST /v1/traces, protobuf or JSON, gzip) and seal them
    into a trail; answer 200 only once the events are fsynced. SIGTERM: flush, sign a
    final checkpoint, exit 0 (exit 1 when it cannot: a full disk; it says what it last
    signed). No event, no checkpoint: the empty tree anchors nothing."""
    from harness_audit.capture.collect import CollectSettings
    from harness_audit.capture.collect import collect as receive

    done = receive(CollectSettings(**ctx.params), _say)
    _say(f"stopped: {done.progress}; {done.final()}")
    if done.dropped:
        _say("not events: " + ", ".join(f"{n:,} {why}" for why, n in done.dropped.items()))
    if not done.final_signed and done.seq:
        raise typer.Exit(ExitCode.FINDINGS)  # events that no checkpoint anchors
