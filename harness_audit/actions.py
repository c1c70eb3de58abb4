"""What each command of the command line does, below the parsing (issue 21, move 3): the
command line (:mod:`harness_audit.cli`) parses, calls one function here, renders what it
returns and sets the exit code it returns.

Each function takes a command's settings (``s``: its options by parameter name, each already
resolved from flag, config file and default; ``from_config``: the names whose value came from
the config file), a ``say`` that prints one line for the person (stderr) and, where a command
prints results as lines, a ``show`` (stdout); both escape what they print
(:func:`harness_audit.report.inert.terminal`). Where a command renders a result, it takes a
``render(result, targets)``. The exit code is an :class:`~harness_audit.errors.ExitCode`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness_audit.errors import Diagnostic, ExitCode, UsageError

if TYPE_CHECKING:
    from harness_audit.audit import AuditRequest
    from harness_audit.trust import TrustRoot

Say = Callable[[str], None]
"""Print one line (escaped) for the person: stderr, or stdout for a command's result lines."""
Render = Callable[[Any, list[tuple[str, Path]]], None]
"""Render a result in the command's ``--format``, to its ``--output`` targets or stdout."""
Settings = Mapping[str, Any]


def _code(failed: bool) -> ExitCode:
    return ExitCode.FINDINGS if failed else ExitCode.OK


def setting_source(name: str, from_config: Collection[str]) -> str:
    """Where a setting's value came from, as the pack says it: the flag, or the config file."""
    if name in from_config:
        from harness_audit.config import load_config

        return f"the config's {name} ({load_config(Path('.'))[1] or 'config'})"
    return f"--{name.replace('_', '-')}"


def trust_root(s: Settings, from_config: Collection[str]) -> TrustRoot:
    """The trust options of ``scan``, ``report``, ``verify`` and ``replay`` (``--key``,
    ``--checkpoint``, ``--trusted-state``, ``--witness-key``, ``--witness-quorum`` and, where
    taken, ``--require-pinned``) as one value. Keys from the config are pinned as the
    config's."""
    from harness_audit.trust import TrustRoot

    return TrustRoot(
        tuple(s["key"] or ()),
        "config" if "key" in from_config else "flag",
        tuple(s["checkpoint"] or ()),
        s["trusted_state"],
        tuple(s["witness_key"] or ()),
        s["witness_quorum"],
        s.get("require_pinned", False),
    )


def sealed_late_after(s: Settings) -> float | None:
    """``--sealed-late-after`` in seconds (none when not given)."""
    late = s.get("sealed_late_after")
    if not late:
        return None
    from harness_audit.evidence.period import parse_duration  # the judge's package: not before

    return parse_duration(late, "--sealed-late-after")


def audit_request(
    s: Settings,
    from_config: Collection[str],
    paths: list[Path] | None,
    baseline: Path | None,
    names: tuple[tuple[str, str], ...] = (),
) -> AuditRequest:
    """The audit request of ``scan`` and ``report``, from the settings they share; fails
    early (exit 2) on a key that does not load. ``names``: the run's own files as it reports
    them (direct.py)."""
    from harness_audit.audit import DEFAULT_MAX_MANIFEST_BYTES, AuditRequest
    from harness_audit.evidence.period import parse_duration, parse_period

    trust = trust_root(s, from_config)
    trust.check()
    period = s["period"]
    return AuditRequest(
        tuple(paths or [Path(".")]),
        s["trails"],
        not s["no_trails"],
        trust,
        s["sample"],
        s["seed"],
        s["jobs"],
        s["waivers"],
        baseline,
        s.get("max_manifest_bytes", DEFAULT_MAX_MANIFEST_BYTES),
        sealed_late_after_s=sealed_late_after(s),
        period=parse_period(period, setting_source("period", from_config)) if period else None,
        max_gap_s=parse_duration(s["max_gap"], "--max-gap") if s["max_gap"] else None,
        dask=s["dask"],
        names=names,
    )


