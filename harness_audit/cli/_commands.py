"""The commands of the audit, the trails and the views. Each parses its arguments, calls the
library, renders, and sets the exit code.

Heavy modules are imported inside the commands so ``--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from harness_audit import keys as _keys
from harness_audit.cli import _options as opt
from harness_audit.cli._app import (
    app,
    callback,
    checkpoint_app,
    command,
    emit,
    rules_app,
    trail_app,
    write_or_print,
)
from harness_audit.errors import Diagnostic, ExitCode, UsageError
from harness_audit.report import GRAPH, REPLAY, RULE, RULES, SCAN, SLA, VERIFY
from harness_audit.report.outputs import output_targets


def _setting_source(ctx: typer.Context, name: str) -> str:
    """Where a setting's value came from, as the pack says it: the flag, or the config file."""
    source = ctx.get_parameter_source(name)
    if source is not None and source.name == "DEFAULT_MAP":  # typer's Click, whichever it is
        from harness_audit.config import load_config

        return f"the config's {name} ({load_config(Path('.'))[1] or 'config'})"
    return f"--{name.replace('_', '-')}"


def _request(ctx: typer.Context, paths: list[Path] | None, baseline: Path | None) -> Any:
    """The audit request of ``scan`` and ``report``, from the options they share (their values
    in ``ctx.params``, each already resolved from flag, config and default)."""
    from harness_audit.audit import AuditRequest
    from harness_audit.evidence.period import parse_period

    p = ctx.params
    trust = opt.trust_root(ctx)
    trust.check()  # fail early, with exit 2, on a key that does not load
    late = p.get("sealed_late_after")
    return AuditRequest(
        tuple(paths or [Path(".")]),
        p["trails"],
        not p["no_trails"],
        trust,
        p["sample"],
        p["seed"],
        p["jobs"],
        p["waivers"],
        baseline,
        p.get("max_manifest_bytes", opt.DEFAULT_MAX_MANIFEST_BYTES),
        sealed_late_after_s=_duration(late, "--sealed-late-after") if late else None,
        period=parse_period(p["period"], _setting_source(ctx, "period")) if p["period"] else None,
        max_gap_s=_duration(p["max_gap"], "--max-gap") if p["max_gap"] else None,
        dask=p.get("dask"),
    )


def _files(trust: Any) -> list[Path]:
    """The files the trust options of ``verify`` and ``replay`` name (not the witness keys)."""
    return [p for _, p in trust.inputs(witness_keys=False)]


def _duration(text: str, setting: str) -> float:
    from harness_audit.evidence.period import parse_duration

    return parse_duration(text, setting)


# --- scan ------------------------------------------------------------------------------------


