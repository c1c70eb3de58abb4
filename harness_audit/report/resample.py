"""``report resample``: the auditor's own sample, drawn from the population CSVs a pack holds
inside its signature, with the auditor's seed (issue 22, item 4).

The pack is checked first: every CSV against ``SHA256SUMS`` always, and with keys the
signature over ``SHA256SUMS`` too (:func:`harness_audit.report.pack.verify_pack`); a pack that
does not hold is never resampled. The draw is the pack's own method
(:data:`harness_audit.evidence.population.METHOD`), so a preparer's sample and an auditor's are
drawn alike and either can be re-performed. Nothing is written into the pack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_audit.errors import Diagnostic, TrailError
from harness_audit.evidence.population import PACK_FOLDER, draw


@dataclass(frozen=True)
class Resampled:
    """One sampled row: the CSV (its path in the pack), the control, and the row's fields."""

    csv: str
    control: str
    row: dict[str, str]


@dataclass(frozen=True)
class Resample:
    """What ``report resample`` drew: whether the signature was checked, and the rows."""

    signed: bool
    rows: list[Resampled]
    controls: int


def _controls(folder: Path) -> dict[str, str]:
    """The control (``agent/check``) of each population CSV, from the pack's findings.json."""
    from harness_audit._fs import read_bounded

    path = folder / "findings.json"
    raw = read_bounded(path, 1 << 30, "findings.json")
    try:
        data: Any = json.loads(raw)
        pipelines = data["workpaper"]["pipelines"]
        return {
            str(c["csv"]): str(c["control"])
            for entries in pipelines.values()
            for c in entries
            if c.get("csv")
        }
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise TrailError(
            Diagnostic(
                str(path),
                f"not a pack's findings.json with a work paper ({type(e).__name__})",
                expected="a pack written by `harness-audit report`",
            )
        ) from e


def resample(folder: Path, seed: int, size: int, verifiers: list[Any]) -> Resample:
    """Draw ``size`` rows per control from the pack's population CSVs with ``seed``; with
    ``verifiers`` the pack's signature is checked first (see the module doc)."""
    from harness_audit._fs import read_bounded
    from harness_audit.report.pack import SUMS_LIMIT, file_input, parse_sums, verify_pack

    if verifiers:
        check = verify_pack(folder, verifiers)
        if not check.ok:
            bad = "; ".join(x for x in check.lines if not x.startswith("ok "))
            raise TrailError(
                Diagnostic(
                    str(folder),
                    f"the pack does not verify, so it is not resampled: {bad}",
                    expected="a pack that `report verify` says is VERIFIED",
                )
            )
    sums = folder / "SHA256SUMS"
    listed = parse_sums(sums, read_bounded(sums, SUMS_LIMIT, "SHA256SUMS"))
    csvs = sorted(n for n in listed if n.startswith(f"{PACK_FOLDER}/"))
    if not csvs:
        raise TrailError(
            Diagnostic(
                str(sums),
                f"lists no population CSV ({PACK_FOLDER}/…)",
                expected="a pack of a report run on trails",
            )
        )
    controls = _controls(folder)
    rows: list[Resampled] = []
    for name in csvs:
        path = folder / name
        # with keys, verify_pack has just hashed every listed file: not again
        if not path.is_file() or (
            not verifiers and file_input("file", path).sha256 != listed[name]
        ):
            raise TrailError(
                Diagnostic(
                    str(path),
                    "missing or changed since the pack was written (SHA256SUMS)",
                    expected="the CSV SHA256SUMS lists",
                )
            )
        control = controls.get(name)
        if control is None:
            raise TrailError(
                Diagnostic(
                    str(folder / "findings.json"),
                    f"names no control for {name}",
                    expected="a work-paper entry for every population CSV",
                )
            )
        sample = draw(path, size, seed, control)
        rows.extend(Resampled(name, control, r) for r in sample.rows)
    return Resample(bool(verifiers), rows, len(csvs))
