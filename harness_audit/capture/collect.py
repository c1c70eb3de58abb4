"""``harness-audit collect`` as one call: check the settings, open the trail (the writer's lock
refuses a second receiver on the folder), serve until SIGTERM or SIGINT, then sign the final
checkpoint. Nothing here prints: progress goes to the ``say`` callback, and the counters of
the run are returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_audit.capture.server import DEFAULT_MAX_BODY_BYTES
from harness_audit.errors import Diagnostic, UsageError


@dataclass(frozen=True, slots=True)
class CollectSettings:
    """The receiver's settings, as ``collect`` takes them (see its ``--help``)."""

    key: Path
    origin: str
    output: Path
    listen: str = "127.0.0.1:4318"
    allow_remote: bool = False
    map_file: Path | None = None
    manifest: Path | None = None
    pipeline: str = "collected"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_spans: int = 100_000
    max_items: int = 4_000_000
    max_connections: int = 0
    idle_timeout: float = 60.0
    read_timeout: float = 60.0
    checkpoint_every: int = 10_000
    checkpoint_seconds: float = 30.0
    progress_seconds: float = 10.0
    shard: str | None = None
    acknowledge: str = "local"


@dataclass(frozen=True, slots=True)
class Collected:
    """What one run of the receiver did: its last counters and the trail's summary.

    ``seq`` is the trail's size, ``signed`` the tree size of the newest checkpoint its key
    signed (None: none; never the empty tree), ``final_signed`` whether the final checkpoint
    was signed at shutdown, ``error`` why not (a full disk)."""

    progress: str
    seq: int
    dropped: dict[str, int]
    signed: int | None = None
    final_signed: bool = False
    error: str | None = None

    def final(self) -> str:
        """What was signed, said as it is: the final checkpoint, or why there is none and
        what the newest checkpoint anchors."""
        if self.final_signed:
            return f"final checkpoint at tree size {self.seq:,}"
        if self.seq == 0:
            return "no event received: no checkpoint signed (the empty tree anchors nothing)"
        last = (
            f"the newest checkpoint signed is at tree size {self.signed:,}, so "
            f"{self.seq - self.signed:,} events after it are not anchored"
            if self.signed
            else f"no checkpoint was signed, so none of the {self.seq:,} events is anchored"
        )
        return (
            f"NO final checkpoint ({self.error or 'the trail could not be written'}); {last}: "
            "run collect again on this folder once it can be written, and it signs them"
        )


def listen_address(listen: str, allow_remote: bool) -> tuple[str, int]:
    """``--listen`` as (host, port); a non-loopback host only with ``allow_remote``."""
    from harness_audit.capture.server import is_loopback, parse_listen

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
    return host, port


ACKNOWLEDGE = ("local", "uploaded")
"""When ``collect`` answers 200: once the request is fsynced locally, or once it is uploaded."""


def check_acknowledge(mode: str, output: Path) -> None:
    """``--acknowledge``: ``uploaded`` only for a trail in object storage (``s3://``)."""
    from harness_audit.trail.store import url_of

    if mode not in ACKNOWLEDGE:
        raise UsageError(
            Diagnostic("--acknowledge", f"{mode!r}", expected=" or ".join(ACKNOWLEDGE))
        )
    if mode == "uploaded" and url_of(output) is None:
        raise UsageError(
            Diagnostic(
                "--acknowledge",
                "uploaded: the output is a local folder, where the fsync is the durability",
                expected="-o s3://bucket/prefix",
            )
        )


def require_otel_extra() -> None:
    """The receiver needs aiohttp and opentelemetry-proto (the ``otel`` extra)."""
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


def collect(settings: CollectSettings, say: Callable[[str], None]) -> Collected:
    """Receive OTLP/HTTP traces into the trail folder ``settings.output`` until SIGTERM or
    SIGINT; a bad setting, or an address that cannot be bound, is a :class:`UsageError`."""
    import asyncio
    import signal

    from harness_audit.capture.server import CannotListen, Limits, Receiver, serve
    from harness_audit.capture.sink import TrailSink
    from harness_audit.importers import load_mapping
    from harness_audit.keys import load_signer

    s = settings
    host, port = listen_address(s.listen, s.allow_remote)
    check_acknowledge(s.acknowledge, s.output)
    require_otel_extra()
    signer = load_signer(s.key)
    mapping = load_mapping(s.map_file, s.manifest)
    sink = TrailSink(
        s.output,
        s.origin,
        signer,
        mapping=mapping,
        pipeline=s.pipeline,
        checkpoint_every=s.checkpoint_every,
        checkpoint_seconds=s.checkpoint_seconds,
        shard=s.shard,
        acknowledge=s.acknowledge,
    )
    limits = Limits(
        s.max_body_bytes,
        s.max_body_bytes * 4,
        s.max_spans,
        s.max_items,
        max_connections=s.max_connections,
        idle_timeout=s.idle_timeout,
        read_timeout=s.read_timeout,
    )
    receiver = Receiver(sink, host, port, limits, say, s.progress_seconds)
    resumed = sink.seq

    def bound(address: tuple[str, int]) -> None:
        h = f"[{address[0]}]" if ":" in address[0] else address[0]
        say(
            f"listening on http://{h}:{address[1]}/v1/traces, sealing into "
            f"{s.output} (origin {s.origin}"
            + (f", resuming at seq {resumed:,}" if resumed else "")
            + ")"
        )

    async def main() -> None:
        """Serve until SIGTERM or SIGINT."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(receiver, stop, bound)

    try:
        asyncio.run(main())
    except CannotListen as e:  # the address is taken, or not ours to bind
        sink.close()
        raise UsageError(
            Diagnostic("--listen", f"cannot listen on {s.listen}: {e.strerror or e}")
        ) from None
    summary: dict[str, Any] = sink.summary()
    return Collected(
        receiver.progress(),
        summary["seq"],
        summary["dropped"],
        summary["signed"],
        summary["final_signed"],
        summary["error"],
    )