@command(app)
def scan(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Manifests, or directories to search for harness.yaml / *.harness.yaml."
        ),
    ] = None,
    fmt: opt.ScanFormat = None,
    output: opt.Outputs = None,
    fail_on: opt.FailOn = "any",
    max_manifest_bytes: Annotated[
        int, typer.Option("--max-manifest-bytes", min=1, help="Refuse manifests larger than this.")
    ] = opt.DEFAULT_MAX_MANIFEST_BYTES,
    trails: opt.Trails = None,
    no_trails: opt.NoTrails = False,
    key: opt.VerifierKeys = None,
    checkpoint: opt.Checkpoints = None,
    trusted_state: opt.TrustedState = None,
    witness_key: opt.WitnessKeys = None,
    witness_quorum: opt.WitnessQuorum = None,
    require_pinned: opt.RequirePinned = False,
    sealed_late_after: opt.SealedLateAfter = None,
    sample: opt.Sample = 0,
    seed: opt.Seed = 0,
    jobs: opt.Jobs = 1,
    dask: opt.Dask = None,
    period: opt.Period = None,
    max_gap: opt.MaxGap = None,
    waivers: opt.Waivers = None,
    baseline: opt.Baseline = None,
    write_baseline: Annotated[
        Path | None,
        typer.Option("--write-baseline", help="Write the current findings as the baseline."),
    ] = None,
) -> None:
    """Find and validate manifests, run the seven checks per agent (on the trails too, where
    there are trails), print the gap scores. Defaults come from [tool.harness-audit] in
    pyproject.toml or .harness-audit.yaml; flags win."""
    from harness_audit.audit import run_audit
    from harness_audit.cli._io import terminal
    from harness_audit.manifest import discover
    from harness_audit.waivers import write_baseline as write_fingerprints

    fmt_name = fmt or SCAN.names[0]
    if write_baseline and baseline and not baseline.exists():
        baseline = None  # the first --write-baseline of a configured baseline: none to read yet
    import tempfile

    from harness_audit import direct

    with tempfile.TemporaryDirectory(prefix="harness-audit-direct-") as work:
        # definitions and traces given directly: drafted and imported in the run (issue 25)
        staged = direct.stage(list(paths or []), Path(work), None, bool(ctx.params["trails"]))
        direct.apply(ctx.params, staged)
        for said in staged.said:
            print(terminal(said), file=sys.stderr)
        if staged.said:
            paths = staged.manifests
        request = _request(ctx, paths, baseline)
        targets = output_targets(SCAN, fmt_name, output, discover(list(request.paths)))
        run = run_audit(request)
        assessment = run.assessment
        run.refuse_overwriting(
            [*(p for _, p in targets), *([write_baseline] if write_baseline else [])]
        )
        if write_baseline:
            count = write_fingerprints(assessment, write_baseline)
            print(
                f"wrote the baseline ({count} findings) to {terminal(write_baseline)}",
                file=sys.stderr,
            )
        for w in assessment.waivers:
            if warning := w.warning():
                print(terminal(f"harness-audit: warning: {warning}"), file=sys.stderr)
        emit(SCAN, assessment, fmt_name, targets)
        raise typer.Exit(ExitCode.FINDINGS if assessment.fails(fail_on) else ExitCode.OK)


# --- rules -----------------------------------------------------------------------------------


@callback(rules_app)
def rules_list(
    ctx: typer.Context, fmt: opt.RulesFormat = "table", output: opt.Outputs = None
) -> None:
    """List every rule with its check, severity and control mappings."""
    if ctx.invoked_subcommand is not None:
        return
    from harness_audit.checks import load_rulebook
    from harness_audit.report.rules_view import RuleList

    targets = output_targets(RULES, fmt, output)
    book = load_rulebook()
    emit(RULES, RuleList(book, list(book.rules)), fmt, targets)


@command(rules_app, "show")
def rules_show(
    rule_id: Annotated[
        str,
        typer.Argument(
            metavar="ID", help="A rule id (HA-003) or a check name (access_enforced_at_harness)."
        ),
    ],
    fmt: opt.RuleFormat = "table",
    output: opt.Outputs = None,
) -> None:
    """Explain one rule: what it checks, why, the controls it maps to, how to fix it."""
    from harness_audit.checks import load_rulebook
    from harness_audit.report.rules_view import RuleShown, resolve_rule

    targets = output_targets(RULE, fmt, output)
    book = load_rulebook()
    emit(RULE, RuleShown(book, resolve_rule(book, rule_id)), fmt, targets)


# --- trails ----------------------------------------------------------------------------------


