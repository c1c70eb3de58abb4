"""CSV: one row per finding, for spreadsheets and GRC imports; ``outcome`` says whether a check
failed (``fail``), was not proven by the trails (``not_proven``) or the row is a finding beyond
the checklist, and ``basis`` what the results rest on (a design review or operating evidence)."""

from __future__ import annotations

import csv
import io

from harness_audit.checks.assessment import Assessment
from harness_audit.report.base import DEFAULT_OPTIONS, Renderer, RenderOptions
from harness_audit.report.inert import csv_text

COLUMNS = (
    "pipeline",
    "agent",
    "rule",
    "check",
    "severity",
    "state",
    "file",
    "line",
    "seq",
    "span",
    "message",
    "fingerprint",
    "waiver",
    "outcome",
    "basis",
)


def _cell(value: object) -> str:
    return "" if value is None else csv_text(str(value))


class CsvRenderer(Renderer[Assessment]):
    """CSV: one row per finding."""

    name = "csv"

    def render(self, assessment: Assessment, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """A header row, then a row per finding; a cell a spreadsheet would run as a formula starts
        with an apostrophe."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(COLUMNS)
        for p in assessment.pipelines:
            for f in p.findings:
                state = "waived" if f.waived else "baselined" if f.baselined else "open"
                w.writerow(
                    [
                        _cell(x)
                        for x in (
                            f.pipeline,
                            f.agent,
                            f.rule,
                            f.check,
                            f.severity,
                            state,
                            f.file,
                            f.line,
                            f.seq,
                            f.span,
                            f.message,
                            f.fingerprint,
                            f.waived,
                            "not_proven" if f.not_proven else "fail" if f.check else "finding",
                            p.basis,
                        )
                    ]
                )
        return buf.getvalue()
