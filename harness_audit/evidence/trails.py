"""Which trails a pipeline has, which keys anchor them, and the judgement of the checks on
them: verify first, then judge every event by what verified of it (EVIDENCE.md).

Fail closed: a key found through the manifest is a claim made next to the evidence, not a trust
root, so the result records where the anchoring key came from and whether it was pinned (given
by flag or config). What an event proves is decided per line, by its position in the signed
tree (issue 23, items 2 and 3): an event whose leaf is in the tree the anchoring checkpoint
signed is evidence of what it says, even when its link fields (``hash``, which the leaf
leaves out; a ``prev`` or ``seq`` the signer signed) are damaged, which fails
``trail_is_immutable``; any other event that decodes (after the anchor, or with no anchor)
may prove a failure but never a pass, whatever problems its line has, so a check never passes
because an incriminating event was damaged. A torn last line (no leaf) and a line that does
not decode are never evidence. Neither the problems verification kept (a bounded list) nor
the ``seq`` an event claims decides anything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from msgspec import UNSET

from harness_audit.checks.registry import REGISTRY
from harness_audit.evidence.excerpts import RunExcerpts
from harness_audit.evidence.judge import MAX_OPEN_RUNS, Judge
from harness_audit.evidence.model import Evidence, Observation, TrailTrust
from harness_audit.evidence.period import (
    DEFAULT_MAX_GAP_S,
    EXPECTED_ACTIVITY_KEY,
    Coverage,
    Period,
    expected_gap,
    iso,
)
from harness_audit.evidence.population import PopulationSpool
from harness_audit.manifest.model import Pipeline
from harness_audit.trail.provenance import DEFAULT_SEALED_LATE_S
from harness_audit.trail.reader import ReadStats, read_decoded
from harness_audit.trust import KeySource, TrustRoot

__all__ = [
    "KeySource",
    "TrailTrust",
    "TrustRoot",
    "judge_trails",
    "public_keys",
    "trail_paths",
]


def _manifest_path(pipeline: Pipeline, value: str, setting: str) -> Path:
    """A path the manifest names, beside it and confined to its project (CLI.md)."""
    from harness_audit._fs import confined, project_root

    manifest = Path(pipeline.file)
    where = f"{pipeline.file}:{pipeline.trail.line}" if pipeline.trail.line else pipeline.file
    return confined(Path(value), manifest.parent, project_root(manifest), setting, where)


def trail_paths(pipeline: Pipeline, override: Path | None) -> list[Path] | None:
    """``--trails`` if given, else the manifest's ``trail.path`` beside it, if it exists."""
    if override is not None:
        return [override]
    from harness_audit.trail.store import url_of

    if pipeline.trail.path and url_of(pipeline.trail.path):  # never a path beside the manifest
        return [Path(pipeline.trail.path)]
    if pipeline.trail.path:
        p = _manifest_path(pipeline, pipeline.trail.path, "trail.path")
        if p.exists():
            return [p]
    return None


def public_keys(pipeline: Pipeline) -> list[str]:
    """The manifest's ``trail.public_key`` beside it, if the file exists."""
    if pipeline.trail.public_key:
        p = _manifest_path(pipeline, pipeline.trail.public_key, "trail.public_key")
        if p.exists():
            return [str(p)]
    return []


def _key_id(text: str | None) -> str | None:
    if not text:
        return None
    name, _, rest = text.partition("+")
    return f"{name}+{rest.partition('+')[0]}"