@command(app)
def verify(
    ctx: typer.Context,
    trail: opt.TrailFiles,
    key: opt.VerifierKeys = None,
    checkpoint: opt.Checkpoints = None,
    trusted_state: opt.TrustedState = None,
    allow_unanchored: Annotated[
        bool,
        typer.Option(
            "--allow-unanchored", help="Exit 0 for an intact chain with no trusted checkpoint."
        ),
    ] = False,
    witness_key: opt.WitnessKeys = None,
    witness_quorum: opt.WitnessQuorum = None,
    jobs: opt.Jobs = 1,
    dask: opt.Dask = None,
    fmt: opt.VerifyFormat = "table",
    output: opt.Outputs = None,
    sealed_late_after: opt.SealedLateAfter = None,
) -> None:
    """Verify trails offline: schema, canonical form, chain, Merkle root, signed checkpoints,
    and their provenance (captured at the source or sealed after the fact)."""
    from harness_audit.foreign import named_trail_files
    from harness_audit.trail.checkpoints import default_checkpoints
    from harness_audit.trail.provenance import DEFAULT_SEALED_LATE_S
    from harness_audit.trail.verify import verify_trail

    late = (
        _duration(sealed_late_after, "--sealed-late-after")
        if sealed_late_after
        else DEFAULT_SEALED_LATE_S
    )
    trust = opt.trust_root(ctx)
    trust.verifiers()
    files = named_trail_files(trail)
    inputs = [*trail, *files, *default_checkpoints(trail, files)]
    targets = output_targets(VERIFY, fmt, output, [*inputs, *_files(trust)])
    trust.witnesses()
    from harness_audit.trail.store import store_of

    total = sum(store_of(str(f)).size(str(f)) for f in files)
    progress = None
    if sys.stderr.isatty() and total > 64 << 20:
        from rich.progress import Progress

        bar = Progress(transient=True)
        task = bar.add_task("verifying", total=total)
        bar.start()
        progress = lambda n: bar.advance(task, n)  # noqa: E731
    try:
        report = verify_trail(trail, trust, jobs, allow_unanchored, progress, late, dask)
    finally:
        if progress is not None:
            bar.stop()
    emit(VERIFY, report, fmt, targets)
    raise typer.Exit(ExitCode.OK if report.ok else ExitCode.FINDINGS)


@command(trail_app, "keygen")
def trail_keygen(
    name: Annotated[str, typer.Argument(help="Key name, e.g. harness-audit/loan-assessment.")],
    out_dir: Annotated[Path, typer.Option("--dir", help="Where to write the key files.")] = (
        Path(".")
    ),
    witness: Annotated[
        bool,
        typer.Option(
            "--witness", help="A witness key (C2SP cosignature/v1) for `trail checkpoint cosign`."
        ),
    ] = False,
) -> None:
    """Write NAME.key (the signer key, mode 0600) and NAME.pub (the verifier key)."""
    key_path, pub_path, public = _keys.write_keypair(name, out_dir, witness)
    print(f"wrote {key_path} (keep it secret) and {pub_path}", file=sys.stderr)
    print(public)


@command(trail_app, "rotate-key")
def trail_rotate_key(
    trail: Annotated[Path, typer.Argument(help="The trail folder.")],
    old: Annotated[Path, typer.Option("--old", help="The key that signs the trail today.")],
    new: Annotated[Path, typer.Option("--new", help="The key that signs it from now on.")],
) -> None:
    """Record a key rotation: a checkpoint of the current tree signed by the new key and
    cosigned by the old one, naming it; `verify --key NEW.pub` then verifies across it."""
    from harness_audit.trail.rotation import rotate_key

    done = rotate_key(trail, _keys.load_signer(old), _keys.load_signer(new))
    print(
        f"recorded the handover at size {done.size:,}: {done.old.split('+')[0]} -> "
        f"{done.new.split('+')[0]}; keep writing with --new alone",
        file=sys.stderr,
    )


@command(trail_app, "seal")
def trail_seal(
    source: Annotated[Path, typer.Argument(metavar="IN", help="Plain JSONL events.")],
    key: opt.SignerKey,
    origin: Annotated[
        str, typer.Option("--origin", help="Log origin, e.g. harness-audit/loan-assessment.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The sealed trail.")],
) -> None:
    """Chain and sign a plain JSONL file: adds v, seq, prev, hash, span; writes OUT and
    OUT.checkpoint."""
    from harness_audit._fs import refuse_overwriting
    from harness_audit.trail.sealer import seal_file

    refuse_overwriting([output, output.with_name(output.name + ".checkpoint")], [source, key])
    count, _ = seal_file(source, output, _keys.load_signer(key), origin)
    print(f"sealed {count:,} events into {output} and {output}.checkpoint", file=sys.stderr)


