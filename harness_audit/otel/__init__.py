"""In-process capture: an OpenTelemetry SDK ``SpanExporter`` that seals spans into a trail.

::

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from harness_audit.otel import TrailSpanExporter

    exporter = TrailSpanExporter("trail/", origin="harness-audit/my-pipeline",
                                 key_file="audit.key")
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=512))

Each exported batch goes through the same span reading
(:func:`harness_audit.importers.otlp.make_span`), streaming mapping
(:mod:`harness_audit.capture.stream`) and durable sink (:class:`harness_audit.capture.TrailSink`)
as ``harness-audit collect``: ``export`` returns ``SUCCESS`` once the batch's events are
fsynced; a checkpoint is signed every ``checkpoint_every`` events, every ``checkpoint_seconds``
and at ``shutdown``. Needs ``harness-audit[otel]`` (``opentelemetry-sdk``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from harness_audit.capture.sink import InvalidBatch, TrailSink, Unavailable
from harness_audit.importers.base import Mapping
from harness_audit.importers.otlp import make_span
from harness_audit.importers.spans import Span
from harness_audit.trail.note import Signer

__all__ = ["TrailSpanExporter", "span_of"]

_STATUS = {1: "ok", 2: "error"}


def _attrs(raw: Any) -> dict[str, Any]:
    if not raw:
        return {}
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in raw.items()}


def span_of(s: Any, line: int = 0) -> tuple[str, Span] | None:
    """(trace id, normalised span) of one SDK ``ReadableSpan``; None without valid ids."""
    ctx = s.context
    if ctx is None or not ctx.trace_id or not ctx.span_id:
        return None
    parent = s.parent
    pid = f"{parent.span_id:016x}" if parent is not None and parent.span_id else None
    start = s.start_time or 0
    end = s.end_time or start
    events = [(e.name, _attrs(e.attributes), e.timestamp) for e in s.events[:1000]]
    res = s.resource.attributes if s.resource is not None else None
    status = _STATUS.get(int(s.status.status_code.value), "unset") if s.status else "unset"
    span = make_span(
        f"{ctx.span_id:016x}",
        pid,
        s.name,
        start,
        end,
        line,
        status,
        _attrs(s.attributes),
        dict(res) if res else None,
        events,
    )
    return f"{ctx.trace_id:032x}", span


class TrailSpanExporter(SpanExporter):  # type: ignore[misc,unused-ignore]
    """A ``SpanExporter`` writing a sealed, signed trail into ``folder`` (see the module doc).

    Give the signer as ``signer`` (a :class:`~harness_audit.trail.note.Signer`) or
    ``key_file`` (``NAME.key`` from ``trail keygen``). The folder's lock allows one writer:
    a second exporter or ``collect`` on the same folder is refused at construction."""

    def __init__(
        self,
        folder: str | Path,
        origin: str,
        signer: Signer | None = None,
        *,
        key_file: str | Path | None = None,
        mapping: Mapping | None = None,
        pipeline: str = "collected",
        checkpoint_every: int = 10_000,
        checkpoint_seconds: float = 30.0,
        shard: str | None = None,
        acknowledge: str = "local",
    ) -> None:
        if signer is None and key_file is not None:
            from harness_audit.keys import load_signer

            signer = load_signer(Path(key_file))
        self.sink = TrailSink(
            Path(folder),
            origin,
            signer,
            mapping=mapping,
            pipeline=pipeline,
            checkpoint_every=checkpoint_every,
            checkpoint_seconds=checkpoint_seconds,
            shard=shard,  # "month" or "quarter": periods as shards (trail/shards.py)
            acknowledge=acknowledge,  # "uploaded": SUCCESS once the batch is in the bucket
        )
        self._line = 0
        self._shut = False

    def export(self, spans: Sequence[Any]) -> Any:
        """Map and seal a batch of finished spans; ``SUCCESS`` once they are fsynced."""
        if self._shut:
            return SpanExportResult.FAILURE
        batch = []
        for s in spans:
            self._line += 1
            got = span_of(s, self._line)
            if got is None:
                self.sink.stats.drop("span without a valid trace id and span id")
            else:
                batch.append(got)
        try:
            self.sink.write(batch)
        except (Unavailable, InvalidBatch):
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Everything exported is durable already; sign a checkpoint of it now."""
        try:
            self.sink.checkpoint()
        except Unavailable:
            return False
        return True

    def shutdown(self) -> None:
        """Sign the final checkpoint and release the trail folder."""
        if not self._shut:
            self._shut = True
            self.sink.close()
