"""``report`` and ``scan`` given framework definitions and trace files directly (issue 25, item
7): they draft and import in the run, failing closed as ``init`` and ``trail import`` do.

Each path is what it is: a manifest (or a folder of them) stays one; framework definitions
``init`` reads are drafted into a manifest; a trace file that ``trail import`` reads, given
beside them, is imported and sealed into a trail (the manifest's agent names and roles map the
trace's). Given without definitions, a trace is refused with the command that converts it
(``trail import``, then ``init --from-trail``), as every command refuses a foreign file. The
draft and the trail are the run's inputs and, in a pack, its files (``drafted/harness.yaml``,
``imported/`` and ``imported-checkpoints/``), listed in SHA256SUMS: marked as drafted
(``x-import``) and imported (``import.json``, the import marker under the trail's signature;
imported evidence never passes ``trail_is_immutable``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness_audit.errors import Diagnostic, HarnessAuditError, UsageError

if TYPE_CHECKING:
    from harness_audit.report.pack import Input

DRAFTED = "drafted"
IMPORTED = "imported"
IMPORTED_CHECKPOINTS = "imported-checkpoints"
ORIGIN = "harness-audit/imported-in-the-run"


@dataclass
class Staged:
    """What a run reads after drafting and importing: manifests, the trail, its verifier key."""

    manifests: list[Path]
    trail: Path | None = None
    verifier: Path | None = None
    drafted: Path | None = None
    said: list[str] = field(default_factory=list)
    """What was drafted and imported, for the command to print."""
    work: Path | None = None
    given: list[tuple[str, str, int, str]] = field(default_factory=list)
    """The user's files the run drafted and imported: (kind, path as given, size, SHA-256)."""

    def inputs(self, rows: list[Input]) -> list[Input]:
        """The pack's inputs table of this run (issue 25, item 7): a file staged in the run's
        temporary folder is named by its place in the pack (``drafted/harness.yaml``,
        ``imported/…``; the import's verifier key as ``imported.pub``), never by a path that
        is gone when the run ends, and the user's definition and trace files are listed as
        given, with their size and SHA-256, marked drafted and imported."""
        from harness_audit.report.pack import Input

        out: list[Input] = []
        work = self.work.resolve() if self.work is not None else None
        for r in rows:
            place = _inside(Path(r.path), work)
            if place is None:
                out.append(r)
            elif place.parts[0] == DRAFTED:
                out.append(
                    Input(f"{r.kind} (drafted in the run)", place.as_posix(), r.size, r.sha256)
                )
            elif place.parts[0] == IMPORTED:
                name = place.parts[-1]
                where = IMPORTED_CHECKPOINTS if "checkpoints" in place.parts[1:-1] else IMPORTED
                out.append(
                    Input(f"{r.kind} (imported in the run)", f"{where}/{name}", r.size, r.sha256)
                )
            else:
                out.append(
                    Input(
                        f"{r.kind} (of the import in the run)", place.as_posix(), r.size, r.sha256
                    )
                )
        out += [Input(kind, path, size, sha) for kind, path, size, sha in self.given]
        return out

    def names(self) -> tuple[tuple[str, str], ...]:
        """The run's own files by their places in the pack (:attr:`AuditRequest.names`): the
        draft as ``drafted/harness.yaml``, the imported trail's files under ``imported/`` and
        ``imported-checkpoints/``, so that no finding names the temporary folder."""
        out: list[tuple[str, str]] = []
        if self.drafted is not None:
            out.append((str(self.drafted), f"{DRAFTED}/harness.yaml"))
        if self.trail is not None:  # checkpoints first: they are inside the trail's folder
            out.append((str(self.trail / "checkpoints") + os.sep, f"{IMPORTED_CHECKPOINTS}/"))
            out.append((str(self.trail) + os.sep, f"{IMPORTED}/"))
        return tuple(out)

    def pack_files(self) -> dict[str, bytes | Path]:
        """The draft and the imported trail as files of the pack (one folder deep)."""
        out: dict[str, bytes | Path] = {}
        if self.drafted is not None:
            out[f"{DRAFTED}/harness.yaml"] = self.drafted
        if self.trail is not None:
            for f in sorted(self.trail.iterdir()):
                if f.is_file():
                    out[f"{IMPORTED}/{f.name}"] = f
            cps = self.trail / "checkpoints"
            if cps.is_dir():
                for f in sorted(cps.iterdir()):
                    if f.is_file():
                        out[f"{IMPORTED_CHECKPOINTS}/{f.name}"] = f
        return out


def _inside(path: Path, work: Path | None) -> Path | None:
    """``path`` relative to the run's folder ``work``, or None when it is not in it."""
    if work is None:
        return None
    try:
        return path.resolve().relative_to(work)
    except (OSError, ValueError):
        return None


def _given(kind: str, file: str, sha256: str) -> tuple[str, str, int, str]:
    try:
        size = Path(file).stat().st_size
    except OSError:
        size = 0
    return kind, file, size, sha256