@command(checkpoint_app, "verify")
def checkpoint_verify(
    file: Annotated[Path, typer.Argument(help="A signed checkpoint (C2SP tlog-checkpoint).")],
    key: opt.RequiredVerifierKeys,
    fmt: opt.CheckpointFormat = "table",
    output: opt.Outputs = None,
) -> None:
    """Check a checkpoint alone, as a witness does: a trusted signature and a well-formed body."""
    from harness_audit.report import CHECKPOINT
    from harness_audit.trail.witness import verify_checkpoint_file

    verifiers = _keys.load_verifiers(key)
    targets = output_targets(CHECKPOINT, fmt, output, [file])
    result = verify_checkpoint_file(file, verifiers)
    if not result.ok:
        from harness_audit.cli._io import terminal

        print(terminal(f"{result.file}: {result.problem}"), file=sys.stderr)
        raise typer.Exit(ExitCode.FINDINGS)
    emit(CHECKPOINT, result, fmt, targets)


@command(checkpoint_app, "cosign")
def checkpoint_cosign(
    file: Annotated[Path, typer.Argument(help="A checkpoint signed by the log.")],
    key: Annotated[
        Path,
        typer.Option(
            "--key", "-k", help="The witness's signer key (from `trail keygen --witness`)."
        ),
    ],
    log_key: Annotated[
        list[str],
        typer.Option("--log-key", help="The log's verifier key(s): text or a file; repeatable."),
    ],
    state: Annotated[
        Path,
        typer.Option(
            "--state", help="The witness's state: the last checkpoint it cosigned per log."
        ),
    ],
    proof: Annotated[
        Path | None,
        typer.Option(
            "--proof",
            help="Consistency proof (from `trail prove --consistency`) from the last "
            "cosigned size to this one.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Where to write the cosigned checkpoint (default: stdout)."
        ),
    ] = None,
) -> None:
    """Act as a witness: cosign a checkpoint (C2SP tlog-cosignature) only if it extends the
    last one this witness cosigned; exit 1, cosigning nothing, if it does not."""
    import time

    from harness_audit.cli._io import terminal
    from harness_audit.trail.witness import cosign_file

    result = cosign_file(file, key, log_key, state, proof, output, int(time.time()))
    if result.note is None:
        print(f"harness-audit: not cosigned: {terminal(result.refused)}", file=sys.stderr)
        raise typer.Exit(ExitCode.FINDINGS)
    write_or_print(result.note, output)  # the state is persisted before the cosignature


