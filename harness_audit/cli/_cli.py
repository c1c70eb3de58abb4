"""Typer commands. Each parses its arguments, calls the library, renders, and exits.

Heavy modules are imported inside the commands so ``--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from harness_audit import __version__
from harness_audit.errors import Diagnostic, ExitCode, HarnessAuditError, UsageError

F = TypeVar("F", bound=Callable[..., Any])
_state = {"debug": False}

app = typer.Typer(
    name="harness-audit",
    help="Compliance auditor and gap scanner for multi-agent AI pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)
rules_app = typer.Typer(help="List the rules and their control mappings; `rules show ID`.",
                        invoke_without_command=True, no_args_is_help=False,
                        context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(rules_app, name="rules")


def guarded(func: F) -> F:
    """Turn library errors into exit code 2 with diagnostics, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from harness_audit.cli._io import print_diagnostics

        try:
            return func(*args, **kwargs)
        except HarnessAuditError as e:
            if _state["debug"]:
                traceback.print_exc()
            print_diagnostics(e.diagnostics())
            raise typer.Exit(ExitCode.USAGE) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(ExitCode.OK) from None
        except Exception as e:
            if _state["debug"]:
                traceback.print_exc()
            print(f"harness-audit: internal error: {type(e).__name__}: {e} "
                  "(run with --debug for a traceback, and please report it)", file=sys.stderr)
            raise typer.Exit(ExitCode.USAGE) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        print(f"harness-audit {__version__}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Compliance auditor and gap scanner for multi-agent AI pipelines."""
    _state["debug"] = debug


class ScanFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"
    junit = "junit"
    markdown = "markdown"
    oscal = "oscal"
    csv = "csv"


class FailOn(StrEnum):
    any = "any"
    at_risk = "at-risk"
    audit_will_fail = "audit-will-fail"
    never = "never"


@app.command()
@guarded
def scan(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Manifests, or directories to search for harness.yaml / *.harness.yaml.")] = None,
    fmt: Annotated[ScanFormat | None, typer.Option(
        "--format", "-f", help="Output format (default: table).")] = None,
    output: Annotated[list[str] | None, typer.Option(
        "--output", "-o", help="Write to PATH (in --format) or FORMAT=PATH; repeatable.")] = None,
    fail_on: Annotated[FailOn | None, typer.Option(
        "--fail-on", help="Exit 1 at: any failed check (default), a band, or never.")] = None,
    max_manifest_bytes: Annotated[int, typer.Option(
        "--max-manifest-bytes", min=1, help="Refuse manifests larger than this.")] = 5 * 2**20,
    trails: Annotated[Path | None, typer.Option(
        "--trails", help="Judge the checks on these trails too (default: each manifest's "
        "trail.path, when it exists).")] = None,
    no_trails: Annotated[bool, typer.Option(
        "--no-trails", help="Judge the manifests alone, even where trails exist.")] = False,
    key: Annotated[list[str] | None, typer.Option(
        "--key", "-k", help="Trail verifier key(s) (default: each manifest's "
        "trail.public_key).")] = None,
    sample: Annotated[int | None, typer.Option(
        "--sample", min=0, help="Draw N events per control for an auditor to test by hand.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the sample.")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, max=64,
                                             help="Processes to verify trails with.")] = None,
    waivers: Annotated[Path | None, typer.Option(
        "--waivers", help="Waivers file (default: .harness-audit-waivers.yaml if present).")
    ] = None,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", help="Fail only on findings not in this baseline.")] = None,
    write_baseline: Annotated[Path | None, typer.Option(
        "--write-baseline", help="Write the current findings as the baseline.")] = None,
) -> None:
    """Find and validate manifests, run the seven checks per agent (on the trails too, where
    there are trails), print the gap scores. Defaults come from [tool.harness-audit] in
    pyproject.toml or .harness-audit.yaml; flags win."""
    from harness_audit.checks import assess
    from harness_audit.cli._io import (
        parse_outputs,
        refuse_overwriting_inputs,
        terminal_width,
        use_color,
        write_atomic,
    )
    from harness_audit.config import load_config
    from harness_audit.manifest import discover, load_all
    from harness_audit.report import SCAN_FORMATS, get_renderer
    from harness_audit.report.base import RenderOptions
    from harness_audit.waivers import (
        DEFAULT_FILE,
        apply,
        baseline_data,
        load_baseline,
        load_waivers,
    )

    conf, _ = load_config(Path("."))
    fmt_name = fmt.value if fmt else str(conf.get("format", "table"))
    if fmt_name not in SCAN_FORMATS:
        raise UsageError(Diagnostic("format", f"unknown format {fmt_name!r}",
                                    expected=", ".join(SCAN_FORMATS)))
    fail_name = fail_on.value if fail_on else str(conf.get("fail-on", "any"))
    if fail_name not in {f.value for f in FailOn}:
        raise UsageError(Diagnostic("fail-on", f"unknown threshold {fail_name!r}",
                                    expected=", ".join(f.value for f in FailOn)))
    targets = discover(paths or [Path(p) for p in conf.get("paths", ["."])])
    outputs = parse_outputs(output if output is not None else conf.get("output", []),
                            fmt_name, SCAN_FORMATS)
    refuse_overwriting_inputs((p for _, p in outputs), targets)
    waiver_file = waivers or (Path(conf["waivers"]) if "waivers" in conf else None)
    if waiver_file is None and Path(DEFAULT_FILE).is_file():
        waiver_file = Path(DEFAULT_FILE)
    waiver_list = load_waivers(waiver_file) if waiver_file else []
    base_file = baseline or (Path(conf["baseline"]) if "baseline" in conf else None)
    known = load_baseline(base_file) if base_file else None
    trails = trails or (Path(conf["trails"]) if "trails" in conf else None)
    sample_n = sample if sample is not None else int(conf.get("sample", 0))
    seed_n = seed if seed is not None else int(conf.get("seed", 0))
    jobs_n = jobs if jobs is not None else int(conf.get("jobs", 1))
    pipelines = load_all(targets, max_bytes=max_manifest_bytes)
    judged = _judge_all(pipelines, trails, no_trails, sample_n, seed_n, key, jobs_n)
    evidence = {name: ev for name, (ev, _) in judged.items()}
    assessment = apply(assess(pipelines, evidence), waiver_list, known)
    if write_baseline:
        from harness_audit.report._json import dumps

        write_atomic(write_baseline, dumps(baseline_data(assessment)))
        print(f"wrote the baseline ({len(baseline_data(assessment)['fingerprints'])} "
              f"findings) to {write_baseline}", file=sys.stderr)
    for w in assessment.waivers:
        if w.state != "active":
            print(f"harness-audit: warning: {w.waiver.file}:{w.waiver.line}: {w.state} waiver "
                  f"for {w.waiver.rule} on {w.waiver.pipeline}/{w.waiver.agent} "
                  f"(ticket {w.waiver.ticket}, expires {w.waiver.expires})"
                  + (": its findings count again" if w.state == "expired" else
                     ": it matches no finding"), file=sys.stderr)
    if outputs:
        rendered = [(path, get_renderer(f).render(assessment)) for f, path in outputs]
        for path, text in rendered:
            write_atomic(path, text)
            print(f"wrote {path}", file=sys.stderr)
    else:
        opts = RenderOptions(color=use_color(), width=terminal_width())
        sys.stdout.write(get_renderer(fmt_name).render(assessment, opts))
    raise typer.Exit(ExitCode.FINDINGS if assessment.fails(fail_name) else ExitCode.OK)  # type: ignore[arg-type]


