"""Every command: its options and help come from ``options.toml``; each calls the library
(:mod:`harness_audit.actions` where a command does more than one call), renders, and returns
the exit code. Heavy modules are imported inside the commands so ``--help`` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from harness_audit import actions
from harness_audit.cli._app import command, write_or_print
from harness_audit.cli._io import say, show
from harness_audit.cli._options import Options
from harness_audit.errors import ExitCode


@command("scan")
def scan(o: Options) -> int:
    return actions.scan(o, o.from_config, o.render, say)


@command("rules")
def rules_list(o: Options) -> None:
    if o.ctx.invoked_subcommand is None:
        from harness_audit.checks import load_rulebook
        from harness_audit.report.rules_view import RuleList

        book = load_rulebook()
        o.render(RuleList(book, list(book.rules)), o.targets())


@command("rules show")
def rules_show(o: Options) -> None:
    from harness_audit.checks import load_rulebook
    from harness_audit.report.rules_view import RuleShown, resolve_rule

    targets = o.targets()
    book = load_rulebook()
    o.render(RuleShown(book, resolve_rule(book, o["rule_id"])), targets)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on a terminal for more than 64 MiB of trail, else none."""
    if not (sys.stderr.isatty() and total > 64 << 20):
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("verifying", total=total)
        yield lambda n: bar.advance(task, n)


@command("verify")
def verify(o: Options) -> int:
    return actions.verify(o, o.from_config, o.render, _progress)


@command("trail keygen")
def trail_keygen(o: Options) -> None:
    from harness_audit.keys import write_keypair

    key_path, pub_path, public = write_keypair(o["name"], o["out_dir"], o["witness"])
    print(f"wrote {key_path} (keep it secret) and {pub_path}", file=sys.stderr)
    print(public)


@command("trail rotate-key")
def trail_rotate_key(o: Options) -> None:
    from harness_audit.keys import load_signer
    from harness_audit.trail.rotation import rotate_key

    done = rotate_key(o["trail"], load_signer(o["old"]), load_signer(o["new"]))
    say(
        f"recorded the handover at size {done.size:,}: {done.old.split('+')[0]} -> "
        f"{done.new.split('+')[0]}; keep writing with --new alone"
    )


@command("trail seal")
def trail_seal(o: Options) -> None:
    from harness_audit._fs import refuse_overwriting
    from harness_audit.keys import load_signer
    from harness_audit.trail.sealer import seal_file

    source, output = o["source"], o["output"]
    refuse_overwriting([output, output.with_name(output.name + ".checkpoint")], [source, o["key"]])
    count, _ = seal_file(source, output, load_signer(o["key"]), o["origin"])
    say(f"sealed {count:,} events into {output} and {output}.checkpoint")


@command("trail checkpoint verify")
def checkpoint_verify(o: Options) -> int:
    from harness_audit.keys import load_verifiers
    from harness_audit.trail.witness import verify_checkpoint_file

    verifiers = load_verifiers(o["key"])
    targets = o.targets(o["file"])
    result = verify_checkpoint_file(o["file"], verifiers)
    if not result.ok:
        say(f"{result.file}: {result.problem}")
        return ExitCode.FINDINGS
    o.render(result, targets)
    return ExitCode.OK


@command("trail checkpoint cosign")
def checkpoint_cosign(o: Options) -> int:
    code, note = actions.cosign(o, say)
    if note is not None:
        write_or_print(note, o["output"])  # the state is persisted before the cosignature
    return code


@command("trail prove")
def trail_prove(o: Options) -> None:
    from harness_audit._json import dumps
    from harness_audit.trail.proofs import prove

    proof = prove(o["trail"], o["inclusion"] or [], o["consistency"], o["checkpoint"], o["output"])
    write_or_print(dumps(proof), o["output"])


@command("trail verify-proof")
def trail_verify_proof(o: Options) -> int:
    from harness_audit.evidence.replay import verify_export
    from harness_audit.keys import load_verifiers

    result = verify_export(o["proof"], load_verifiers(o["key"]))
    for line in result.lines:
        show(line)
    return ExitCode.OK if result.ok else ExitCode.FINDINGS


@command("sla")
def sla(o: Options) -> int:
    from harness_audit.sla.analysis import analyse_manifests

    manifest, trails = o["manifest"], o["trails"]
    targets = o.targets(*manifest, *([trails] if trails else []))
    result = analyse_manifests(manifest, o["allocate"], trails, o["what_if"] or ())
    o.render(result, targets)
    return ExitCode.FINDINGS if result.fails else ExitCode.OK


@command("replay")
def replay(o: Options) -> int:
    return actions.replay(o, o.from_config, o.render, say)


@command("report")
def report(o: Options) -> int:
    return actions.report(o, o.from_config, say, show)


@command("graph")
def graph(o: Options) -> None:
    from harness_audit.checks import assess_pipeline
    from harness_audit.cli._app import emit
    from harness_audit.manifest import load_manifest
    from harness_audit.report import GRAPH

    targets = o.targets(o["manifest"])
    result = assess_pipeline(load_manifest(o["manifest"]))
    emit(GRAPH, result, o["fmt"], targets, highlight_risk=o["highlight"] == "risk")


@command("init")
def init(o: Options) -> int:
    return actions.init(o, say, show, lambda text: print(text, end=""))


@command("trail import")
def trail_import(o: Options) -> int:
    return actions.trail_import(o, say)


@command("collect")
def collect(o: Options) -> int:
    return actions.collect(o, say)


@command("trail publish")
def trail_publish(o: Options) -> None:
    from harness_audit.trail.store import name_of
    from harness_audit.trail.tiles import publish

    t = publish(o["trail"], o["tiles"])
    say(
        f"published a tree of {t.size:,} entries (root {t.root}) as {t.tiles:,} tile(s) and "
        f"{t.bundles:,} entry bundle(s), partial tiles for {len(t.sizes):,} checkpointed "
        f"size(s), into {name_of(o['tiles'])}"
    )
