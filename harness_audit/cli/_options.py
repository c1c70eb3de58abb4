"""Options declared once, shared by every command that takes them (as sigstore-python's
``_add_shared_*_options``). The project config reaches them as Click's ``default_map``
(:func:`harness_audit.config.config_default_map`): each setting is resolved once, by Click,
the flag, else the config's value, else the option's default.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from harness_audit.audit import DEFAULT_MAX_MANIFEST_BYTES
from harness_audit.findings import FailOn as FailOnLevel
from harness_audit.report import (
    CHECKPOINT,
    GRAPH,
    REPLAY,
    RULE,
    RULES,
    SCAN,
    SLA,
    VERIFY,
    Registry,
)
from harness_audit.trust import TrustRoot

__all__ = ["DEFAULT_MAX_MANIFEST_BYTES", "FailOn", "FailOnLevel"]

FailOn = Annotated[
    FailOnLevel,
    typer.Option(
        "--fail-on",
        help="Exit 1 at: any failed or unproven check (default), a band (at-risk, "
        "audit-will-fail), an unwaived finding of a severity or higher (critical, high, "
        "medium, low), or never.",
    ),
]

AiActDate = Literal["art-113", "digital-omnibus"]
Allocation = Literal["equal", "arinc"]
Highlight = Literal["risk"]


def format_option(registry: Registry[Any]) -> Any:
    """``--format`` with the choices of one command's renderer registry."""
    return typer.Option(
        "--format", "-f", help=f"Output format (default: {registry.names[0]}).", show_default=False
    )


def _choices(registry: Registry[Any]) -> Any:
    """The registry's format names as a ``Literal`` type: Typer makes it a choice."""
    return Literal[registry.names]


if TYPE_CHECKING:  # the checker sees plain strings; Typer sees the registry's choices
    ScanFormat = Annotated[str | None, format_option(SCAN)]
    VerifyFormat = Annotated[str, format_option(VERIFY)]
    CheckpointFormat = Annotated[str, format_option(CHECKPOINT)]
    SlaFormat = Annotated[str, format_option(SLA)]
    ReplayFormat = Annotated[str, format_option(REPLAY)]
    RulesFormat = Annotated[str, format_option(RULES)]
    RuleFormat = Annotated[str, format_option(RULE)]
    GraphFormat = Annotated[str, format_option(GRAPH)]
else:
    ScanFormat = Annotated[_choices(SCAN) | None, format_option(SCAN)]
    VerifyFormat = Annotated[_choices(VERIFY), format_option(VERIFY)]
    CheckpointFormat = Annotated[_choices(CHECKPOINT), format_option(CHECKPOINT)]
    SlaFormat = Annotated[_choices(SLA), format_option(SLA)]
    ReplayFormat = Annotated[_choices(REPLAY), format_option(REPLAY)]
    RulesFormat = Annotated[_choices(RULES), format_option(RULES)]
    RuleFormat = Annotated[_choices(RULE), format_option(RULE)]
    GraphFormat = Annotated[_choices(GRAPH), format_option(GRAPH)]