class ListFormat(StrEnum):
    table = "table"
    json = "json"


@rules_app.callback()
@guarded
def rules_list(
    ctx: typer.Context,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
) -> None:
    """List every rule with its check, severity and control mappings."""
    if ctx.invoked_subcommand is not None:
        return
    from harness_audit.checks import load_rulebook
    from harness_audit.report.rules_view import rules_json, rules_table

    book = load_rulebook()
    if fmt is ListFormat.json:
        sys.stdout.write(rules_json(book, list(book.rules)))
    else:
        from harness_audit.cli._io import terminal_width, use_color

        sys.stdout.write(rules_table(book, use_color(), terminal_width()))


@rules_app.command("show")
@guarded
def rules_show(
    rule_id: Annotated[str, typer.Argument(metavar="ID", help="A rule id (HA-003) or a check "
                                           "name (access_enforced_at_harness).")],
    fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
) -> None:
    """Explain one rule: what it checks, why, the controls it maps to, how to fix it."""
    from harness_audit.checks import load_rulebook
    from harness_audit.report.rules_view import resolve_rule, rule_text, rules_json

    book = load_rulebook()
    rule = resolve_rule(book, rule_id)
    if fmt is ListFormat.json:
        sys.stdout.write(rules_json(book, [rule.id]))
    else:
        sys.stdout.write(rule_text(book, rule))


