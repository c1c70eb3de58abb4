"""Importers: foreign traces -> trail events (``trail import``), framework definitions -> a
draft manifest (``init``). One module per source format (``registry``); this module is the
library API the CLI calls. Nothing here prints or exits; errors are
:class:`~harness_audit.importers.base.ImportFormatError` (a ``HarnessAuditError``).

Trace import::

    job = TraceImport(paths, fmt="auto", mapping=load_mapping(map_file, manifest))
    for raw in job.events():      # RawEvent(file, line, event) in trail order
        writer.append(raw.event)
    summary = job.summary()       # the import.json dict, less origin and signer

or, sealed into a trail folder with its import.json (the one place that file is built)::

    summary = import_to_folder(job, folder, origin, signer)

Definitions::

    text = draft_manifest(paths, fmt="auto")   # YAML text; loads with load_manifest
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness_audit.importers.base import (
    ImportFormatError,
    ImportStats,
    Mapping,
    fail,
    load_mapping,
    sha256_file,
)
from harness_audit.importers.probe import Probe
from harness_audit.importers.unknown import Settle
from harness_audit.trail.source import RawEvent

if TYPE_CHECKING:  # detect imports every format module: loaded when a job starts, not here
    from harness_audit.importers.detect import Detected
    from harness_audit.importers.draft import Draft
    from harness_audit.trail.note import Signer

__all__ = [
    "ImportFormatError",
    "Mapping",
    "TraceImport",
    "describe_foreign",
    "detect_definition",
    "detect_trace",
    "draft_from_trail",
    "draft_manifest",
    "draft_to_file",
    "import_files",
    "import_to_folder",
    "import_trace",
    "load_mapping",
]


def detect_trace(path: Path, fmt: str = "auto") -> Detected:
    """Which trace format ``path`` is; with ``fmt`` given, check that it is that format.

    Raises :class:`ImportFormatError` naming what the file looks like and the nearest format.
    """
    from harness_audit.importers import detect

    return detect.trace(path, fmt)


def detect_definition(paths: list[Path], fmt: str = "auto") -> tuple[str, list[Path]]:
    """Which definition format the sources are, and the files of it (folders expanded)."""
    from harness_audit.importers import detect

    return detect.definition(paths, fmt)


@dataclass
class TraceImport:
    """One ``trail import`` job: events from every source, then the summary for import.json."""

    paths: list[Path]
    fmt: str = "auto"
    mapping: Mapping = field(default_factory=Mapping)
    pipeline: str = "imported"
    stats: ImportStats = field(default_factory=ImportStats)
    sources: list[dict[str, Any]] = field(default_factory=list)
    started: str = ""
    settle: Settle = field(default_factory=Settle)

    def events(self) -> Iterator[RawEvent]:
        """Every imported event, source by source, run by run, in trail order.

        Each source is probed once (format detection), and its reader takes the probe's parse
        of a whole document rather than parsing again; with several sources, the parses are
        let go after detection (one document in memory at a time) and made again by the
        readers. Each source's ``sha256`` is of the bytes its reading read, as it read them.
        Unknowns are marked as each event goes out (never 0 or 1970: IMPORT.md)."""
        from harness_audit.importers import claude_code, detect, openhands_sdk, swe_agent
        from harness_audit.importers.reads import ReadLog
        from harness_audit.importers.registry import TRACE_FORMATS, source_files

        self.started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        files = source_files(self.paths)
        if not files:
            raise fail("-", "no source files given", expected="one or more trace files")
        configs: dict[Path, Any] = {}
        todo: list[tuple[Path, Detected, Probe]] = []
        with ReadLog() as log:
            for p in files:
                side = claude_code.side_file(p) if self.fmt in ("auto", claude_code.NAME) else None
                if side is None and self.fmt in ("auto", openhands_sdk.NAME):
                    side = openhands_sdk.side_file(p)
                if side is not None:  # read with the transcripts beside it
                    self.sources.append({"file": str(p), "sha256": sha256_file(p), "format": side})
                    continue
                probe = Probe.of(p)
                cfg = swe_agent.config_of(probe) if self.fmt in ("auto", "swe-agent") else None
                if cfg is not None:
                    configs[p.parent / p.name] = cfg
                    self.sources.append(
                        {"file": str(p), "sha256": probe.yaml_sha256, "format": "swe-agent config"}
                    )
                    continue
                d = detect.trace(p, self.fmt, probe)
                probe.release(keep_json=len(files) == 1)  # one parse in memory at a time
                todo.append((p, d, probe))
            for p, d, probe in todo:
                before = sum(self.stats.events.values())
                read_before = self.stats.records
                entry: dict[str, Any] = {
                    "file": str(p),
                    "sha256": "",
                    "format": d.format,
                    "looks_like": d.looks_like,
                }
                self.sources.append(entry)
                if d.format == swe_agent.NAME:  # the one reader that takes the configs beside it
                    read = swe_agent.read(
                        p, self.mapping, self.stats, self.pipeline, probe, configs=configs
                    )
                else:
                    read = TRACE_FORMATS[d.format].read(
                        p, self.mapping, self.stats, self.pipeline, probe
                    )
                settle = self.settle.event  # unknowns marked, never 0 or 1970 (IMPORT.md)
                try:
                    for raw in read:
                        yield settle(raw)
                finally:
                    # a reader left half-read (the consumer stopped) is closed here: a compiled
                    # generator (mypyc) is not closed when let go, and a reader's ``with``
                    # (a session's spill directory) must end either way
                    close = getattr(read, "close", None)
                    if close is not None:
                        close()
                probe.release()
                entry["events"] = sum(self.stats.events.values()) - before
                entry["sha256"] = _digest_read(log, p)
                deviations = list(probe.deviations)
                if probe.leading_blank and probe.is_jsonl:
                    deviations.insert(0, "blank line(s) before the first record: skipped")
                if deviations:  # envelopes and small deviations, named (IMPORT.md)
                    entry["deviations"] = deviations
                _refuse_nothing_mapped(
                    p, d, entry["events"], self.stats.records - read_before, probe.size
                )

    def summary(self) -> dict[str, Any]:
        """The ``import.json`` content: sources, counts, mapping, time, and what sealing means."""
        return {
            "harness_audit_import": 1,
            "imported_at": self.started,
            "format_requested": self.fmt,
            "sources": self.sources,
            "pipeline": self.pipeline,
            "runs": self.stats.runs,
            "records_read": self.stats.records,
            # every record read is mapped into an event or dropped with its reason, once
            "records_mapped": self.stats.mapped,
            "records_dropped": sum(self.stats.dropped.values()),
            "events": dict(sorted(self.stats.events.items())),
            "dropped": dict(sorted(self.stats.dropped.items())),
            "no_run": dict(sorted(self.stats.units.items())),
            "unknown": self.settle.summary(),
            "warnings": self.settle.warnings(),
            "mapping": self.mapping.summary(),
            "limits": limits(),
            "notes": [
                *self.stats.notes,
                "Sealing at import proves that nothing changed after the import; the "
                "source format itself proved nothing about what happened before it.",
            ],
        }


def _refuse_nothing_mapped(path: Path, d: Detected, events: int, read: int, size: int) -> None:
    """Refuse a source that is not empty but of which nothing was mapped: sealed, it would be
    an empty trail that verifies, read as "nothing happened" when the reader did not read it
    (a shape taken for another: Phoenix span exports for OTLP). The refusal names the format
    it was read as and what it looked like."""
    if events or size == 0:
        return
    dropped = f"{read:,} record(s) read, all dropped" if read else "no record read"
    raise fail(
        str(path),
        f"read as {d.format} ({d.looks_like}) but nothing in it mapped to an event "
        f"({dropped}); it is not sealed as an empty trail",
        expected=f"a source of the {d.format} format with at least one span, call or step "
        "(or give --from the format it is)",
    )


def limits() -> dict[str, Any]:
    """The bounds ``trail import`` reads under, as ``import.json`` states them."""
    from harness_audit.importers.base import (
        MAX_DOCUMENT_BYTES,
        MAX_DOCUMENT_VALUES,
        MAX_LINE_BYTES,
    )
    from harness_audit.importers.otlp import MAX_BUFFERED_SPANS, MAX_OPEN_TRACES

    return {
        "document_bytes": MAX_DOCUMENT_BYTES,
        "document_values": MAX_DOCUMENT_VALUES,
        "line_bytes": MAX_LINE_BYTES,
        "line_values": MAX_DOCUMENT_VALUES,
        "otlp_open_traces": MAX_OPEN_TRACES,
        "otlp_buffered_spans": MAX_BUFFERED_SPANS,
        "notes": [
            "A whole document (JSON, gzip or not) is read and parsed once, by detection and "
            "reading alike and under the same bounds: at most document_bytes of text once "
            "decompressed, and document_values values (each value parsed is a Python object). "
            "Larger traces are read as JSON Lines, one record at a time, each at most "
            "line_bytes and line_values.",
            "A trace's spans are placed (agents above, model-call wrappers, each event's "
            "parent) in time linear in the spans, however deep its parent chain.",
            "sha256: of each source's stored bytes (a gzip file's compressed bytes), taken as "
            "the import read them.",
        ],
    }


def _digest_read(log: Any, path: Path) -> str:
    """The SHA-256 of ``path``'s bytes as its reading read them (``log``: the ReadLog)."""
    digest = log.digests.get(str(path))
    if not digest:  # every reader reads its source to the end: a source that was not is
        # no import of it
        raise fail(str(path), "was not read to its end", expected="a file that stays readable")
    return str(digest)


