"""``harness-audit collect``: the OTLP/HTTP receiver that seals what it receives.

Registered as every command is (:func:`~harness_audit.cli._app.command`); it parses its options,
opens the trail (the writer's lock refuses a second receiver on the folder), serves until
SIGTERM or SIGINT, then signs the final checkpoint. Progress and counters go to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from harness_audit import keys as _keys
from harness_audit.cli import _options as opt
from harness_audit.cli._app import app, command
from harness_audit.errors import Diagnostic, UsageError


def _say(message: str) -> None:
    print(f"collect: {message}", file=sys.stderr, flush=True)


@command(app)
def collect(
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
) -> None:
    """Receive OTLP/HTTP traces (POST /v1/traces, protobuf or JSON, gzip) and seal them
    into a trail; answer 200 only once the events are fsynced. SIGTERM: flush, sign a
    final checkpoint, exit 0."""
    import asyncio
    import signal

    from harness_audit.capture.server import (
        Limits,
        Receiver,
        is_loopback,
        parse_listen,
        serve,
    )
    from harness_audit.capture.sink import TrailSink

    try:
        host, port = parse_listen(listen)
    except ValueError as e:
        raise UsageError(Diagnostic("--listen", f"{listen!r}: {e}")) from None
    if not is_loopback(host) and not allow_remote:
        raise UsageError(
            Diagnostic(
                "--listen",
                f"{host} is not a loopback address",
                expected="127.0.0.1:PORT, or --allow-remote",
            )
        )
    import importlib.util

    if (
        importlib.util.find_spec("aiohttp") is None
        or importlib.util.find_spec("opentelemetry.proto") is None
    ):
        raise UsageError(
            Diagnostic(
                "collect",
                "needs the otel extra (aiohttp and opentelemetry-proto)",
                expected="pip install 'harness-audit[otel]'",
            )
        )
    from harness_audit.importers import load_mapping

    signer = _keys.load_signer(key)
    mapping = load_mapping(map_file, manifest)
    sink = TrailSink(
        output,
        origin,
        signer,
        mapping=mapping,
        pipeline=pipeline,
        checkpoint_every=checkpoint_every,
        checkpoint_seconds=checkpoint_seconds,
    )
    limits = Limits(max_body_bytes, max_body_bytes * 4, max_spans)
    receiver = Receiver(sink, host, port, limits, _say, progress_seconds)
    resumed = sink.seq

    def bound(address: tuple[str, int]) -> None:
        h = f"[{address[0]}]" if ":" in address[0] else address[0]
        _say(
            f"listening on http://{h}:{address[1]}/v1/traces, sealing into "
            f"{output} (origin {origin}"
            + (f", resuming at seq {resumed:,}" if resumed else "")
            + ")"
        )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(receiver, stop, bound)

    try:
        asyncio.run(main())
    except OSError as e:  # the address is taken, or not ours to bind
        sink.close()
        raise UsageError(
            Diagnostic("--listen", f"cannot listen on {listen}: {e.strerror or e}")
        ) from None
    s = sink.summary()
    _say(f"stopped: {receiver.progress()}; final checkpoint at tree size {s['seq']:,}")
    if s["dropped"]:
        _say("not events: " + ", ".join(f"{n:,} {why}" for why, n in s["dropped"].items()))