@command(trail_app, "prove")
def trail_prove(
    trail: opt.TrailFiles,
    inclusion: Annotated[
        list[int] | None,
        typer.Option(
            "--inclusion", help="Prove the event with this seq is in the signed tree; repeatable."
        ),
    ] = None,
    consistency: Annotated[
        tuple[int, int] | None,
        typer.Option(
            "--consistency",
            help="Prove the tree of size NEW extends the one of size OLD.",
            metavar="OLD NEW",
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="The checkpoint to prove against (default: the newest)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Write an inclusion or consistency proof (JSON) that `trail verify-proof` checks alone."""
    from harness_audit._json import dumps
    from harness_audit.trail.proofs import prove

    write_or_print(dumps(prove(trail, inclusion or [], consistency, checkpoint, output)), output)


@command(trail_app, "verify-proof")
def trail_verify_proof(
    proof: Annotated[
        Path,
        typer.Argument(
            help="An export folder from `replay --export`, its events file, or a proof file from "
            "`trail prove`."
        ),
    ],
    key: opt.RequiredVerifierKeys,
) -> None:
    """Check proofs with only the proof file and the verifier key; for an export, prove every
    event in the events file the auditor reads."""
    from harness_audit.cli._io import terminal
    from harness_audit.evidence.replay import verify_export

    verifiers = _keys.load_verifiers(key)
    result = verify_export(proof, verifiers)
    for line in result.lines:
        print(terminal(line))
    raise typer.Exit(ExitCode.OK if result.ok else ExitCode.FINDINGS)


# --- sla, replay, report, graph --------------------------------------------------------------


@command(app)
def sla(
    manifest: Annotated[list[Path], typer.Argument(help="Pipeline manifests.")],
    allocate: Annotated[
        opt.Allocation, typer.Option("--allocate", help="How to share the target among stages.")
    ] = "equal",
    trails: Annotated[
        Path | None,
        typer.Option("--trails", help="Trails to measure each stage's observed success rate."),
    ] = None,
    what_if: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="What-if: AGENT.reliability=0.999 (or retries, coverage, replicas, "
            "quorum, slo.target); repeatable.",
        ),
    ] = None,
    fmt: opt.SlaFormat = "table",
    output: opt.Outputs = None,
) -> None:
    """Compound reliability, error budget and what each stage must reach; exit 1 on a miss."""
    from harness_audit.sla.analysis import analyse_manifests

    targets = output_targets(SLA, fmt, output, [*manifest, *([trails] if trails else [])])
    result = analyse_manifests(manifest, allocate, trails, what_if or ())
    emit(SLA, result, fmt, targets)
    raise typer.Exit(ExitCode.FINDINGS if result.fails else ExitCode.OK)


@command(app)
def replay(
    ctx: typer.Context,
    trail: opt.TrailFiles,
    run: Annotated[str | None, typer.Option("--run", help="The run id to replay.")] = None,
    subject: Annotated[
        str | None,
        typer.Option(
            "--subject",
            help="Replay the run(s) that decided this subject (with --list: list only those).",
        ),
    ] = None,
    list_runs: Annotated[
        bool,
        typer.Option("--list", help="List the runs: id, time, subjects decided, outcome, cost."),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="With --list: only runs that began at or after this time."),
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            help="The pipeline manifest (default: the one beside the trail folder "
            "named as the run's pipeline), to show the findings that touch the run.",
        ),
    ] = None,
    key: opt.VerifierKeys = None,
    checkpoint: opt.Checkpoints = None,
    trusted_state: opt.TrustedState = None,
    witness_key: opt.WitnessKeys = None,
    witness_quorum: opt.WitnessQuorum = None,
    allow_unanchored: Annotated[
        bool,
        typer.Option(
            "--allow-unanchored",
            help="Exit 0 for a run of an intact chain with no trusted checkpoint.",
        ),
    ] = False,
    fmt: opt.ReplayFormat = "table",
    output: opt.Outputs = None,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export", help="Write only this run's events, with an inclusion proof each, here."
        ),
    ] = None,
) -> None:
    """Replay one run (--run), the runs that decided a subject (--subject), or list the runs
    (--list): causal tree, costs, and on each act the verification and approval that gated it.
    The trail is verified first (as `verify` does); a run of a trail that does not verify is
    shown under an integrity failure, and the command exits 1."""
    from harness_audit._fs import fresh_folder
    from harness_audit.evidence.replay import (
        export_verified,
        replay_verified,
        runs_verified,
        subject_verified,
    )
    from harness_audit.foreign import named_trail_files

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
    trust = opt.trust_root(ctx)
    trust.verifiers()
    inputs = [*trail, *named_trail_files(trail), *([manifest] if manifest else []), *_files(trust)]
    targets = output_targets(REPLAY, fmt, output, inputs)
    if export:
        fresh_folder(export, inputs)
    trust.witnesses()
    if list_runs:
        listed = runs_verified(trail, trust, subject, since, allow_unanchored)
        emit(REPLAY, listed, fmt, targets)
        raise typer.Exit(ExitCode.OK if listed.integrity.ok else ExitCode.FINDINGS)
    if run is None:
        assert subject is not None
        many = subject_verified(trail, subject, trust, manifest, allow_unanchored)
        emit(REPLAY, many, fmt, targets)
        ok = all(r.integrity.ok for r in many.items)
        raise typer.Exit(ExitCode.OK if ok else ExitCode.FINDINGS)
    result = replay_verified(trail, run, trust, manifest, allow_unanchored)
    integrity = result.integrity
    if export:
        count = export_verified(trail, result, export, checkpoint[0] if checkpoint else None)
        if count is None:
            print(
                f"harness-audit: not exported: the trail's integrity is {integrity.status}; "
                "an unverified run is not disclosed as fact",
                file=sys.stderr,
            )
        else:
            print(f"exported {count} events and their proofs to {export}", file=sys.stderr)
    emit(REPLAY, result, fmt, targets)
    raise typer.Exit(ExitCode.OK if integrity.ok else ExitCode.FINDINGS)