def import_trace(
    paths: list[Path], fmt: str = "auto", mapping: Mapping | None = None, pipeline: str = "imported"
) -> TraceImport:
    """A :class:`TraceImport` job (iterate ``.events()``, then read ``.summary()``)."""
    return TraceImport(list(paths), fmt, mapping or Mapping(), pipeline)


def import_to_folder(
    job: TraceImport,
    folder: Path,
    origin: str,
    signer: Signer,
    jobs: int | None = None,
    inputs: Sequence[Path] = (),
    shard: str | None = None,
) -> dict[str, Any]:
    """Seal the job's events into the trail folder ``folder`` (new or empty; built whole or
    not at all, never over one of ``inputs``) with ``import.json`` beside them, and return
    the import.json content: :meth:`TraceImport.summary` with the trail's origin and signer.
    Its checkpoint says, under the signature, that it sealed an import and the SHA-256 of each
    source (:func:`~harness_audit.trail.provenance.import_line`).

    ``jobs``: 1 reads and seals in one process, 2 seals in a second one (the default where
    there are two CPUs); the trail is the same."""
    from harness_audit._fs import write_folder_from
    from harness_audit._json import dumps
    from harness_audit.trail.provenance import import_line
    from harness_audit.trail.sealer import default_jobs, seal_events

    def marker() -> list[str]:  # under the signature: an import, and what it read (provenance)
        # (a source whose reading did not end, in an import that failed, has no digest yet)
        return [import_line([str(s["sha256"]) for s in job.sources if s["sha256"]])]

    def fill(into: Path) -> dict[str, Any]:
        seal_events(
            job.events(),
            into,
            origin,
            signer,
            jobs or default_jobs(),
            extensions=marker,
            discard=into,  # the hidden folder being built: gone with this process
            shard=shard,  # periods as shards: <folder>/<period>/ (trail/shards.py)
        )
        summary = job.summary()
        summary["origin"] = origin
        summary["signer"] = signer.verifier.text()
        (into / "import.json").write_text(dumps(summary), encoding="utf-8")
        return summary

    from harness_audit.trail.store import url_of

    url = url_of(folder)  # never a local folder named "s3:"
    if url is not None:  # sealed locally, then uploaded whole, never over an object
        import tempfile

        from harness_audit.trail.s3store import S3Store

        store = S3Store(url)
        store.create()  # refuses a prefix that holds a trail, before any work
        with tempfile.TemporaryDirectory(prefix="harness-audit-import-") as tmp:
            summary = fill(Path(tmp) / "trail")
            built = Path(tmp) / "trail"
            if shard is None:
                store.upload_folder(built)
            else:  # each shard a trail under its own prefix
                from harness_audit.trail.shards import shard_folders

                for part in shard_folders(built):
                    S3Store(f"{store.url}/{part.name}").upload_folder(part)
        return summary
    return write_folder_from(folder, fill, inputs)


