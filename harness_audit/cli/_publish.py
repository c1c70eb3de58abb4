"""``trail publish``: a trail's tree as C2SP tlog-tiles, for any transparency-log client."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from harness_audit.cli import _options as opt
from harness_audit.cli._app import command, trail_app


@command(trail_app, "publish")
def trail_publish(
    trail: opt.TrailFiles,
    tiles: Annotated[
        Path,
        typer.Option(
            "--tiles",
            help="The folder (new or empty) or s3://bucket/prefix (empty) to write the tiles to.",
        ),
    ],
) -> None:
    """Write the trail's tree as C2SP tlog-tiles (https://c2sp.org/tlog-tiles) with its signed
    checkpoints: each entry is an event line without its hash member, so a tlog client (Go's
    sumdb/tlog, Trillian Tessera) checks inclusion and consistency without this tool."""
    from harness_audit.cli._io import terminal
    from harness_audit.trail.store import name_of
    from harness_audit.trail.tiles import publish

    s = publish(trail, tiles)
    print(
        f"published a tree of {s.size:,} entries (root {s.root}) as {s.tiles:,} tile(s) and "
        f"{s.bundles:,} entry bundle(s), partial tiles for {len(s.sizes):,} checkpointed "
        f"size(s), into {terminal(name_of(tiles))}",
        file=sys.stderr,
    )


__all__ = ["trail_publish"]