def judge_trails(
    pipeline: Pipeline,
    paths: Sequence[Path],
    sample: int = 0,
    seed: int = 0,
    jobs: int = 1,
    trust: TrustRoot | None = None,
    period: Period | None = None,
    max_gap_s: float | None = None,
    spool: PopulationSpool | None = None,
    for_pack: bool = False,
    sealed_late_after_s: float | None = None,
    dask: str | None = None,
    named: Callable[[str], str] | None = None,
) -> Evidence:
    """Verify the trails with the trust root, then judge every control on their events, in
    one pass (no trust root: the manifest's own key, unpinned).

    Events outside ``period`` are counted, not judged; coverage gaps longer than ``max_gap_s``
    (else the manifest's ``trail.x-expected-activity``, else 24 h) are HA-209 observations.
    ``spool`` receives every population row (for re-performable samples). With ``for_pack``
    the same pass keeps the events of the runs of the shown exceptions
    (:attr:`Evidence.excerpts`) and hashes the files (:attr:`Evidence.digests`), so the pack
    never reads the trails again. ``sealed_late_after_s`` (default 24 h): a trail signed
    longer than this after its last anchored event was sealed after the fact, as an import is
    (:attr:`TrailTrust.sealed_after_the_fact`). ``dask``: a Dask scheduler's address, to
    verify on its cluster (:mod:`~harness_audit.trail.cluster`). ``named`` names each trail
    file as the run reports it (:meth:`AuditRequest.name`)."""
    from harness_audit.trail.note import load_verifiers
    from harness_audit.trail.verify import verify_trail

    trust = trust or TrustRoot()
    source: KeySource | None = trust.key_source if trust.keys else None
    if not trust.keys:
        manifest_keys = load_verifiers(public_keys(pipeline))
        source = "manifest" if manifest_keys else None
        trust = dataclasses.replace(trust, keys=tuple(manifest_keys), key_source=source)
    late_s = DEFAULT_SEALED_LATE_S if sealed_late_after_s is None else sealed_late_after_s
    report = verify_trail(paths, trust, jobs, sealed_late_after_s=late_s, dask=dask)
    prov = report.provenance
    anchored = report.anchor.size if report.anchor else 0  # leaves the signed tree covers
    judge = Judge(pipeline, sample, seed, spool)
    coverage = _coverage(pipeline, period, max_gap_s)
    for c in report.witnesses:
        coverage.checkpoint(iso(dt.datetime.fromtimestamp(c.timestamp, dt.UTC)))
    for signed in prov.checkpoint_times:  # the writer was signing then (not an import's time)
        coverage.checkpoint(signed)
    stats = ReadStats(hash_files=for_pack)
    runs = RunExcerpts(judge.shown_runs, MAX_OPEN_RUNS) if for_pack else None
    last_file = shown = ""  # the file of the last event and its name, named once a file
    for file, line, _, ev in read_decoded(paths, stats, salvaged=True):  # one generator
        if file is not last_file:
            last_file, shown = file, named(file) if named is not None else file
        file = shown
        # anchored by its place in the signed tree; a torn line (no leaf) is never evidence;
        # one outside the period is not judged; one whose source stated no time (x_time) is
        # judged but placed nowhere: no evidence of coverage or of timeliness
        leaf = stats.leaf
        if leaf is not None and (
            coverage.event(ev.ts) if ev.x_time is UNSET else coverage.unstated_time(ev.x_time)
        ):
            judge.feed(file, line, ev, leaf < anchored)
        if runs is not None:  # the excerpts show every event of a run, as the trail has it
            runs.feed(file, line, ev)
    files = [named(f) for f in stats.files] if named is not None else stats.files
    evidence = judge.finish(files, stats.events, stats.skipped)
    if spool is not None:  # every control whose population is events has its CSV
        for a in pipeline.agents:
            for name, spec in REGISTRY.items():
                if spec.rows:
                    spool.touch(a.id, name)
    if runs is not None:
        evidence.excerpts = runs.finish()
        evidence.digests = stats.digests
    evidence.coverage = coverage
    coverage.close()
    for g in coverage.gaps():
        evidence.observations.append(
            Observation(
                "HA-209",
                None,
                f"no event and no checkpoint from {g.start} to {g.end} "
                f"({g.hours:,.1f} h, more than the {coverage.max_gap_s / 3600:g} h allowed by "
                f"{coverage.max_gap_source}): the controls cannot be shown to have operated then",
                None,
                f"gap:{g.start}",
            )
        )
    evidence.verify = report
    pinned = source in ("flag", "config") and report.anchor is not None
    evidence.trust = TrailTrust(
        report.status,
        _key_id(report.anchor.key) if report.anchor else None,
        source if report.anchor else None,
        pinned,
        len(report.witnesses),
        max(0, report.events - anchored),
        prov.signed_at,
        None if coverage.unstated else prov.sealed_after_s,
        prov.imported is not None,
        late_s,
        _unstated_reason(coverage.unstated) or prov.sealed_after_fact_reason(),
        _store_retention(pipeline, paths),
        coverage.unstated,
    )
    for spec in REGISTRY.values():  # the checks judged on the verification report
        if spec.on_verify is not None:
            spec.on_verify(pipeline, evidence, trust)
    return evidence


def _unstated_reason(n: int) -> str | None:
    """Why a trail with events of unstated time (x_time) proves what its source said, not
    when: how long after them it was sealed is not known (None: every time was stated)."""
    if not n:
        return None
    return (
        f"{n:,} event(s) carry no time their source stated (x_time: unknown, placed): how long "
        "after its events the trail was sealed is not proven, nor that the period was covered"
    )


def _store_retention(pipeline: Pipeline, paths: Sequence[Path]) -> Any:
    """What the object store shows of the trails' retention (issue 27, item 2), for trails in
    ``s3://``; None for a local folder (its retention is declared, not proven)."""
    from harness_audit.trail.store import url_of

    urls = [u for u in map(url_of, paths) if u is not None]
    if not urls:
        return None
    from harness_audit.trail.s3store import retention_evidence

    return retention_evidence(urls[0], pipeline.trail.retention_days)


def _coverage(pipeline: Pipeline, period: Period | None, max_gap_s: float | None) -> Coverage:
    """The coverage tracker, with the allowed gap from the flag or config, else the manifest's
    ``trail.x-expected-activity``, else the default."""
    if max_gap_s is not None:
        return Coverage(period, max_gap_s, "--max-gap")
    declared = expected_gap(pipeline.file, pipeline.trail.line)
    if declared is not None:
        return Coverage(period, declared, f"the manifest's trail.{EXPECTED_ACTIVITY_KEY}")
    return Coverage(period, DEFAULT_MAX_GAP_S, "the default")