def draft_manifest(
    paths: list[Path],
    fmt: str = "auto",
    name: str | None = None,
    unseen: list[str] | None = None,
) -> str:
    """The draft manifest YAML for framework definitions (fails closed; see ``draft``);
    ``unseen``, when given, gets what the readers could not read (``FILE:LINE: what``, also in
    the draft's ``x-import.notes``) for the caller to show."""
    from harness_audit.importers import draft, effects

    d = read_definitions(paths, fmt)
    effects.propose_all(d)  # proposed from the tools' own code: comments, never the effect
    if unseen is not None:
        unseen.extend(d.unseen)
    return draft.render(d, name=name)


def read_definitions(paths: list[Path], fmt: str = "auto") -> Draft:
    """The draft of every framework the sources are written with (``fmt`` one of them, or
    ``auto``: all found, the main one first, the others' agents taken in; their formats joined
    by ``+`` in ``x-import.format``). A file another framework's reader finds no agent in is
    said in the notes, never dropped unsaid."""
    from harness_audit.importers import detect
    from harness_audit.importers.registry import DEFINITION_FORMATS

    groups = detect.definition_groups(paths, fmt)
    d = DEFINITION_FORMATS[groups[0][0]].read(groups[0][1])
    for other, files in groups[1:]:
        try:
            sub = DEFINITION_FORMATS[other].read(files)
        except ImportFormatError as e:
            d.unseen.append(f"{', '.join(str(f) for f in files[:3])}: {other}: {e}")
            continue
        d.absorb(sub)
        d.format = f"{d.format}+{other}"
    return d