@command(app)
def report(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH... | verify DIR",
            help="Manifests or folders to report on (default: the config's paths, else .); or "
            "`verify DIR` to check a pack.",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The folder to write the pack into.")
    ] = None,
    trails: opt.Trails = None,
    no_trails: opt.NoTrails = False,
    key: opt.VerifierKeys = None,
    checkpoint: opt.Checkpoints = None,
    trusted_state: opt.TrustedState = None,
    witness_key: opt.WitnessKeys = None,
    witness_quorum: opt.WitnessQuorum = None,
    require_pinned: opt.RequirePinned = False,
    sealed_late_after: opt.SealedLateAfter = None,
    sign_key: Annotated[
        Path | None, typer.Option("--sign-key", help="Signer key (NAME.key) to sign SHA256SUMS.")
    ] = None,
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="Skip the PDF.")] = False,
    sample: opt.Sample = 0,
    seed: opt.Seed = 0,
    jobs: opt.Jobs = 1,
    dask: opt.Dask = None,
    ai_act_date: Annotated[
        opt.AiActDate | None,
        typer.Option("--ai-act-date", help="Which EU AI Act application date applies."),
    ] = None,
    waivers: opt.Waivers = None,
    baseline: opt.Baseline = None,
    tsc: opt.Tsc = None,
    period: opt.Period = None,
    max_gap: opt.MaxGap = None,
    population_out: Annotated[
        Path | None,
        typer.Option(
            "--population-out", help="Write each control's population as CSV into this folder."
        ),
    ] = None,
    preparer: Annotated[
        str | None,
        typer.Option(
            "--preparer", help="Who prepared the pack (its sign-off fields stay blank without)."
        ),
    ] = None,
    size: Annotated[
        int,
        typer.Option("--size", min=1, help="report resample: rows to draw per control."),
    ] = 25,
    fail_on: opt.FailOn = "any",
    summary_only: Annotated[
        bool,
        typer.Option(
            "--summary-only",
            help="Write only the one page per pipeline (yes / no / not proven, with reasons) "
            "as a PDF at --output, for filing; no pack.",
        ),
    ] = False,
) -> None:
    """Write the evidence pack: summary.html/.pdf (one page per pipeline, also first in the
    report), evidence.html, evidence.pdf, findings.json, populations/, SHA256SUMS(.sig). Reads
    the same config as `scan`; `report verify DIR --key K` checks a pack; `report resample DIR
    --seed S --size N [--key K]` draws an auditor's own sample; `--summary-only -o FILE.pdf`
    writes the summary pages alone."""
    if paths and paths[0] == "verify":
        if len(paths) != 2:
            raise UsageError(
                Diagnostic(
                    "report verify", "give one pack folder", expected="report verify DIR --key KEY"
                )
            )
        from harness_audit.cli._io import terminal
        from harness_audit.report.pack import verify_pack

        result = verify_pack(Path(paths[1]), _keys.load_verifiers(key))
        for line in result.lines:
            print(terminal(line))
        print("pack: VERIFIED" if result.ok else "pack: FAILED")
        raise typer.Exit(ExitCode.OK if result.ok else ExitCode.FINDINGS)
    if paths and paths[0] == "resample":
        _resample(paths, seed, size, key)
    if output is None:
        raise UsageError(
            Diagnostic("report", "--output DIR is required", expected="report PATH... --output DIR")
        )

    from harness_audit.cli._io import terminal
    from harness_audit.report.pack import write_pack

    if summary_only:
        _summary_only(ctx, paths, output, baseline, no_pdf, sign_key, population_out)
    signer = _keys.load_signer(sign_key) if sign_key else None
    import tempfile

    from harness_audit import direct

    with tempfile.TemporaryDirectory(prefix="harness-audit-direct-") as work:
        # definitions and traces given directly: drafted and imported in the run (issue 25)
        staged = direct.stage([Path(p) for p in paths or []], Path(work), sign_key, bool(trails))
        direct.apply(ctx.params, staged)
        for said in staged.said:
            print(terminal(said), file=sys.stderr)
        request = _request(ctx, staged.manifests, baseline)
        run, files = write_pack(
            request,
            output,
            ai_act_date,
            signer,
            not no_pdf,
            preparer,
            population_out,
            tsc,
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
    print(
        f"wrote the evidence pack to {terminal(output)}: {', '.join(shown)}, SHA256SUMS"
        + (", SHA256SUMS.sig" if signer else ""),
        file=sys.stderr,
    )
    raise typer.Exit(ExitCode.FINDINGS if run.assessment.fails(fail_on) else ExitCode.OK)


def _resample(paths: list[str], seed: int, size: int, key: list[str] | None) -> None:
    """``report resample PACK``: one line per sampled row (CSV, seq, run, time), on stdout."""
    import csv

    from harness_audit.cli._io import terminal
    from harness_audit.report.resample import resample

    if len(paths) != 2:
        raise UsageError(
            Diagnostic(
                "report resample",
                "give one pack folder",
                expected="report resample DIR --seed S --size N [--key KEY]",
            )
        )
    drawn = resample(Path(paths[1]), seed, size, _keys.load_verifiers(key) if key else [])
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(("csv", "seq", "run", "ts"))
    for x in drawn.rows:
        out.writerow(tuple(terminal(v) for v in (x.csv, x.row["seq"], x.row["run"], x.row["ts"])))
    print(
        f"{len(drawn.rows):,} row(s) drawn from {drawn.controls:,} population(s), seed {seed}, "
        f"up to {size} per control; "
        + (
            "the pack's signature verified first"
            if drawn.signed
            else "the CSVs match SHA256SUMS, but its signature was not checked (give --key)"
        ),
        file=sys.stderr,
    )
    raise typer.Exit(ExitCode.OK)


def _summary_only(
    ctx: typer.Context,
    paths: list[str] | None,
    output: Path,
    baseline: Path | None,
    no_pdf: bool,
    sign_key: Path | None,
    population_out: Path | None,
) -> NoReturn:
    """`report --summary-only`: the summary pages alone, as a PDF at ``output``; exits."""
    from harness_audit.cli._io import terminal
    from harness_audit.report.summary import write_summary

    for flag, given in (
        ("--no-pdf", no_pdf),
        ("--sign-key", sign_key is not None),
        ("--population-out", population_out is not None),
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
    request = _request(ctx, [Path(p) for p in paths or []], baseline)
    run, _ = write_summary(request, output)
    pipelines = len(run.assessment.pipelines)
    print(
        f"wrote the summary ({pipelines} pipeline(s), one page each) to {terminal(output)}",
        file=sys.stderr,
    )
    raise typer.Exit(ExitCode.FINDINGS if run.assessment.fails("any") else ExitCode.OK)


@command(app)
def graph(
    manifest: Annotated[Path, typer.Argument(help="A pipeline manifest.")],
    fmt: opt.GraphFormat = "mermaid",
    output: opt.Outputs = None,
    highlight: Annotated[
        opt.Highlight | None,
        typer.Option(
            "--highlight",
            help="risk: mark every path from untrusted input to an unguarded "
            "destructive or external tool.",
        ),
    ] = None,
) -> None:
    """Draw the agent graph: Mermaid (renders in GitHub and GitLab), DOT, SVG or JSON."""
    from harness_audit.checks import assess_pipeline
    from harness_audit.manifest import load_manifest

    targets = output_targets(GRAPH, fmt, output, [manifest])
    result = assess_pipeline(load_manifest(manifest))
    emit(GRAPH, result, fmt, targets, highlight_risk=highlight == "risk")
