"""Waivers (accepted risks, each with a reason, owner, ticket and expiry) and baselines
(known findings, by stable fingerprint), applied to an :class:`Assessment`.

A waived finding stays in every output, marked waived, and does not fail the build. An expired
waiver fails closed: its findings count again, and it is reported as expired. A waiver that
matches nothing is reported as stale.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness_audit.checks.assessment import Assessment, PipelineResult
from harness_audit.errors import UNREADABLE, Diagnostic, InputError, ManifestError, diagnosed
from harness_audit.findings import Finding

DEFAULT_FILE = ".harness-audit-waivers.yaml"
MAX_BYTES = 4 << 20
"""The largest waivers file read."""
WaiverStatus = Literal["active", "expired", "stale"]


@dataclass(frozen=True, slots=True)
class Waiver:
    """An accepted risk: a rule waived for an agent (or ``*``) of a pipeline until a date."""

    rule: str
    pipeline: str
    agent: str
    justification: str
    owner: str
    ticket: str
    expires: dt.date
    line: int
    file: str

    def matches(self, f: Finding) -> bool:
        """Whether the waiver covers the finding (by rule id or check name)."""
        return (
            self.pipeline == f.pipeline
            and (self.agent == "*" or self.agent == f.agent)
            and self.rule in (f.rule, f.check)
        )

    def text(self) -> str:
        """The justification, owner, ticket and expiry, as shown beside a finding."""
        return (
            f"{self.justification} (owner {self.owner}, ticket {self.ticket}, "
            f"expires {self.expires.isoformat()})"
        )


@dataclass(frozen=True, slots=True)
class WaiverState:
    """A waiver after applying: active, expired or stale (matched nothing), and its matches."""

    waiver: Waiver
    state: WaiverStatus
    matched: int

    def warning(self) -> str | None:
        """The line a scan warns with for a waiver that is not active; None for an active one."""
        if self.state == "active":
            return None
        w = self.waiver
        return (
            f"{w.file}:{w.line}: {self.state} waiver for {w.rule} on {w.pipeline}/{w.agent} "
            f"(ticket {w.ticket}, expires {w.expires})"
            + (
                ": its findings count again"
                if self.state == "expired"
                else ": it matches no finding"
            )
        )


def load_waivers(path: Path) -> list[Waiver]:
    """Read and validate a waivers file; every problem is an error with its line (exit 2)."""
    import jsonschema

    from harness_audit._fs import read_bounded
    from harness_audit._resources import load_schema
    from harness_audit.manifest.yamlsafe import parse_yaml

    doc = parse_yaml(read_bounded(path, MAX_BYTES, "waivers"), str(path))
    schema = load_schema("waivers.schema.json")
    problems = []
    for err in jsonschema.Draft7Validator(schema).iter_errors(doc.data):
        where = tuple(err.absolute_path)
        m = doc.mark(where)
        msg = err.message
        if err.validator == "required" and len(where) >= 2:
            msg = f"waiver {where[1]}: {err.message}"
        problems.append(
            Diagnostic(
                str(path),
                msg,
                m.line if m else None,
                m.column if m else None,
                "rule, pipeline, agent, justification, owner, ticket, expires",
            )
        )
    if problems:
        raise ManifestError(problems)
    out = []
    for i, w in enumerate(doc.data["waivers"]):
        m = doc.mark(("waivers", i))
        try:
            expires = dt.date.fromisoformat(w["expires"])
        except ValueError as e:
            raise ManifestError(
                Diagnostic(
                    str(path),
                    f"expires {w['expires']!r} is not a date",
                    m.line if m else None,
                    expected="YYYY-MM-DD",
                )
            ) from e
        out.append(
            Waiver(
                w["rule"],
                w["pipeline"],
                w["agent"],
                w["justification"],
                w["owner"],
                w["ticket"],
                expires,
                m.line if m else 0,
                str(path),
            )
        )
    return out


def today() -> dt.date:
    """Today's date in UTC."""
    return dt.datetime.now(dt.UTC).date()


def apply(
    assessment: Assessment,
    waivers: list[Waiver],
    baseline: set[str] | None = None,
    on: dt.date | None = None,
) -> Assessment:
    """Mark findings waived (by an unexpired waiver) or baselined; return the new assessment
    with the state of every waiver."""
    on = on or today()
    counts = {id(w): 0 for w in waivers}
    pipelines = []
    for p in assessment.pipelines:
        findings = []
        for f in p.findings:
            expired = False
            for w in waivers:
                if w.matches(f):
                    counts[id(w)] += 1
                    if w.expires >= on:
                        f = dataclasses.replace(f, waived=w.text())
                        break
                    expired = True
            # an expired waiver fails closed: its finding counts again, baseline or not
            if baseline is not None and f.fingerprint in baseline and not expired:
                f = dataclasses.replace(f, baselined=True)
            findings.append(f)
        pipelines.append(_with_findings(p, findings))
    states = tuple(
        WaiverState(
            w,
            "expired" if w.expires < on else ("active" if counts[id(w)] else "stale"),
            counts[id(w)],
        )
        for w in waivers
    )
    return dataclasses.replace(assessment, pipelines=tuple(pipelines), waivers=states)


def _with_findings(p: PipelineResult, findings: list[Finding]) -> PipelineResult:
    return dataclasses.replace(p, findings=tuple(findings))


BASELINE_VERSION = 1


def baseline_data(assessment: Assessment) -> dict[str, Any]:
    """The baseline of an assessment: the fingerprints of its findings."""
    fps = sorted({f.fingerprint for p in assessment.pipelines for f in p.findings})
    return {"tool": "harness-audit", "version": BASELINE_VERSION, "fingerprints": fps}


def write_baseline(assessment: Assessment, path: Path) -> int:
    """Write the assessment's baseline (``--write-baseline``) to ``path``; the number of
    fingerprints it holds."""
    from harness_audit._fs import write_atomic
    from harness_audit._json import dumps

    data = baseline_data(assessment)
    write_atomic(path, dumps(data))
    return len(data["fingerprints"])


def load_baseline(path: Path) -> set[str]:
    """The fingerprints of a baseline file written by ``--write-baseline``."""
    with diagnosed(
        str(path),
        "not JSON: {error}",
        catch=ValueError,
        error=InputError,
        expected="a baseline from --write-baseline",
    ):  # invalid UTF-8 included
        with diagnosed(str(path), UNREADABLE, catch=OSError, error=InputError):
            text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    if (
        not isinstance(data, dict)
        or data.get("version") != BASELINE_VERSION
        or not isinstance(data.get("fingerprints"), list)
    ):
        raise InputError(
            Diagnostic(
                str(path),
                "not a harness-audit baseline",
                expected=f"version {BASELINE_VERSION} with fingerprints",
            )
        )
    return {str(x) for x in data["fingerprints"]}
