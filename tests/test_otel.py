"""The in-process exporter: `TrailSpanExporter` under a `BatchSpanProcessor` writes a trail
that verifies and that `scan --trails` judges; its lock and its shutdown."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

from harness_audit.errors import TrailError
from harness_audit.otel import TrailSpanExporter
from harness_audit.trail.note import Signer
from harness_audit.trail.verify import verify_trail
from tests.collectkit import EVENTS_PER_RUN, agent_run, events, keys
from tests.test_collect import check_scan


def test_exporter_writes_a_verified_trail_that_scan_judges(tmp_path: Path) -> None:
    key, pub = keys(tmp_path)
    exporter = TrailSpanExporter(tmp_path / "trail", "test/otel", key_file=key, checkpoint_every=40)
    tp = TracerProvider(resource=Resource.create({"service.name": "research-crew"}))
    tp.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=512))
    tracer = tp.get_tracer("test")
    for i in range(15):
        agent_run(tracer, i)
        if i == 7:  # two batches: a checkpoint is signed between batches past 40 events
            tp.force_flush()
    tp.shutdown()  # flushes the processor, then the exporter's final checkpoint
    evs = events(tmp_path / "trail")
    assert len(evs) == 15 * EVENTS_PER_RUN
    assert Counter(e["kind"] for e in evs)["spawn"] == 15
    assert {e["agent"] for e in evs if e["kind"] == "model_call"} == {"planner", "web_researcher"}
    verifier = Signer.parse(key.read_text()).verifier
    report = verify_trail([tmp_path / "trail"], [verifier])
    assert report.ok
    assert len(list((tmp_path / "trail" / "checkpoints").iterdir())) >= 2
    check_scan(tmp_path, tmp_path / "trail", pub)


def test_one_writer_per_folder_and_export_after_shutdown(tmp_path: Path) -> None:
    signer = Signer.generate("k")
    first = TrailSpanExporter(tmp_path / "t", "o", signer)
    with pytest.raises(TrailError, match="another trail writer"):
        TrailSpanExporter(tmp_path / "t", "o", signer)
    first.shutdown()
    assert first.export([]) == SpanExportResult.FAILURE
    first.shutdown()  # twice is harmless
    again = TrailSpanExporter(tmp_path / "t", "o", signer)  # the lock was released
    assert again.force_flush()
    again.shutdown()