def scan(s: Settings, from_config: Collection[str], render: Render, say: Say) -> ExitCode:
    """``scan``: stage the definitions and traces given directly, run the audit, write the
    baseline when asked, warn of waivers, render the assessment."""
    import tempfile

    from harness_audit import direct
    from harness_audit.audit import run_audit
    from harness_audit.manifest import discover
    from harness_audit.report import SCAN
    from harness_audit.report.outputs import output_targets
    from harness_audit.waivers import write_baseline

    fmt = s["fmt"] or SCAN.names[0]
    paths, baseline, write_to = s["paths"], s["baseline"], s["write_baseline"]
    if write_to and baseline and not baseline.exists():
        baseline = None  # the first --write-baseline of a configured baseline: none to read yet
    settings = dict(s)
    with tempfile.TemporaryDirectory(prefix="harness-audit-direct-") as work:
        # definitions and traces given directly: drafted and imported in the run (issue 25)
        staged = direct.stage(list(paths or []), Path(work), None, bool(s["trails"]))
        direct.apply(settings, staged)
        for said in staged.said:
            say(said)
        if staged.said:
            paths = staged.manifests
            say(
                f"findings name the draft {direct.DRAFTED}/harness.yaml: keep it with "
                "`harness-audit init` (a pack keeps it there)"
            )
        request = audit_request(settings, from_config, paths, baseline, staged.names())
        targets = output_targets(SCAN, fmt, s["output"], discover(list(request.paths)))
        run = run_audit(request)
        assessment = run.assessment
        run.refuse_overwriting([*(p for _, p in targets), *([write_to] if write_to else [])])
        if write_to:
            count = write_baseline(assessment, write_to)
            say(f"wrote the baseline ({count} findings) to {write_to}")
        for w in assessment.waivers:
            if warning := w.warning():
                say(f"harness-audit: warning: {warning}")
        render(assessment, targets)
        return _code(assessment.fails(s["fail_on"]))


def verify(
    s: Settings,
    from_config: Collection[str],
    render: Render,
    progress: Callable[[int], AbstractContextManager[Callable[[int], None] | None]] | None = None,
) -> ExitCode:
    """``verify``: the trails against the trust root; ``progress(total bytes)`` may give,
    while the trails are read, a callback told the bytes read."""
    from harness_audit.foreign import named_trail_files
    from harness_audit.report import VERIFY
    from harness_audit.report.outputs import output_targets
    from harness_audit.trail.checkpoints import default_checkpoints
    from harness_audit.trail.provenance import DEFAULT_SEALED_LATE_S
    from harness_audit.trail.store import store_of
    from harness_audit.trail.verify import verify_trail

    trail = s["trail"]
    late = sealed_late_after(s) or DEFAULT_SEALED_LATE_S  # a duration is never 0
    trust = trust_root(s, from_config)
    trust.verifiers()
    files = named_trail_files(trail)
    inputs = [*trail, *files, *default_checkpoints(trail, files)]
    keys = [p for _, p in trust.inputs(witness_keys=False)]
    targets = output_targets(VERIFY, s["fmt"], s["output"], [*inputs, *keys])
    trust.witnesses()
    total = sum(store_of(str(f)).size(str(f)) for f in files)
    with progress(total) if progress else nullcontext(None) as told:
        report = verify_trail(trail, trust, s["jobs"], s["allow_unanchored"], told, late, s["dask"])
    render(report, targets)
    return _code(not report.ok)