def draft_from_trail(folder: Path, name: str | None = None) -> str:
    """The draft manifest YAML of what the trail at ``folder`` shows ran (``init --from-trail``;
    fails closed as every draft: see ``from_trail``)."""
    from harness_audit.importers import draft, from_trail

    return draft.render(from_trail.draft_from_trail(folder), name=name)


def import_files(
    sources: list[Path],
    folder: Path,
    origin: str,
    key: Path,
    fmt: str = "auto",
    map_file: Path | None = None,
    manifest: Path | None = None,
    jobs: int | None = None,
    shard: str | None = None,
    manifest_name: str | None = None,
) -> dict[str, Any]:
    """``harness-audit trail import``: the traces at ``sources`` sealed with the signer key
    file ``key`` into the new or empty trail folder ``folder`` (:func:`import_to_folder`),
    names mapped by ``map_file`` and ``manifest`` (whose name is the pipeline's, else
    ``imported``; recorded as ``manifest_name`` when given); the import.json content."""
    from harness_audit._fs import fresh_folder
    from harness_audit.keys import load_signer
    from harness_audit.manifest import load_manifest

    inputs = [*sources, key, *(p for p in (map_file, manifest) if p is not None)]
    fresh_folder(folder, inputs, "import")
    signer = load_signer(key)
    pipeline = load_manifest(manifest).name if manifest else "imported"
    job = import_trace(sources, fmt, load_mapping(map_file, manifest, manifest_name), pipeline)
    return import_to_folder(job, folder, origin, signer, jobs, inputs, shard)


def draft_to_file(
    paths: list[Path],
    output: Path,
    fmt: str = "auto",
    name: str | None = None,
    force: bool = False,
    unseen: list[str] | None = None,
    trail: Path | None = None,
) -> int:
    """``harness-audit init``: write the draft manifest of :func:`draft_manifest` to
    ``output``, never over a file unless ``force``, nor over one of ``paths``; the number of
    fields it leaves to declare (``# TODO: declare``). With ``trail``, the draft is of what that
    trail shows ran (``init --from-trail``), not of definitions."""
    from harness_audit._fs import refuse_overwriting, write_atomic
    from harness_audit.errors import Diagnostic, UsageError

    if output.exists() and not force:
        raise UsageError(
            Diagnostic(
                str(output),
                "already exists; init never overwrites a file silently",
                expected="--force, or another -o",
            )
        )
    refuse_overwriting([output], [p for p in paths if p.is_file()])
    text = draft_from_trail(trail, name) if trail is not None else None
    if text is None:
        text = draft_manifest(paths, fmt, name, unseen)
    write_atomic(output, text)
    return text.count("# TODO: declare")


def describe_foreign(path: Path) -> str | None:
    """One line saying what a foreign trace/definition file is and which command converts it.

    None when the file is not recognisably foreign (a manifest or trail of our own, or unknown).
    """
    from harness_audit.importers import detect

    return detect.describe_foreign(path)
