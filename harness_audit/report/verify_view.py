"""How ``verify`` reports: JSON (CLI.md) and a summary in the manner of
``aws cloudtrail validate-logs``."""

from __future__ import annotations

import base64
import json
from typing import Any

from harness_audit.report.base import DEFAULT_OPTIONS, Renderer, RenderOptions
from harness_audit.report.inert import json_text, terminal_block
from harness_audit.report.inert import terminal as tx
from harness_audit.trail.verify import VerifyReport
from harness_audit.trail.witness import CheckpointResult

MAX_SHOWN = 50
SHARD_KINDS = ("missing_shard", "shard_order", "shard_link", "shard_key")


def verify_dict(r: VerifyReport) -> dict[str, Any]:
    """The report as the object of CLI.md: status, counts, root, anchor, checkpoints, the
    anchor's provenance (captured or sealed after the fact, when, key, witnesses), problems."""
    shards = {"shards": [s.as_dict() for s in r.shards]} if r.shards else {}
    return {
        "status": r.status,
        "events": r.events,
        "bytes": r.size,
        "files": r.files,
        "root": r.root.hex(),
        "anchor": (
            {
                "origin": r.anchor.origin,
                "size": r.anchor.size,
                "key": r.anchor.key,
                "checkpoint": r.anchor.file,
            }
            if r.anchor
            else None
        ),
        "checkpoints": {"found": r.checkpoints_found, "valid": r.checkpoints_valid},
        "provenance": r.provenance.as_dict(),
        "problems": [p.as_dict() for p in r.problems],
        "problems_not_listed": r.dropped,
        **shards,  # a sharded trail: each shard and the previous one its checkpoints name
    }


def verify_json(r: VerifyReport) -> str:
    """That object as indented JSON."""
    return json_text(verify_dict(r))


def verify_text(r: VerifyReport) -> str:
    """The summary: the problems (up to ``MAX_SHOWN``), the files and checkpoints valid, the range
    anchored and its provenance, the root and the status."""
    out = []
    names = ", ".join(tx(f) for f in r.files[:3]) + (
        f" and {len(r.files) - 3} more" if len(r.files) > 3 else ""
    )
    out.append(f"Validating trail {names}")
    out.append("")
    errors = [p for p in r.problems if not p.warning]
    for p in r.problems[:MAX_SHOWN]:
        where = tx(p.file) + (f":{p.line}" if p.line is not None else "")
        seq = f" seq {p.seq}" if p.seq is not None else ""
        label = "WARNING" if p.warning else "INVALID"
        out.append(f"{label} {tx(p.kind)}: {where}{seq}: {tx(p.detail)}")
    hidden = len(r.problems) - MAX_SHOWN + r.dropped
    if hidden > 0:
        out.append(f"... and {hidden:,} more problem(s) (use --format json for all)")
    if r.problems:
        out.append("")
    bad_files = {p.file for p in errors}
    seg_ok = sum(1 for f in r.files if f not in bad_files)
    out.append("Results found:")
    out.append(f"{seg_ok}/{len(r.files)} trail files valid")
    out.append(f"{r.events:,} event{'' if r.events == 1 else 's'}, {r.size:,} bytes checked")
    out.append(f"{r.checkpoints_valid}/{r.checkpoints_found} checkpoints valid")
    if r.shards:
        broken = sum(1 for p in errors if p.kind in SHARD_KINDS)
        out.append(
            f"{len(r.shards)} shards ({tx(r.shards[0].name)} to {tx(r.shards[-1].name)}), "
            + (f"{broken} broken link(s)" if broken else "each linked to the one before")
        )
    if r.anchor:
        out.append(
            f"Anchored: seq 0-{r.anchor.size - 1:,} by {tx(r.anchor.origin)} "
            f"(tree size {r.anchor.size:,}), signed by {tx(r.anchor.key.split('+')[0])}"
        )
        if r.events > r.anchor.size:
            out.append(
                f"Not anchored: seq {r.anchor.size:,}-{r.events - 1:,} "
                f"({r.events - r.anchor.size:,} events after the newest checkpoint)"
            )
        out += [f"{label}: {tx(text)}" for label, text in r.provenance.lines()]
    else:
        out.append("Anchored: nothing (no checkpoint signed by a trusted key matched the trail)")
    out.append(f"Merkle root: {r.root.hex()}")
    status = {
        "verified": "VERIFIED",
        "intact_unanchored": "INTACT, UNANCHORED (the chain holds "
        "but no trusted checkpoint anchors it: its tail could have been cut)",
        "failed": f"FAILED ({len(errors) + r.dropped:,} problem(s))",
    }[r.status]
    out.append(f"Status: {status}")
    return terminal_block("\n".join(out) + "\n")


class VerifyTextRenderer(Renderer[VerifyReport]):
    """The summary a person reads."""

    name = "table"

    def render(self, result: VerifyReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """The summary in the manner of ``aws cloudtrail validate-logs``."""
        return verify_text(result)


class VerifyJsonRenderer(Renderer[VerifyReport]):
    """The JSON shape of CLI.md."""

    name = "json"

    def render(self, result: VerifyReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """Indented JSON."""
        return verify_json(result)


def checkpoint_dict(r: CheckpointResult) -> dict[str, Any]:
    """A verified checkpoint as JSON data (``trail checkpoint verify -f json``)."""
    cp = r.checkpoint
    assert cp is not None
    return {
        "status": "verified",
        "origin": cp.origin,
        "size": cp.size,
        "root": base64.b64encode(cp.root).decode(),
        "extensions": list(cp.extensions),
        "signers": [v.text() for v in r.signers],
    }


class CheckpointTextRenderer(Renderer[CheckpointResult]):
    """One line for the checkpoint and one per trusted signer."""

    name = "table"

    def render(self, result: CheckpointResult, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """The verified checkpoint, or the problem."""
        if result.checkpoint is None:
            return f"{tx(result.file)}: {tx(result.problem)}\n"
        d = checkpoint_dict(result)
        lines = [f"verified: {tx(d['origin'])}, size {d['size']:,}, root {d['root']}"]
        lines += [f"  signed by {tx(v.name)} ({v.id.hex()})" for v in result.signers]
        return terminal_block("\n".join(lines) + "\n")


class CheckpointJsonRenderer(Renderer[CheckpointResult]):
    """The verified checkpoint as JSON."""

    name = "json"

    def render(self, result: CheckpointResult, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """Indented JSON (``{"status": "failed", ...}`` when it does not verify)."""
        if result.checkpoint is None:
            return (
                json.dumps(
                    {"status": "failed", "file": result.file, "problem": result.problem}, indent=2
                )
                + "\n"
            )
        return json.dumps(checkpoint_dict(result), indent=2) + "\n"