def replay(s: Settings, from_config: Collection[str], render: Render, say: Say) -> ExitCode:
    """``replay``: one run, the runs of a subject, or the list of runs, of a verified trail;
    ``--export`` discloses one run with its proofs."""
    from harness_audit._fs import fresh_folder
    from harness_audit.evidence.replay import (
        export_verified,
        replay_verified,
        runs_verified,
        subject_verified,
    )
    from harness_audit.foreign import named_trail_files
    from harness_audit.report import REPLAY
    from harness_audit.report.outputs import output_targets

    trail, run, subject, since = s["trail"], s["run"], s["subject"], s["since"]
    list_runs, export, manifest = s["list_runs"], s["export"], s["manifest"]
    allow = s["allow_unanchored"]
    modes = (run is not None) + (subject is not None and not list_runs) + list_runs
    if modes != 1 or (list_runs and run is not None) or (since is not None and not list_runs):
        raise UsageError(
            Diagnostic(
                "replay",
                "give one of --run RUN, --subject S or --list (--since only with --list)",
                expected="replay TRAIL --run RUN | --subject S | --list [--subject S] [--since T]",
            )
        )
    if export and run is None:
        raise UsageError(
            Diagnostic("replay", "--export discloses one run", expected="--run RUN --export DIR")
        )
    trust = trust_root(s, from_config)
    trust.verifiers()
    keys = [p for _, p in trust.inputs(witness_keys=False)]
    inputs = [*trail, *named_trail_files(trail), *([manifest] if manifest else []), *keys]
    targets = output_targets(REPLAY, s["fmt"], s["output"], inputs)
    if export:
        fresh_folder(export, inputs)
    trust.witnesses()
    if list_runs:
        listed = runs_verified(trail, trust, subject, since, allow)
        render(listed, targets)
        return _code(not listed.integrity.ok)
    if run is None:
        many = subject_verified(trail, subject, trust, manifest, allow)
        render(many, targets)
        return _code(not all(r.integrity.ok for r in many.items))
    result = replay_verified(trail, run, trust, manifest, allow)
    integrity = result.integrity
    if export:
        checkpoint = s["checkpoint"]
        count = export_verified(trail, result, export, checkpoint[0] if checkpoint else None)
        if count is None:
            say(
                f"harness-audit: not exported: the trail's integrity is {integrity.status}; "
                "an unverified run is not disclosed as fact"
            )
        else:
            say(f"exported {count} events and their proofs to {export}")
    render(result, targets)
    return _code(not integrity.ok)


def report(s: Settings, from_config: Collection[str], say: Say, show: Say) -> ExitCode:
    """``report``: the evidence pack; ``report verify DIR``, ``report resample DIR`` and
    ``--summary-only`` too."""
    from harness_audit.keys import load_signer, load_verifiers

    paths, output, key = s["paths"], s["output"], s["key"]
    if paths and paths[0] == "verify":
        if len(paths) != 2:
            raise UsageError(
                Diagnostic(
                    "report verify", "give one pack folder", expected="report verify DIR --key KEY"
                )
            )
        from harness_audit.report.pack import verify_pack

        result = verify_pack(Path(paths[1]), load_verifiers(key))
        for line in result.lines:
            show(line)
        show("pack: VERIFIED" if result.ok else "pack: FAILED")
        return _code(not result.ok)
    if paths and paths[0] == "resample":
        return _resample(paths, s["seed"], s["size"], key, say, show)
    if output is None:
        raise UsageError(
            Diagnostic("report", "--output DIR is required", expected="report PATH... --output DIR")
        )
    if s["summary_only"]:
        return _summary_only(s, from_config, say)
    return _pack(s, from_config, say, load_signer(s["sign_key"]) if s["sign_key"] else None)


def _pack(s: Settings, from_config: Collection[str], say: Say, signer: Any) -> ExitCode:
    import tempfile

    from harness_audit import direct
    from harness_audit.report.pack import write_pack

    paths, output = s["paths"], s["output"]
    settings = dict(s)
    with tempfile.TemporaryDirectory(prefix="harness-audit-direct-") as work:
        # definitions and traces given directly: drafted and imported in the run (issue 25)
        given = [Path(p) for p in paths or []]
        staged = direct.stage(given, Path(work), s["sign_key"], bool(s["trails"]))
        direct.apply(settings, staged)
        for said in staged.said:
            say(said)
        request = audit_request(
            settings, from_config, staged.manifests, s["baseline"], staged.names()
        )
        run, files = write_pack(
            request,
            output,
            s["ai_act_date"],
            signer,
            not s["no_pdf"],
            s["preparer"],
            s["population_out"],
            s["tsc"],
            staged.pack_files(),
            staged.inputs,
        )
    shown = sorted(  # the summary first, as in the pack
        (n for n in files if "/" not in n and not n.startswith("SHA256SUMS")),
        key=lambda n: (not n.startswith("summary."), n),
    )
    csvs = sum(1 for n in files if n.startswith("populations/"))
    shown += [f"populations/ ({csvs} CSV)"] if csvs else []
    shown += [  # drafted and imported in the run (direct.py), inside the signed sums
        f"{d}/ ({what})"
        for d, what in (("drafted", "the draft manifest"), ("imported", "the imported trail"))
        if any(n.startswith(f"{d}/") for n in files)
    ]
    say(
        f"wrote the evidence pack to {output}: {', '.join(shown)}, SHA256SUMS"
        + (", SHA256SUMS.sig" if signer else "")
    )
    return _code(run.assessment.fails(s["fail_on"]))