# --- trails ----------------------------------------------------------------------------------

trail_app = typer.Typer(help="Keys, sealing, checkpoints and proofs for trails.",
                        no_args_is_help=True,
                        context_settings={"help_option_names": ["-h", "--help"]})
checkpoint_app = typer.Typer(help="Signed checkpoints.", no_args_is_help=True,
                             context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(trail_app, name="trail")
trail_app.add_typer(checkpoint_app, name="checkpoint")


def _judge_all(pipelines: list[Any], trails: Path | None, no_trails: bool, sample: int,
               seed: int, keys: list[str] | None, jobs: int) -> dict[str, tuple[Any, list[Path]]]:
    """Each pipeline's evidence and trail paths: ``--trails``, else its ``trail.path``."""
    if no_trails:
        return {}
    from harness_audit.evidence.judge import judge_trails, trail_paths

    keys = _keys_or_none(keys)
    out = {}
    for p in pipelines:
        paths = trail_paths(p, trails)
        if paths:
            out[p.name] = (judge_trails(p, paths, sample, seed, keys, jobs), paths)
    return out


def _keys_or_none(keys: list[str] | None) -> list[str] | None:
    if keys:
        _verifiers(keys)  # fail early, with exit 2, on a key that does not load
    return keys or None


def _verifiers(keys: list[str] | None) -> Any:
    from harness_audit.errors import Diagnostic, TrailError
    from harness_audit.trail.note import NoteError, load_verifiers

    try:
        return load_verifiers(keys or [])
    except NoteError as e:
        raise TrailError(Diagnostic("--key", str(e), expected="a verifier key "
                                    "<name>+<id>+<key>, or a file of them")) from e


def _signer(path: Path) -> Any:
    from harness_audit.errors import Diagnostic, TrailError
    from harness_audit.trail.note import NoteError, Signer

    try:
        return Signer.parse(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise TrailError(Diagnostic(str(path), f"cannot be read: {e.strerror}")) from e
    except (NoteError, UnicodeDecodeError) as e:
        raise TrailError(Diagnostic(str(path), str(e), expected="a signer key "
                                    "PRIVATE+KEY+<name>+<id>+<key> (from trail keygen)")) from e


def _write_or_print(text: str, output: Path | None) -> None:
    from harness_audit.cli._io import write_atomic

    if output:
        write_atomic(output, text)
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


@app.command()
@guarded
def verify(
    trail: Annotated[list[Path], typer.Argument(help="Trail files, or a folder of segments.")],
    key: Annotated[list[str] | None, typer.Option(
        "--key", "-k", help="Verifier key text, or a file of keys; repeatable.")] = None,
    checkpoint: Annotated[list[Path] | None, typer.Option(
        "--checkpoint", help="More checkpoints to check; repeatable.")] = None,
    trusted_state: Annotated[Path | None, typer.Option(
        "--trusted-state", help="The newest checkpoint you kept from the last audit.")] = None,
    allow_unanchored: Annotated[bool, typer.Option(
        "--allow-unanchored", help="Exit 0 for an intact chain with no trusted checkpoint.")
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=64,
                                      help="Processes to verify with.")] = 1,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Verify trails offline: schema, canonical form, chain, Merkle root, signed checkpoints."""
    from harness_audit.report.verify_view import verify_json, verify_text
    from harness_audit.trail.verify import trail_files, verify_trail

    verifiers = _verifiers(key)
    files = trail_files(trail)
    total = sum(f.stat().st_size for f in files)
    if sys.stderr.isatty() and total > 64 << 20:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("verifying", total=total)
            report = verify_trail(trail, verifiers, checkpoint or [], trusted_state, jobs,
                                  allow_unanchored, lambda n: bar.advance(task, n))
    else:
        report = verify_trail(trail, verifiers, checkpoint or [], trusted_state, jobs,
                              allow_unanchored)
    text = verify_json(report) if fmt is ListFormat.json else verify_text(report)
    _write_or_print(text, output)
    raise typer.Exit(ExitCode.OK if report.ok else ExitCode.FINDINGS)


@trail_app.command("keygen")
@guarded
def trail_keygen(
    name: Annotated[str, typer.Argument(help="Key name, e.g. harness-audit/loan-assessment.")],
    out_dir: Annotated[Path, typer.Option("--dir", help="Where to write the key files.")] = (
        Path(".")),
) -> None:
    """Write NAME.key (the signer key, mode 0600) and NAME.pub (the verifier key)."""
    import os

    from harness_audit.errors import Diagnostic, UsageError
    from harness_audit.trail.note import NoteError, Signer

    try:
        signer = Signer.generate(name)
    except NoteError as e:
        raise UsageError(Diagnostic("NAME", str(e))) from e
    stem = name.replace("/", "_")
    key_path, pub_path = out_dir / f"{stem}.key", out_dir / f"{stem}.pub"
    for p in (key_path, pub_path):
        if p.exists():
            raise UsageError(Diagnostic(str(p), "already exists; keygen never overwrites a key"))
    out_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(signer.text() + "\n")
    pub_path.write_text(signer.verifier.text() + "\n", encoding="utf-8")
    print(f"wrote {key_path} (keep it secret) and {pub_path}", file=sys.stderr)
    print(signer.verifier.text())


@trail_app.command("seal")
@guarded
def trail_seal(
    source: Annotated[Path, typer.Argument(metavar="IN", help="Plain JSONL events.")],
    key: Annotated[Path, typer.Option("--key", help="Signer key file (NAME.key).")],
    origin: Annotated[str, typer.Option("--origin", help="Log origin, e.g. "
                                        "harness-audit/loan-assessment.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The sealed trail.")],
) -> None:
    """Chain and sign a plain JSONL file: adds v, seq, prev, hash, span; writes OUT and
    OUT.checkpoint."""
    from harness_audit.cli._io import refuse_overwriting_inputs
    from harness_audit.trail.writer import seal_file

    refuse_overwriting_inputs([output, output.with_name(output.name + ".checkpoint")],
                              [source, key])
    count, _ = seal_file(source, output, _signer(key), origin)
    print(f"sealed {count:,} events into {output} and {output}.checkpoint", file=sys.stderr)


@checkpoint_app.command("verify")
@guarded
def checkpoint_verify(
    file: Annotated[Path, typer.Argument(help="A signed checkpoint (C2SP tlog-checkpoint).")],
    key: Annotated[list[str], typer.Option("--key", "-k", help="Trusted verifier key(s).")],
    fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
) -> None:
    """Check a checkpoint alone, as a witness does: a trusted signature and a well-formed body."""
    import base64
    import json

    from harness_audit.errors import Diagnostic, TrailError
    from harness_audit.trail.note import Checkpoint, NoteError, verify_note

    verifiers = _verifiers(key)
    try:
        data = file.read_bytes()
    except OSError as e:
        raise TrailError(Diagnostic(str(file), f"cannot be read: {e.strerror}")) from e
    try:
        note, good = verify_note(data, verifiers)
        cp = Checkpoint.parse(note.text)
    except NoteError as e:
        if e.kind == "malformed":
            raise TrailError(Diagnostic(str(file), str(e),
                                        expected="a C2SP signed checkpoint")) from e
        print(f"{file}: {e.kind}: {e}", file=sys.stderr)
        raise typer.Exit(ExitCode.FINDINGS) from e
    result = {"status": "verified", "origin": cp.origin, "size": cp.size,
              "root": base64.b64encode(cp.root).decode(), "extensions": list(cp.extensions),
              "signers": [v.text() for v in good]}
    if fmt is ListFormat.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        print(f"verified: {cp.origin}, size {cp.size:,}, root {result['root']}")
        for v in good:
            print(f"  signed by {v.name} ({v.id.hex()})")


@trail_app.command("prove")
@guarded
def trail_prove(
    trail: Annotated[list[Path], typer.Argument(help="Trail files, or a folder of segments.")],
    inclusion: Annotated[list[int] | None, typer.Option(
        "--inclusion", help="Prove the event with this seq is in the signed tree; repeatable.")
    ] = None,
    consistency: Annotated[tuple[int, int] | None, typer.Option(
        "--consistency", help="Prove the tree of size NEW extends the one of size OLD.",
        metavar="OLD NEW")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", help="The checkpoint to prove against (default: the newest).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Write an inclusion or consistency proof (JSON) that `trail verify-proof` checks alone."""
    from harness_audit.errors import Diagnostic, UsageError
    from harness_audit.report._json import dumps
    from harness_audit.trail.proofs import (
        consistency_proof_file,
        inclusion_proofs,
        load_trail,
        newest_checkpoint,
    )

    if bool(inclusion) == bool(consistency):
        raise UsageError(Diagnostic("trail prove", "give either --inclusion SEQ or "
                                    "--consistency OLD NEW"))
    loaded = load_trail(trail, set(inclusion or []))
    note_text, cp = newest_checkpoint(trail, loaded.files, checkpoint)
    if inclusion:
        proofs = inclusion_proofs(loaded, inclusion, note_text, cp)
        data: Any = proofs[0] if len(proofs) == 1 else proofs
    else:
        assert consistency is not None
        data = consistency_proof_file(loaded, consistency[0], consistency[1], note_text, cp)
    _write_or_print(dumps(data), output)


@trail_app.command("verify-proof")
@guarded
def trail_verify_proof(
    proof: Annotated[Path, typer.Argument(help="A proof file from `trail prove`.")],
    key: Annotated[list[str], typer.Option("--key", "-k", help="Trusted verifier key(s).")],
) -> None:
    """Check a proof with only the proof file and the verifier key."""
    from harness_audit.errors import Diagnostic, TrailError
    from harness_audit.trail.merkle import ProofError
    from harness_audit.trail.proofs import read_proof, verify_proof_data

    verifiers = _verifiers(key)
    data = read_proof(proof)
    items = data if isinstance(data, list) else [data]
    ok = True
    for i, item in enumerate(items):
        try:
            result = verify_proof_data(item, verifiers)
        except ProofError as e:
            raise TrailError(Diagnostic(str(proof), f"proof {i}: {e}",
                                        expected="a harness-audit/proof/v1 file")) from e
        print(("OK: " if result.ok else "FAILED: ") + result.message)
        ok = ok and result.ok
    raise typer.Exit(ExitCode.OK if ok else ExitCode.FINDINGS)


class Allocation(StrEnum):
    equal = "equal"
    arinc = "arinc"
    cost = "cost"


@app.command()
@guarded
def sla(
    manifest: Annotated[list[Path], typer.Argument(help="Pipeline manifests.")],
    allocate: Annotated[Allocation, typer.Option(
        "--allocate", help="How to share the target among stages.")] = Allocation.equal,
    trails: Annotated[Path | None, typer.Option(
        "--trails", help="Trails to measure each stage's observed success rate.")] = None,
    what_if: Annotated[list[str] | None, typer.Option(
        "--set", help="What-if: AGENT.reliability=0.999 (or retries, coverage, replicas, "
        "quorum, slo.target); repeatable.")] = None,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Compound reliability, error budget and what each stage must reach; exit 1 on a miss."""
    from harness_audit.cli._io import terminal_width, use_color
    from harness_audit.errors import Diagnostic, UsageError
    from harness_audit.manifest import load_all
    from harness_audit.report.sla_view import sla_json, sla_text
    from harness_audit.sla import analyse, observe
    from harness_audit.sla import what_if as apply_what_if
    from harness_audit.trail.reader import read_events

    if allocate is Allocation.cost:
        raise UsageError(Diagnostic("--allocate cost", "cost allocation needs a cost curve per "
                                    "stage, and the manifest format has no field for one",
                                    expected="equal or arinc"))
    reports = []
    for p in load_all(manifest):
        for change in what_if or []:
            try:
                p = apply_what_if(p, change)
            except ValueError as e:
                raise UsageError(Diagnostic("--set", str(e))) from e
        obs = None
        if trails:
            obs = observe(p, (ev for _, _, ev in read_events([trails])))
        reports.append(analyse(p, allocate.value, obs))
    text = sla_json(reports) if fmt is ListFormat.json else sla_text(
        reports, use_color() and output is None, terminal_width())
    _write_or_print(text, output)
    raise typer.Exit(ExitCode.FINDINGS if any(r.fails for r in reports) else ExitCode.OK)


@app.command()
@guarded
def replay(
    trail: Annotated[list[Path], typer.Argument(help="Trail files, or a folder of segments.")],
    run: Annotated[str, typer.Option("--run", help="The run id to replay.")],
    manifest: Annotated[Path | None, typer.Option(
        "--manifest", help="The pipeline manifest (default: the one beside the trail folder "
        "named as the run's pipeline), to show the findings that touch the run.")] = None,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
    export: Annotated[Path | None, typer.Option(
        "--export", help="Write only this run's events, with an inclusion proof each, here.")
    ] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", help="Prove against this checkpoint (default: the newest).")] = None,
) -> None:
    """Replay one run: its causal tree, costs, verifications, approvals and findings."""
    from harness_audit.evidence.replay import collect_run, export_run, find_manifest, replay_dict
    from harness_audit.evidence.replay import replay as do_replay
    from harness_audit.manifest import load_manifest
    from harness_audit.report._json import dumps
    from harness_audit.report.replay_view import replay_text

    nodes = collect_run(trail, run)
    start = next((n.event for n in nodes if n.event.kind == "run_start"), None)
    path = manifest or find_manifest(trail, start.pipeline if start else None)
    pipeline = load_manifest(path) if path else None
    result = do_replay(trail, run, pipeline, nodes)
    if export:
        count = export_run(trail, result, export, checkpoint)
        print(f"exported {count} events and their proofs to {export}", file=sys.stderr)
    if fmt is ListFormat.json:
        sys.stdout.write(dumps(replay_dict(result)))
    else:
        from harness_audit.cli._io import terminal_width, use_color

        sys.stdout.write(replay_text(result, use_color(), terminal_width()))


@app.command()
@guarded
def report(
    paths: Annotated[list[str], typer.Argument(
        metavar="PATH... | verify DIR",
        help="Manifests or folders to report on; or `verify DIR` to check a pack.")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="The folder to write the pack into.")] = None,
    trails: Annotated[Path | None, typer.Option(
        "--trails", help="Trails (default: each manifest's trail.path).")] = None,
    no_trails: Annotated[bool, typer.Option("--no-trails")] = False,
    key: Annotated[list[str] | None, typer.Option(
        "--key", "-k", help="Signer key (NAME.key) to sign SHA256SUMS; with `verify`, the "
        "verifier key(s).")] = None,
    trail_key: Annotated[list[str] | None, typer.Option(
        "--trail-key", help="Trail verifier key(s) (default: trail.public_key).")] = None,
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="Skip the PDF.")] = False,
    sample: Annotated[int, typer.Option("--sample", min=0)] = 0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=64)] = 1,
    ai_act_date: Annotated[str | None, typer.Option(
        "--ai-act-date", help="Which EU AI Act application date applies: art-113 or "
        "digital-omnibus.")] = None,
    waivers: Annotated[Path | None, typer.Option(
        "--waivers", help="Waivers file (default: .harness-audit-waivers.yaml if present).")
    ] = None,
) -> None:
    """Write the evidence pack: evidence.html, evidence.pdf, findings.json, SHA256SUMS(.sig)."""
    from harness_audit.errors import Diagnostic, UsageError

    if paths[0] == "verify":
        if len(paths) != 2:
            raise UsageError(Diagnostic("report verify", "give one pack folder",
                                        expected="report verify DIR --key KEY"))
        from harness_audit.report.pack import verify_pack

        result = verify_pack(Path(paths[1]), _verifiers(key))
        for line in result.lines:
            print(line)
        print("pack: VERIFIED" if result.ok else "pack: FAILED")
        raise typer.Exit(ExitCode.OK if result.ok else ExitCode.FINDINGS)
    if output is None:
        raise UsageError(Diagnostic("report", "--output DIR is required",
                                    expected="report PATH... --output DIR"))
    from harness_audit.checks import assess
    from harness_audit.cli._io import refuse_overwriting_inputs, write_atomic
    from harness_audit.config import load_config
    from harness_audit.evidence.judge import public_keys
    from harness_audit.manifest import discover, load_all
    from harness_audit.report import pack
    from harness_audit.sla import analyse
    from harness_audit.trail.verify import trail_files

    signer = _signer(Path(key[0])) if key else None
    ai_act_date = ai_act_date or load_config(Path("."))[0].get("ai-act-date")
    if ai_act_date not in (None, "art-113", "digital-omnibus"):
        raise UsageError(Diagnostic("--ai-act-date", f"unknown date id {ai_act_date!r}",
                                    expected="art-113 or digital-omnibus"))
    targets = discover([Path(p) for p in paths])
    refuse_overwriting_inputs([output / n for n in pack.PACK_FILES], targets)
    pipelines = load_all(targets)
    inputs = [pack.file_input("manifest", t) for t in targets]
    judged = _judge_all(pipelines, trails, no_trails, sample, seed, trail_key, jobs)
    evidence = {name: ev for name, (ev, _) in judged.items()}
    slas = {p.name: judged[p.name][0].sla if p.name in judged else analyse(p)
            for p in pipelines}
    for p in pipelines:
        if p.name in judged:
            inputs += [pack.file_input("trail", f) for f in trail_files(judged[p.name][1])]
            inputs += [pack.file_input("verifier key", Path(k)) for k in public_keys(p)]
    from harness_audit.waivers import DEFAULT_FILE, apply, load_waivers

    waiver_file = waivers or (Path(DEFAULT_FILE) if Path(DEFAULT_FILE).is_file() else None)
    if waiver_file:
        inputs.append(pack.file_input("waivers", waiver_file))
    assessment = apply(assess(pipelines, evidence),
                       load_waivers(waiver_file) if waiver_file else [])
    when = pack.generated_at()
    waiver_rows = [{"rule": w.waiver.rule, "scope": f"{w.waiver.pipeline}/{w.waiver.agent}",
                    "justification": w.waiver.justification, "owner": w.waiver.owner,
                    "ticket": w.waiver.ticket, "expires": w.waiver.expires.isoformat(),
                    "state": f"{w.state} ({w.matched} finding(s))"} for w in assessment.waivers]
    html = pack.render_html(assessment, slas, inputs, when, ai_act_date, waiver_rows)
    files = {"evidence.html": html.encode("utf-8"),
             "findings.json": pack.findings_json(assessment, when).encode("utf-8")}
    if not no_pdf:
        files["evidence.pdf"] = pack.render_pdf(html)
    sums = pack.sums_text(files)
    output.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        write_atomic(output / name, data)
    write_atomic(output / "SHA256SUMS", sums)
    if signer:
        from harness_audit.trail.note import sign_note

        write_atomic(output / "SHA256SUMS.sig", sign_note(pack.signature_body(sums), [signer]))
    print(f"wrote the evidence pack to {output}: {', '.join(sorted(files))}, SHA256SUMS"
          + (", SHA256SUMS.sig" if signer else ""), file=sys.stderr)
    raise typer.Exit(ExitCode.FINDINGS if assessment.fails("any") else ExitCode.OK)


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"
    json = "json"


class Highlight(StrEnum):
    risk = "risk"


@app.command()
@guarded
def graph(
    manifest: Annotated[Path, typer.Argument(help="A pipeline manifest.")],
    fmt: Annotated[GraphFormat, typer.Option("--format", "-f")] = GraphFormat.mermaid,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    highlight: Annotated[Highlight | None, typer.Option(
        "--highlight", help="risk: mark every path from untrusted input to an unguarded "
        "destructive or external tool.")] = None,
) -> None:
    """Draw the agent graph: Mermaid (renders in GitHub and GitLab), DOT, SVG or JSON."""
    from harness_audit.checks import assess_pipeline
    from harness_audit.cli._io import refuse_overwriting_inputs
    from harness_audit.manifest import load_manifest
    from harness_audit.report import graph_view, graphviz

    if output:
        refuse_overwriting_inputs([output], [manifest])
    result = assess_pipeline(load_manifest(manifest))
    risk = highlight is Highlight.risk
    if fmt is GraphFormat.mermaid:
        text = graph_view.to_mermaid(result, risk)
    elif fmt is GraphFormat.dot:
        text = graphviz.to_dot(result, risk)
    elif fmt is GraphFormat.svg:
        text = graphviz.dot_svg(graphviz.to_dot(result, risk))
    else:
        text = graph_view.to_json(result, risk)
    _write_or_print(text, output)