def _drafted_from(manifest: Path) -> list[tuple[str, str]]:
    """(file as given, SHA-256) of the definitions the draft says it read (``x-import``)."""
    from harness_audit.manifest.yamlsafe import load_yaml

    try:
        data = load_yaml(manifest).data
    except (HarnessAuditError, OSError):
        return []
    block = data.get("x-import") if isinstance(data, dict) else None
    srcs = block.get("sources") if isinstance(block, dict) else None
    return [
        (str(s["file"]), str(s["sha256"]))
        for s in (srcs if isinstance(srcs, list) else [])
        if isinstance(s, dict) and "file" in s and "sha256" in s
    ]


def _is_manifest(p: Path) -> bool:
    from harness_audit.manifest.loader import _walk, is_manifest_name

    if p.is_file():
        return is_manifest_name(p.name)
    if p.is_dir():
        return any(True for _ in _walk(p, []))
    return True  # missing: the loader says so


def _kind(p: Path) -> str:
    """``manifest``, ``trace`` or ``definition`` (else ``manifest``: its loader says what is
    wrong with it)."""
    from harness_audit.importers import detect_definition, detect_trace

    if _is_manifest(p):
        return "manifest"
    if p.is_file():
        try:
            detect_trace(p)
            return "trace"
        except HarnessAuditError:
            pass
    try:
        detect_definition([p])
        return "definition"
    except HarnessAuditError:
        return "manifest"


def stage(paths: list[Path], work: Path, sign_key: Path | None, given_trails: bool) -> Staged:
    """Draft and import what ``paths`` hold into ``work`` (a temporary folder of the run);
    the paths unchanged when they are all manifests."""
    kinds = {p: _kind(p) for p in paths}
    traces = [p for p in paths if kinds[p] == "trace"]
    definitions = [p for p in paths if kinds[p] == "definition"]
    manifests = [p for p in paths if kinds[p] == "manifest"]
    if not definitions:  # traces alone are refused, naming `trail import` (foreign.py): a
        # trace is imported in the run beside the definitions that say what ran
        return Staged(list(paths))
    if traces and given_trails:
        raise UsageError(
            Diagnostic(
                str(traces[0]),
                "trace files are imported in the run: give them or --trails, not both",
                expected="report CREW TRACE... -o PACK, or report MANIFEST --trails DIR",
            )
        )
    if definitions and manifests:
        raise UsageError(
            Diagnostic(
                str(definitions[0]),
                "definitions are drafted into a manifest in the run: give them or manifests, "
                "not both",
                expected="report CREW TRACE... -o PACK",
            )
        )
    from harness_audit.importers import draft_to_file, import_files

    staged = Staged([], work=work)
    manifest: Path | None = manifests[0] if len(manifests) == 1 else None
    if definitions:  # the run's files named as in the pack, so a finding's place reads so
        (work / DRAFTED).mkdir()
        manifest = work / DRAFTED / "harness.yaml"
        todo = draft_to_file(definitions, manifest)
        staged.drafted = manifest
        staged.given += [
            _given(f"definition (drafted into {DRAFTED}/harness.yaml)", f, sha)
            for f, sha in _drafted_from(manifest)
        ]
        staged.said.append(
            f"drafted a manifest from {', '.join(str(d) for d in definitions)} "
            f"({todo} field(s) to declare: they fail their checks)"
        )
    if traces:
        key = sign_key
        if key is None:  # a throwaway key: the trail is the run's, its seal proves the run only
            from harness_audit.trail.note import Signer

            key = work / "imported.key"
            signer = Signer.from_seed(ORIGIN, os.urandom(32))
            key.write_text(signer.text() + "\n")
            key.chmod(0o600)
            pub = work / "imported.pub"
            pub.write_text(signer.verifier.text() + "\n")
        else:
            from harness_audit.keys import load_signer

            pub = work / "imported.pub"
            pub.write_text(load_signer(key).verifier.text() + "\n")
        trail = work / IMPORTED
        summary = import_files(
            traces,
            trail,
            ORIGIN,
            key,
            manifest=manifest,
            manifest_name=f"{DRAFTED}/harness.yaml" if staged.drafted is not None else None,
        )
        events = sum(summary["events"].values())
        staged.trail, staged.verifier = trail, pub
        staged.given += [
            _given(f"trace (imported into {IMPORTED}/)", str(src["file"]), str(src["sha256"]))
            for src in summary.get("sources", [])
        ]
        staged.said.append(
            f"imported {events:,} event(s) in {summary['runs']:,} run(s) from "
            f"{', '.join(str(t) for t in traces)}, sealed (imported evidence: the source "
            "format proves nothing before the import)"
        )
        for w in summary.get("warnings", []):
            staged.said.append(f"warning: {w}")
    staged.manifests = [manifest] if manifest is not None else list(manifests)
    return staged


def apply(ctx_params: dict[str, object], staged: Staged) -> None:
    """Point the run's ``--trails`` and ``--key`` at the imported trail and its verifier."""
    if staged.trail is not None and staged.verifier is not None:
        ctx_params["trails"] = staged.trail
        ctx_params["no_trails"] = False
        keys = ctx_params.get("key") or []
        ctx_params["key"] = [*keys, str(staged.verifier)]  # type: ignore[misc]