def _resample(
    paths: list[str], seed: int, size: int, key: list[str] | None, say: Say, show: Say
) -> ExitCode:
    """``report resample PACK``: one CSV line per sampled row (CSV, seq, run, time)."""
    import csv
    import io

    from harness_audit.keys import load_verifiers
    from harness_audit.report.inert import terminal
    from harness_audit.report.resample import resample

    if len(paths) != 2:
        raise UsageError(
            Diagnostic(
                "report resample",
                "give one pack folder",
                expected="report resample DIR --seed S --size N [--key KEY]",
            )
        )
    drawn = resample(Path(paths[1]), seed, size, load_verifiers(key) if key else [])
    rows = [("csv", "seq", "run", "ts")]
    rows += [(x.csv, x.row["seq"], x.row["run"], x.row["ts"]) for x in drawn.rows]
    for row in rows:
        line = io.StringIO()
        csv.writer(line, lineterminator="").writerow(tuple(terminal(v) for v in row))
        show(line.getvalue())
    say(
        f"{len(drawn.rows):,} row(s) drawn from {drawn.controls:,} population(s), seed {seed}, "
        f"up to {size} per control; "
        + (
            "the pack's signature verified first"
            if drawn.signed
            else "the CSVs match SHA256SUMS, but its signature was not checked (give --key)"
        )
    )
    return ExitCode.OK


def _summary_only(s: Settings, from_config: Collection[str], say: Say) -> ExitCode:
    """``report --summary-only``: the summary pages alone, as a PDF at ``--output``."""
    from harness_audit.report.summary import write_summary

    for flag, given in (
        ("--no-pdf", s["no_pdf"]),
        ("--sign-key", s["sign_key"] is not None),
        ("--population-out", s["population_out"] is not None),
    ):
        if given:
            raise UsageError(
                Diagnostic(
                    "report --summary-only",
                    f"{flag} does not go with --summary-only: it writes one unsigned PDF and "
                    "nothing else",
                    expected="report PATH... --summary-only -o summary.pdf (the signed pack "
                    "holds the same pages as summary.pdf)",
                )
            )
    paths = [Path(p) for p in s["paths"] or []]
    run, _ = write_summary(audit_request(s, from_config, paths, s["baseline"]), s["output"])
    pipelines = len(run.assessment.pipelines)
    say(f"wrote the summary ({pipelines} pipeline(s), one page each) to {s['output']}")
    return _code(run.assessment.fails("any"))


