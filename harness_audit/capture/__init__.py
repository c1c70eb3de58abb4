"""Capture at the source: spans, as they arrive, sealed into a trail (``collect``, and the
in-process exporter :class:`harness_audit.otel.TrailSpanExporter`).

- :mod:`.decode`: one OTLP/HTTP body (protobuf or JSON, gzip) -> ``(trace id, span)``, bounded.
- :mod:`.stream`: spans -> trail events, incrementally (the streaming reading of a trace).
- :mod:`.sink`: events -> the trail writer, durable when :meth:`TrailSink.write` returns.
- :mod:`.server`: the aiohttp receiver (``POST /v1/traces``); needs ``harness-audit[otel]``.

Library use::

    sink = TrailSink(Path("trail"), "harness-audit/my-pipeline", Signer.parse(key_text))
    sink.write(decode(body, "application/x-protobuf"))   # durable on return
    sink.close()                                          # final signed checkpoint
"""

from __future__ import annotations

from harness_audit.capture.decode import Rejected, decode
from harness_audit.capture.sink import Counters, InvalidBatch, TrailSink, Unavailable
from harness_audit.capture.stream import StreamMapper

__all__ = [
    "Counters",
    "InvalidBatch",
    "Rejected",
    "StreamMapper",
    "TrailSink",
    "Unavailable",
    "decode",
]
