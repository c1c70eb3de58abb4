"""One audit run: manifests, trails, waivers and baseline in, an :class:`Assessment` out.

``scan`` and ``report`` both call :func:`run_audit` with an :class:`AuditRequest`, so a report
pack always carries the same judgement, waivers and trails as the scan of the same settings.
The command line resolves each setting once (flag, then the project config, then the default;
see ``cli/_options.py``); what is left to resolve here are the defaults that depend on files:
the waivers file beside the working directory and each manifest's own ``trail.path``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness_audit.trust import TrustRoot

if TYPE_CHECKING:
    from harness_audit.checks.assessment import Assessment
    from harness_audit.evidence.model import Evidence
    from harness_audit.evidence.period import Period
    from harness_audit.evidence.sampling import Drawn
    from harness_audit.manifest.model import Pipeline

DEFAULT_MAX_MANIFEST_BYTES = 5 * 2**20


@dataclass(frozen=True, slots=True)
class AuditRequest:
    """What to audit and how; every field already resolved from flag, config and default."""

    paths: tuple[Path, ...] = (Path("."),)
    trails: Path | None = None  # None: each manifest's trail.path, where it exists
    use_trails: bool = True
    trust: TrustRoot = field(default_factory=TrustRoot)  # pinned keys (else the manifest key)
    sample: int = 0
    seed: int = 0
    jobs: int = 1
    waivers: Path | None = None  # None: .harness-audit-waivers.yaml when it exists
    baseline: Path | None = None
    max_manifest_bytes: int = DEFAULT_MAX_MANIFEST_BYTES
    period: Period | None = None  # events outside it are counted, not judged
    max_gap_s: float | None = None  # None: the manifest's trail.x-expected-activity, else 24 h
    population_dir: Path | None = None  # where every population CSV is written (the report)
    for_pack: bool = False  # the judging pass keeps what the pack shows (see judge_trails)
    sealed_late_after_s: float | None = None  # None: 24 h (trail/provenance.py)
    dask: str | None = None  # a Dask scheduler's address: verify on its cluster (trail/cluster.py)
    names: tuple[tuple[str, str], ...] = ()
    """How the run names files it made itself (a draft, an imported trail in a temporary folder
    that is gone when it ends): (path or folder prefix, name), e.g. the draft's place in the
    pack; what the findings, the evidence and the reports say instead of that path."""

    def name(self, file: str) -> str:
        """``file`` as the run reports it: its name from :attr:`names`, else as given."""
        for path, name in self.names:
            if file == path or (path.endswith(os.sep) and file.startswith(path)):
                return name + file[len(path) :]
        return file


@dataclass(frozen=True, slots=True)
class JudgedTrail:
    """One pipeline's trails and what they showed."""

    paths: tuple[Path, ...]
    evidence: Evidence
    populations: Path | None = None  # the folder of the population CSVs, when written
    samples: Drawn = field(default_factory=dict)  # the work paper's, drawn from those CSVs


@dataclass(frozen=True)
class AuditRun:
    """Everything a renderer or the evidence pack needs from one run."""

    request: AuditRequest
    targets: tuple[Path, ...]
    pipelines: tuple[Pipeline, ...]
    trails: dict[str, JudgedTrail]
    waiver_file: Path | None
    assessment: Assessment
    inputs: tuple[tuple[str, Path], ...] = field(default=())  # (kind, file) read by the run
    trail_folders: tuple[Path, ...] = field(default=())  # what the trails were read from

    @property
    def protected(self) -> list[Path]:
        """Every input of the run, files and folders: no output may be, or replace, one."""
        return [*(p for _, p in self.inputs), *self.trail_folders, *self.request.paths]

    def refuse_overwriting(self, outputs: Iterable[Path]) -> None:
        """No output may be, or replace, an input file or a trail folder of the run."""
        from harness_audit._fs import refuse_overwriting

        folders = self.trail_folders
        refuse_overwriting(outputs, [p for p in self.protected if p.is_file() or p in folders])

    @property
    def evidence(self) -> dict[str, Evidence]:
        """Each pipeline's evidence, by pipeline name."""
        return {name: t.evidence for name, t in self.trails.items()}


def waiver_file(request: AuditRequest) -> Path | None:
    """The waivers file the run applies: the one asked for, else the default when present."""
    from harness_audit.waivers import DEFAULT_FILE

    if request.waivers is not None:
        return request.waivers
    return Path(DEFAULT_FILE) if Path(DEFAULT_FILE).is_file() else None