def init(s: Settings, say: Say, show: Say, write: Say) -> ExitCode:
    """``init``: draft a manifest from definitions or from a trail (``write``: the draft on
    stdout, as it is), or ``--check`` a manifest against the code."""
    from harness_audit.importers import draft_from_trail, draft_manifest, draft_to_file

    paths, source, output, name = s["paths"], s["source"], s["output"], s["name"]
    from_trail, check, force = s["from_trail"], s["check"], s["force"]
    if from_trail is not None:
        if paths or check is not None or source != "auto":
            raise UsageError(
                Diagnostic(
                    "--from-trail",
                    "drafts from a trail alone: no definitions, --from or --check with it",
                    expected="harness-audit init --from-trail DIR -o harness.yaml",
                )
            )
        if str(output) == "-":
            write(draft_from_trail(from_trail, name))
            return ExitCode.OK
        todo = draft_to_file([from_trail], output, name=name, force=force, trail=from_trail)
        say(
            f"wrote the draft manifest {output} from the trail {from_trail}: {todo} field(s) "
            "to declare (# TODO: declare); what ran, not what is declared"
        )
        return ExitCode.OK
    if check is not None:
        return _drift(check, list(paths or []), source, say, show)
    sources = list(paths or [Path(".")])
    unseen: list[str] = []
    if str(output) == "-":
        write(draft_manifest(sources, source, name, unseen))
    else:
        todo = draft_to_file(sources, output, source, name, force, unseen)
        say(
            f"wrote the draft manifest {output}: {todo} field(s) to declare "
            "(# TODO: declare); `harness-audit scan` judges it as it stands"
        )
    if unseen:  # what the readers could not read: drafted as explicit unknowns (fail closed)
        say(
            f"could not read {len(unseen)} thing(s) the code computes at run time; drafted "
            "as unknowns that fail their checks until declared:"
        )
        for u in unseen:
            say(f"  {u}")
    return ExitCode.OK


def _drift(manifest: Path, paths: list[Path], source: str, say: Say, show: Say) -> ExitCode:
    """``init --check``: the drift lines, exit 1 when there are any."""
    from harness_audit.importers.drift import check

    drift, unseen = check(manifest, paths, source)
    for x in drift:
        show(str(x))
    for u in unseen:
        say(f"not compared (computed at run time): {u}")
    if drift:
        say(
            f"{manifest}: {len(drift)} difference(s) between the code and the manifest; "
            "update the manifest (or the code)"
        )
        return ExitCode.FINDINGS
    say(f"{manifest}: in step with the code")
    return ExitCode.OK


def trail_import(s: Settings, say: Say) -> ExitCode:
    """``trail import``: traces into a sealed trail folder plus ``import.json``; exit 1 when
    no event came of them."""
    from harness_audit.importers import import_files

    summary = import_files(
        s["sources"],
        s["output"],
        s["origin"],
        s["key"],
        s["source_format"],
        s["map_file"],
        s["manifest"],
        s["jobs"],
        s["shard"],
    )
    events = sum(summary["events"].values())
    dropped = sum(summary["dropped"].values())
    formats = ", ".join(sorted({str(x["format"]) for x in summary["sources"]}))
    say(
        f"imported {events:,} events in {summary['runs']:,} run(s) from "
        f"{len(summary['sources'])} source(s) ({formats}); "
        f"{summary['records_read']:,} record(s) read: {summary['records_mapped']:,} mapped, "
        f"{dropped:,} dropped (see import.json); sealed into {s['output']}"
    )
    for warning in summary.get("warnings", []):
        say(f"warning: {warning}")
    return _code(not events)


def collect(s: Settings, say: Say) -> ExitCode:
    """``collect``: receive and seal until stopped; exit 1 when events are left that no
    checkpoint anchors."""
    from harness_audit.capture.collect import CollectSettings
    from harness_audit.capture.collect import collect as receive

    def told(message: str) -> None:
        say(f"collect: {message}")

    done = receive(CollectSettings(**s), told)
    told(f"stopped: {done.progress}; {done.final()}")
    if done.dropped:
        told("not events: " + ", ".join(f"{n:,} {why}" for why, n in done.dropped.items()))
    return _code(not done.final_signed and bool(done.seq))


def cosign(s: Settings, say: Say) -> tuple[ExitCode, str | None]:
    """``trail checkpoint cosign``: the cosigned checkpoint, or exit 1 and none."""
    import time

    from harness_audit.trail.witness import cosign_file

    result = cosign_file(
        s["file"], s["key"], s["log_key"], s["state"], s["proof"], s["output"], int(time.time())
    )
    if result.note is None:
        say(f"harness-audit: not cosigned: {result.refused}")
        return ExitCode.FINDINGS, None
    return ExitCode.OK, result.note