Outputs = Annotated[
    list[str] | None,
    typer.Option("--output", "-o", help="Write to PATH (in --format) or FORMAT=PATH; repeatable."),
]
VerifierKeys = Annotated[
    list[str] | None,
    typer.Option(
        "--key",
        "-k",
        help="Trail verifier key: the key text <name>+<id>+<key>, or a file of "
        "keys, one a line; repeatable.",
    ),
]
RequiredVerifierKeys = Annotated[
    list[str],
    typer.Option(
        "--key",
        "-k",
        help="Trusted verifier key: the key text <name>+<id>+<key>, or a file of "
        "keys, one a line; repeatable.",
    ),
]
SignerKey = Annotated[
    Path, typer.Option("--key", "-k", help="Signer key file (NAME.key, from `trail keygen`).")
]
Checkpoints = Annotated[
    list[Path] | None, typer.Option("--checkpoint", help="More checkpoints to check; repeatable.")
]
TrustedState = Annotated[
    Path | None,
    typer.Option("--trusted-state", help="The newest checkpoint you kept from the last audit."),
]
Jobs = Annotated[
    int, typer.Option("--jobs", "-j", min=1, max=64, help="Processes to verify trails with.")
]
Dask = Annotated[
    str | None,
    typer.Option(
        "--dask",
        metavar="ADDRESS",
        help="Verify trails on the Dask cluster whose scheduler is at ADDRESS "
        "(pip install 'harness-audit[dask]').",
    ),
]
Trails = Annotated[
    Path | None,
    typer.Option(
        "--trails",
        help="Judge the checks on these trails too (default: each manifest's "
        "trail.path, when it exists).",
    ),
]
NoTrails = Annotated[
    bool, typer.Option("--no-trails", help="Judge the manifests alone, even where trails exist.")
]
Sample = Annotated[
    int,
    typer.Option(
        "--sample", min=0, help="Draw N events per control for an auditor to test by hand."
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the sample.")]
Tsc = Annotated[
    str | None,
    typer.Option(
        "--tsc",
        metavar="CATEGORY,...",
        help="Trust Services categories in scope (security, availability, processing_integrity, "
        "confidentiality, privacy; default: the manifest's compliance.tsc, else security).",
    ),
]
Waivers = Annotated[
    Path | None,
    typer.Option(
        "--waivers", help="Waivers file (default: .harness-audit-waivers.yaml if present)."
    ),
]
Baseline = Annotated[
    Path | None, typer.Option("--baseline", help="Fail only on findings not in this baseline.")
]
WitnessKeys = Annotated[
    list[str] | None,
    typer.Option(
        "--witness-key",
        help="A witness's cosignature key (C2SP tlog-cosignature vkey, or a file "
        "of them); repeatable.",
    ),
]
WitnessQuorum = Annotated[
    int | None,
    typer.Option(
        "--witness-quorum",
        min=1,
        help="Cosignatures by distinct --witness-key witnesses the "
        "anchoring checkpoint needs (default: 1 when witness keys are given).",
    ),
]
SealedLateAfter = Annotated[
    str | None,
    typer.Option(
        "--sealed-late-after",
        metavar="DURATION",
        help="A trail signed longer than this after its last event (24h, 7d) was sealed after "
        "the fact, as a `trail import` is: it proves what its source said, not when "
        "(default: 24h).",
    ),
]
RequirePinned = Annotated[
    bool,
    typer.Option(
        "--require-pinned",
        help="Fail trail_is_immutable unless a key given by flag or config "
        "anchors the trail (the manifest's own trail.public_key is a claim, not a trust root).",
    ),
]
TrailFiles = Annotated[list[Path], typer.Argument(help="Trail files, or a folder of segments.")]


def trust_root(ctx: typer.Context) -> TrustRoot:
    """The trust options of ``scan``, ``report``, ``verify`` and ``replay`` (``--key``,
    ``--checkpoint``, ``--trusted-state``, ``--witness-key``, ``--witness-quorum`` and, where
    taken, ``--require-pinned``) as one value, from ``ctx.params``: each already resolved from
    flag, config and default. Keys from the config are pinned as the config's."""
    p = ctx.params
    source = ctx.get_parameter_source("key")
    return TrustRoot(
        tuple(p["key"] or ()),
        "config" if source is not None and source.name == "DEFAULT_MAP" else "flag",
        tuple(p["checkpoint"] or ()),
        p["trusted_state"],
        tuple(p["witness_key"] or ()),
        p["witness_quorum"],
        p.get("require_pinned", False),
    )


Period = Annotated[
    str | None,
    typer.Option(
        "--period",
        metavar="FROM..TO",
        help="The period of review (dates or RFC 3339 "
        "times): events outside it are counted, not judged.",
    ),
]
"""``--period`` of ``scan`` and ``report``: the one period both judge coverage against."""
MaxGap = Annotated[
    str | None,
    typer.Option(
        "--max-gap",
        metavar="DURATION",
        help="A stretch with no event nor checkpoint longer "
        "than this (24h, 90m, 2d) is a coverage gap (default: the manifest's "
        "trail.x-expected-activity, else 24h).",
    ),
]
"""``--max-gap`` of ``scan`` and ``report``."""

Shard = Annotated[
    Literal["month", "quarter"] | None,
    typer.Option(
        "--shard",
        help="Periods as shards: one shard folder OUT/<period> per month or quarter of the "
        "writer's clock, each a trail whose checkpoints name the previous shard's final one "
        "(`verify OUT` follows the chain).",
    ),
]
"""``--shard PERIOD`` of the writers (``collect``, ``trail import``; issue 27, item 4)."""