def judge_all(request: AuditRequest, pipelines: tuple[Pipeline, ...]) -> dict[str, JudgedTrail]:
    """Each pipeline's evidence: its trails (``trails``, else its ``trail.path``), judged.

    With ``jobs`` > 1 and several pipelines with trails, the pipelines are judged in that many
    processes at once (each verifying its trails with one), the results taken in the
    pipelines' order: the same evidence as one after the other. A pipeline whose process
    failed is judged again here, so its error is raised as it would be without ``jobs``.
    Each pipeline's samples are drawn as soon as it is judged, in its process (:func:`_judge`),
    so the draw overlaps the other pipelines' judging."""
    if not request.use_trails:
        return {}
    from harness_audit.evidence.trails import trail_paths

    todo = [(p, tuple(found)) for p in pipelines if (found := trail_paths(p, request.trails))]
    workers = min(request.jobs, len(todo)) if request.dask is None else 1
    if workers <= 1:
        return {p.name: _judge(request, p, paths) for p, paths in todo}
    import dataclasses
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    one = dataclasses.replace(request, jobs=1)  # a process per pipeline is the parallelism
    out = {}
    context = multiprocessing.get_context("fork")  # the modules are loaded already
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [pool.submit(_judge, one, p, paths) for p, paths in todo]
        for (p, paths), future in zip(todo, futures, strict=True):
            try:
                out[p.name] = future.result()
            except Exception:  # judged here again, to raise the error itself
                out[p.name] = _judge(request, p, paths)
    return out


def _judge(request: AuditRequest, p: Pipeline, paths: tuple[Path, ...]) -> JudgedTrail:
    """One pipeline's trails judged, its population CSVs written and the work paper's samples
    drawn from them (when asked: ``population_dir``)."""
    from harness_audit.evidence.population import PopulationSpool
    from harness_audit.evidence.trails import judge_trails

    folder = request.population_dir
    spool = PopulationSpool(folder, p.name) if folder else None
    try:
        evidence = judge_trails(
            p,
            paths,
            request.sample,
            request.seed,
            jobs=request.jobs,
            trust=request.trust,
            period=request.period,
            max_gap_s=request.max_gap_s,
            spool=spool,
            for_pack=request.for_pack,
            sealed_late_after_s=request.sealed_late_after_s,
            dask=request.dask,
            named=request.name,
        )
    finally:
        if spool is not None:
            spool.close()
    if folder is None:
        return JudgedTrail(paths, evidence)
    from harness_audit.evidence.sampling import draw_samples

    return JudgedTrail(
        paths, evidence, folder, draw_samples(p, evidence, folder, request.seed, request.sample)
    )


def run_audit(request: AuditRequest) -> AuditRun:
    """Load, judge, assess, then apply waivers and the baseline."""
    from harness_audit.checks import assess
    from harness_audit.evidence.trails import public_keys
    from harness_audit.manifest import discover, load_all
    from harness_audit.trail.verify import trail_files
    from harness_audit.waivers import apply, load_baseline, load_waivers

    targets = tuple(discover(list(request.paths)))
    wfile = waiver_file(request)
    waivers = load_waivers(wfile) if wfile else []
    known = load_baseline(request.baseline) if request.baseline else None
    from harness_audit.foreign import named_trail_files

    pipelines = tuple(load_all(list(targets), max_bytes=request.max_manifest_bytes))
    if request.trails is not None and request.use_trails:
        named_trail_files([request.trails])
    trails = judge_all(request, pipelines)
    assessment = apply(
        assess(pipelines, {n: t.evidence for n, t in trails.items()}), waivers, known
    )
    if request.names:  # the run's own files by the names that outlive it
        assessment = _named(assessment, request)
    inputs: list[tuple[str, Path]] = [("manifest", t) for t in targets]
    for p in pipelines:
        if p.name in trails:
            inputs += [("trail", f) for f in trail_files(list(trails[p.name].paths))]
            inputs += [("verifier key", Path(k)) for k in public_keys(p)]
    inputs += request.trust.inputs()
    if wfile:
        inputs.append(("waivers", wfile))
    folders = tuple(path for t in trails.values() for path in t.paths)
    return AuditRun(request, targets, pipelines, trails, wfile, assessment, tuple(inputs), folders)


def _named(assessment: Assessment, request: AuditRequest) -> Assessment:
    """The assessment with each pipeline's file and each finding's file as the run names them
    (:attr:`AuditRequest.names`)."""
    return dataclasses.replace(
        assessment,
        pipelines=tuple(
            dataclasses.replace(
                p,
                pipeline=dataclasses.replace(p.pipeline, file=request.name(p.pipeline.file)),
                findings=tuple(
                    dataclasses.replace(f, file=request.name(f.file)) for f in p.findings
                ),
            )
            for p in assessment.pipelines
        ),
    )
