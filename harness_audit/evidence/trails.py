"""Which trails a pipeline has, which keys anchor them, and the judgement of the checks on
them: verify first, then judge every event (EVIDENCE.md)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness_audit.evidence.judge import Evidence, Judge
from harness_audit.manifest.model import Pipeline
from harness_audit.trail.reader import ReadStats, read_events


def trail_paths(pipeline: Pipeline, override: Path | None) -> list[Path] | None:
    """``--trails`` if given, else the manifest's ``trail.path`` beside it, if it exists."""
    if override is not None:
        return [override]
    if pipeline.trail.path:
        p = Path(pipeline.file).parent / pipeline.trail.path
        if p.exists():
            return [p]
    return None


def public_keys(pipeline: Pipeline) -> list[str]:
    """The manifest's ``trail.public_key`` beside it, if the file exists."""
    if pipeline.trail.public_key:
        p = Path(pipeline.file).parent / pipeline.trail.public_key
        if p.exists():
            return [str(p)]
    return []


def judge_trails(pipeline: Pipeline, paths: Sequence[Path], sample: int = 0, seed: int = 0,
                 keys: Sequence[str] | None = None, jobs: int = 1) -> Evidence:
    """Verify the trails, then judge every control on their events, in one pass."""
    from harness_audit.trail.note import load_verifiers
    from harness_audit.trail.verify import verify_trail

    verifiers = load_verifiers(list(keys if keys is not None else public_keys(pipeline)))
    report = verify_trail(paths, verifiers, jobs=jobs)
    judge = Judge(pipeline, sample, seed)
    stats = ReadStats()
    for file, line, ev in read_events(paths, stats):
        judge.feed(file, line, ev)
    evidence = judge.finish(stats.files, stats.events, stats.skipped)
    evidence.verify = report
    for a in pipeline.agents:
        if not a.in_trail or a.id not in judge.seen:
            continue
        c = evidence.control(a.id, "trail_is_immutable")
        c.operated = report.events
        if report.status == "failed":
            first = next(x for x in report.problems if not x.warning)
            c.fail(f"the trail does not verify: {first.kind} at {first.file}:{first.line} "
                   f"(seq {first.seq}): {first.detail}", None)
        elif report.status == "intact_unanchored" and \
                pipeline.trail.integrity == "signed_checkpoints":
            c.fail("the chain is intact but no checkpoint signed by trail.public_key anchors "
                   "it: its tail could have been cut", None)
    return evidence
