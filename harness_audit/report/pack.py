"""The evidence pack: evidence.html, evidence.pdf, findings.json, SHA256SUMS (+ .sig).

The HTML is one self-contained file (inline CSS pinned by hash in a Content-Security-Policy
that allows nothing else, inline SVG, no script, no external request). Every string from a
manifest or trail is escaped (Jinja2 autoescape). The same inputs and ``SOURCE_DATE_EPOCH``
give byte-identical HTML and JSON.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness_audit import __version__
from harness_audit._resources import data_dir
from harness_audit.checks.assessment import BANDS, Assessment
from harness_audit.checks.checks import CHECKS
from harness_audit.evidence.model import MAX_EXCEPTIONS_SHOWN
from harness_audit.evidence.outcomes import status_words
from harness_audit.evidence.population import PACK_FOLDER
from harness_audit.report.inert import json_text
from harness_audit.report.sla_view import compound_pct, declared_pct, pct, verdict_text
from harness_audit.report.workpaper import workpaper
from harness_audit.sla import SlaReport

if TYPE_CHECKING:
    from harness_audit.audit import AuditRequest, AuditRun
    from harness_audit.trail.note import Signer

POPULATIONS = PACK_FOLDER
"""The pack's folder of population CSVs (one per control whose population is events), listed
in SHA256SUMS by their path in the pack (``populations/<csv>``)."""
PACK_FILES = (
    "summary.html",  # first: one page per pipeline (report/summary.py)
    "summary.pdf",
    "evidence.html",
    "evidence.pdf",
    "findings.json",
    "README.txt",
    "SHA256SUMS",
    "SHA256SUMS.sig",
    POPULATIONS,
    "drafted",  # report given definitions and traces (direct.py): the draft and the import
    "imported",
    "imported-checkpoints",
)
SIG_NOTE_ORIGIN = "harness-audit evidence pack v1"
MAX_PER_PROBLEM = 12


@dataclass(frozen=True)
class Input:
    """One file the pack was made from, as its inputs table lists it: kind, path, size, SHA-256."""

    kind: str
    path: str
    size: int
    sha256: str


def file_input(kind: str, path: Path) -> Input:
    """The Input of a file, hashed in 1 MiB chunks."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return Input(kind, str(path), size, h.hexdigest())


def pack_populations(run: AuditRun) -> dict[str, Path]:
    """Every population CSV the run wrote, by its path in the pack (``populations/<csv>``)."""
    return {
        f"{POPULATIONS}/{csv.name}": csv
        for t in run.trails.values()
        if t.populations is not None
        for csv in sorted(t.populations.glob("*.csv"))
    }


def generated_at() -> dt.datetime:
    """SOURCE_DATE_EPOCH (reproducible builds) or now, in UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isascii() and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _css() -> str:
    from harness_audit.report.summary import stylesheet

    return stylesheet()


def csp_for(css: str) -> str:
    """A Content-Security-Policy that allows nothing but the stylesheet with this text."""
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode()
    return (
        "default-src 'none'; script-src 'none'; object-src 'none'; base-uri 'none'; "
        f"form-action 'none'; img-src 'none'; font-src 'none'; style-src 'sha256-{digest}'"
    )


def _context(
    assessment: Assessment,
    slas: dict[str, SlaReport],
    inputs: list[Input],
    when: dt.datetime,
    graphs: list[dict[str, Any]],
    ai_act_date: str | None,
    waivers: list[dict[str, Any]],
    wp: dict[str, Any],
    preparer: str | None,
) -> dict[str, Any]:
    from markupsafe import Markup

    from harness_audit.report.charts import sla_chart

    pipelines = list(assessment.pipelines)
    rules = assessment.rules
    worst = max((p.score for p in pipelines), default=0)
    overall = max((p.band for p in pipelines), key=BANDS.index, default="audit-ready")
    firsts = [p.evidence.first_ts for p in pipelines if p.evidence and p.evidence.first_ts]
    lasts = [p.evidence.last_ts for p in pipelines if p.evidence and p.evidence.last_ts]
    period = (
        f"{min(firsts)} to {max(lasts)} (from the trails)"
        if firsts and lasts
        else "point in time: the manifests as declared (no trails given)"
    )
    classes = sorted({c for p in pipelines for c in p.pipeline.data_classes})
    scope = f"{sum(len(p.agents) for p in pipelines)} agents in {len(pipelines)} pipeline(s)" + (
        f"; data classes: {', '.join(classes)}" if classes else ""
    )
    owners = ", ".join(sorted({p.pipeline.owner for p in pipelines if p.pipeline.owner})) or "—"
    from harness_audit.compliance import classification_text, criteria, reviews

    ai_act_classes = cover_groups(
        {p.pipeline.name: classification_text(p.pipeline.compliance.eu_ai_act) for p in pipelines}
    )
    tsc_cover = cover_groups({name: s.text for name, s in wp["tsc"].items()})
    facts = rules.frameworks["eu_ai_act"].facts
    chosen = ai_act_date or facts.get("default_application_date")
    dates = [dict(d) | {"chosen": d["id"] == chosen} for d in facts.get("application_dates", [])]

    by_problem: dict[int, list[Any]] = defaultdict(list)
    for p in pipelines:
        for f in p.findings:
            if f.severity != "info":
                by_problem[rules.rules[f.rule].problem].append(
                    {
                        "pipeline": p.pipeline.name,
                        "rule": f.rule,
                        "severity": f.severity,
                        "message": f.message,
                    }
                )
    problems = [
        {
            "number": n,
            "title": rules.problems[n].title.capitalize(),
            "why": rules.problems[n].why,
            "findings": by_problem[n][:MAX_PER_PROBLEM],
            "more": max(0, len(by_problem[n]) - MAX_PER_PROBLEM),
        }
        for n in range(1, 8)
    ]

    sla_items = []
    for p in pipelines:
        r = slas.get(p.pipeline.name)
        if r is None:
            continue
        stages = []
        for s in r.stages:
            obs = "—"
            if s.observed:
                o = s.observed
                obs = f"{o.successes}/{o.attempts}, ≥{pct(o.lower, 2)}: {o.verdict}"
            stages.append(
                {
                    "agent": s.agent if s.series else f"{s.agent} (fallback)",
                    "declared": declared_pct(s.declared, 3),
                    "effective": pct(s.effective, 4),
                    "required": pct(s.required, 4),
                    "headroom": "—" if s.headroom is None else f"{s.headroom * 100:+.4f}",
                    "budget": "—"
                    if s.failures_per_million is None
                    else f"{s.failures_per_million:,.0f}",
                    "observed": obs,
                }
            )
        budget = (
            "undeclared (no slo.target)"
            if r.target is None
            else (
                f"{r.error_budget_hours_per_year:.2f} h/year, "
                f"{r.error_budget_minutes_per_window:.1f} min per {r.window_days:g} days"
            )
        )
        sla_items.append(
            {
                "report": r,
                "target": declared_pct(r.target, 3),
                "compound": compound_pct(r, 4),
                "verdict": verdict_text(r),
                "budget": budget,
                "stages": stages,
                "chart": Markup(sla_chart(r)),  # noqa: S704 - sla_chart escapes its text
            }
        )

    runtime = []
    for p in pipelines:
        e = p.evidence
        item: dict[str, Any] = {"pipeline": p.pipeline.name, "evidence": e}
        if e is not None:
            item["period"] = f"{e.first_ts} to {e.last_ts}" if e.first_ts else "no events"
            c = e.cost_summary()
            item["cost"] = (
                "—"
                if not c["runs"]
                else f"p50 ${c['p50_usd']:.4f}, p95 ${c['p95_usd']:.4f}, max ${c['max_usd']:.4f}"
            )
            item["controls"] = [
                {
                    "agent": a,
                    "check": ch,
                    "operated": ctl.operated,
                    "denied": ctl.denied,
                    "failed": ctl.failed,
                    "reason": ctl.reason or ctl.stand_in_reason,
                    "exceptions": exception_list(ctl),
                }
                for (a, ch), ctl in sorted(e.controls.items())
            ]
            item["populations"] = [(k, v) for k, v in sorted(e.populations.items()) if v.sample]
        runtime.append(item)
    integrity = [
        {
            "pipeline": p.pipeline.name,
            "report": p.evidence.verify if p.evidence else None,
            "trust": p.evidence.trust if p.evidence else None,
            "key": key_text(p.evidence.trust) if p.evidence and p.evidence.trust else None,
        }
        for p in pipelines
    ]
    unpinned = [
        p.pipeline.name
        for p in pipelines
        if p.evidence
        and p.evidence.trust
        and p.evidence.trust.key_source == "manifest"
        and not p.evidence.trust.pinned
    ]
    caveats = (
        [
            f"the trails of {', '.join(unpinned)} are verified with the manifest's own key "
            "(not pinned): the key sits beside the evidence it vouches for, so whoever could "
            "rewrite a trail could have replaced it; pin it with --key or trail-keys"
        ]
        if unpinned
        else []
    )
    css = _css()
    return {
        "version": __version__,
        "css": Markup(css),  # noqa: S704 - our own file
        "csp": csp_for(css),
        "generated": when.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "pipelines": pipelines,
        "overall": overall,
        "worst": worst,
        "period": period,
        "scope": scope,
        "owners": owners,
        "ai_act_dates": dates,
        "ai_act_classes": ai_act_classes,
        "tsc_cover": tsc_cover,
        "reviews": reviews(),
        "tsc_source": " ".join(str(criteria()["tsc"]["source"]).split()),
        "any_evidence": any(p.evidence for p in pipelines),
        "checks": CHECKS,
        "statuses": status_words(),
        "problems": problems,
        "graphs": graphs,
        "slas": sla_items,
        "integrity": integrity,
        "caveats": caveats,
        "runtime": runtime,
        "waivers": waivers,
        "inputs": sorted(inputs, key=lambda i: (i.kind, i.path)),
        "wp": wp,
        "coverage": coverage_rows(pipelines),
        "preparer": preparer,
        "date": when.strftime("%Y-%m-%d") if preparer else "",
        "chosen_act": next((d for d in dates if d["chosen"]), None),
    }


def cover_groups(texts: dict[str, str]) -> list[dict[str, str]]:
    """Pipelines that share a cover line, together: ``[{pipelines, text}]``, the names left
    empty when every pipeline shares it."""
    by: dict[str, list[str]] = {}
    for name, text in texts.items():
        by.setdefault(text, []).append(name)
    if len(by) == 1:
        return [{"pipelines": "", "text": next(iter(by))}]
    return [{"pipelines": ", ".join(v), "text": k} for k, v in by.items()]


def coverage_rows(pipelines: list[Any]) -> list[dict[str, Any]]:
    """Per pipeline with trails: the declared period, the observed coverage and the gaps."""
    rows = []
    for p in pipelines:
        cov = p.evidence.coverage if p.evidence else None
        if cov is None:
            continue
        rows.append(
            {
                "pipeline": p.pipeline.name,
                "declared": p.evidence.review_period().text if cov.period else None,
                "observed": f"{cov.first} to {cov.last}" if cov.first else "no events",
                "inside": cov.inside,
                "outside": cov.outside,
                "max_gap": f"{cov.max_gap_s / 3600:g} h ({cov.max_gap_source})",
                "gaps": cov.gaps(),
            }
        )
    return rows


def key_text(trust: Any) -> str:
    """Where the anchoring key came from, as the integrity section says it."""
    if trust.key_source is None:
        return "no trusted key anchored the trail"
    if trust.key_source == "manifest" and not trust.pinned:
        return "verified with the manifest's own key (not pinned)"
    return f"verified with a pinned key given by {trust.key_source}"


def exception_list(ctl: Any) -> dict[str, Any]:
    """The first :data:`MAX_EXCEPTIONS_SHOWN` exception locations of a control and how many
    there are: ``shown`` of ``located`` (``Control.failures_located``), ``kept`` of them in
    findings.json, and ``unlocated`` failures that had no location."""
    shown = ctl.failures[:MAX_EXCEPTIONS_SHOWN]
    return {
        "shown": shown,
        "located": ctl.failures_located,
        "kept": len(ctl.failures),
        "dropped": ctl.failures_dropped,
        "unlocated": max(0, ctl.failed - ctl.failures_located),
    }


FRAMEWORK_SHORT = {
    "soc2": "SOC 2",
    "eu_ai_act": "EU AI Act",
    "nist_ai_rmf": "NIST AI RMF",
    "iso_42001": "ISO 42001",
    "owasp_llm": "OWASP LLM",
    "owasp_agentic": "OWASP T&M",
    "owasp_agentic_top10": "OWASP ASI",
    "aiuc_1": "AIUC-1",
}
"""The column heads of the paged matrix (the full names are listed above it)."""


def graph_figures(assessment: Assessment) -> list[dict[str, Any]]:
    """Each pipeline's graph as SVG markup when Graphviz is installed, else a note saying why
    it is left out (drawn once for both the HTML and the PDF's source)."""
    from markupsafe import Markup

    from harness_audit.report.graphviz import dot_available, dot_svg, to_dot

    graphs = []
    from harness_audit.errors import UsageError

    for p in assessment.pipelines:
        if dot_available():
            try:
                # Graphviz escapes the (quoted) labels it draws; no manifest text is raw markup
                svg = Markup(dot_svg(to_dot(p, highlight_risk=True)))  # noqa: S704
            except UsageError as e:  # too large to lay out, or dot ran out of its limits
                svg = Markup(
                    "<p>The graph is not drawn: {}. <code>harness-audit graph "
                    "--format mermaid</code> or <code>json</code> gives it whole."
                    "</p>"
                ).format(e.diagnostics()[0].message)
        else:
            svg = Markup(
                "<p>Graphviz (<code>dot</code>) is not installed, so the drawing is "
                "left out; <code>harness-audit graph</code> gives Mermaid and DOT.</p>"
            )
        graphs.append({"name": p.pipeline.name, "svg": svg})
    return graphs


def render_html(
    assessment: Assessment,
    slas: dict[str, SlaReport],
    inputs: list[Input],
    when: dt.datetime,
    ai_act_date: str | None = None,
    waivers: list[dict[str, Any]] | None = None,
    wp: dict[str, Any] | None = None,
    preparer: str | None = None,
    summary: Any = None,
    paged: bool = False,
    figures: list[dict[str, Any]] | None = None,
    digests: Mapping[str, str] | None = None,
) -> str:
    """evidence.html from its template: findings, controls, SLA, trails, waivers and inputs, with
    each pipeline's graph drawn when Graphviz is installed; ``summary``, the pages of
    :mod:`harness_audit.report.summary`, come first after the cover. ``paged``: the source of
    evidence.pdf, the same facts with the control matrix's mapping of checks to criteria once
    (``wp["mapping"]``) and per pipeline its conclusions counted (``wp["cross"]``) instead of
    once per framework and pipeline (issue 28: that repetition was most of the PDF's pages and
    of its rendering time), and every listing that grows with
    the runs, exceptions or events bounded (:func:`paged_context`); ``digests`` (the SHA-256 of
    the pack's files by their path in it) names where each full listing is. ``figures``: from
    :func:`graph_figures`, when already drawn."""
    import jinja2
    from markupsafe import Markup

    graphs = figures if figures is not None else graph_figures(assessment)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    template = env.get_template("evidence.html.j2")
    if wp is None:
        wp = workpaper(assessment, {}, {}, 0)
    return template.render(
        **_context(
            assessment, slas, inputs, when, graphs, ai_act_date, waivers or [], wp, preparer
        ),
        summary=summary or Markup(""),
        paged=paged,
        short=FRAMEWORK_SHORT,
        **(paged_context(assessment, wp, digests or {}) if paged else {}),
    )


def paged_context(
    assessment: Assessment, wp: dict[str, Any], digests: Mapping[str, str]
) -> dict[str, Any]:
    """What evidence.pdf's bounded listings need (issue 28, item 3: the PDF is bounded by
    pipelines x controls, never by runs, exceptions or events): how many exceptions (and
    findings of a rule) it lists per control (:data:`PDF_EXCEPTIONS_SHOWN`), the SHA-256 of the
    pack's files that hold the full listings, the replay excerpts it keeps and their anchors,
    and each pipeline's findings as shown with how many are left to findings.json."""
    from harness_audit.report.workpaper import (
        PDF_EXCEPTIONS_SHOWN,
        findings_shown,
        pdf_excerpts,
    )

    excerpts = pdf_excerpts(wp)
    return {
        "pdf_shown": PDF_EXCEPTIONS_SHOWN,
        "digests": digests,
        "pdf_excerpts": excerpts,
        "pdf_anchors": {x["anchor"] for xs in excerpts.values() for x in xs},
        "pdf_findings": {
            p.pipeline.name: findings_shown(p.findings, PDF_EXCEPTIONS_SHOWN)
            for p in assessment.pipelines
        },
    }


def render_pdf(html: str) -> bytes:
    """The same document, paged, through WeasyPrint (no network: it may load nothing)."""
    import logging

    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)

    def no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"the evidence pack loads nothing ({url[:60]})")

    out = weasyprint.HTML(string=html, url_fetcher=no_fetch).write_pdf()
    assert out is not None
    return bytes(out)


def render_pdfs(htmls: list[str], jobs: int = 1) -> list[bytes]:
    """Each document's PDF (:func:`render_pdf`), in order; with ``jobs`` > 1, in up to that
    many processes at once (WeasyPrint holds one core per document)."""
    if jobs <= 1 or len(htmls) <= 1:
        return [render_pdf(html) for html in htmls]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import weasyprint  # noqa: F401 - imported once, before the processes are forked

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(min(jobs, len(htmls)), mp_context=context) as pool:
        return list(pool.map(render_pdf, htmls))


def sums_text(files: Mapping[str, bytes | Path], known: Mapping[str, str] | None = None) -> str:
    """``sha256sum``'s format: digest, two spaces, path in the pack; sorted by path (a file
    given as a path is hashed in chunks; ``known``: digests already taken, by path, not taken
    again)."""

    def digest(name: str) -> str:
        if known is not None and name in known:
            return known[name]
        data = files[name]
        if isinstance(data, Path):
            return file_input("file", data).sha256
        return hashlib.sha256(data).hexdigest()

    return "".join(f"{digest(n)}  {n}\n" for n in sorted(files))


def signature_body(sums: str | bytes) -> str:
    """The note text a pack's signature covers: the origin line and the SHA-256 of SHA256SUMS."""
    raw = sums.encode("utf-8") if isinstance(sums, str) else sums
    return f"{SIG_NOTE_ORIGIN}\nSHA256SUMS {hashlib.sha256(raw).hexdigest()}\n"


@dataclass
class PackCheck:
    """What ``verify_pack`` found: whether the pack holds, and a line per file and signature."""

    ok: bool
    lines: list[str]


SUMS_LIMIT = 64 << 20
"""The largest SHA256SUMS ``report verify`` reads (a pack of a million population CSVs lists
well under this)."""
_PACK_PATH = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}(/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254})?")
"""A path SHA256SUMS may list: a file of the pack, or one in a folder of it (``populations/``);
no empty, dot-leading or parent component, no absolute path."""


def parse_sums(path: Path, raw: bytes) -> dict[str, str]:
    """SHA256SUMS as ``{path in the pack: digest}``; a clear error naming the line for
    anything else (not UTF-8, not a sha256sum line, a path outside the pack, a path twice)."""
    from harness_audit.errors import Diagnostic, TrailError

    try:
        sums = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise TrailError(
            Diagnostic(
                str(path),
                f"not UTF-8 text (byte {e.start:,})",
                line,
                expected="sha256sum lines written by `harness-audit report`",
            )
        ) from e
    listed: dict[str, str] = {}
    for n, row in enumerate(sums.split("\n"), 1):
        if not row and n == sums.count("\n") + 1:
            break  # the end of the last line
        digest, sep, name = row.partition("  ")
        ok = sep and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
        if not ok or not _PACK_PATH.fullmatch(name) or name in listed:
            raise TrailError(
                Diagnostic(
                    str(path),
                    f"not a sha256sum line of a file in the pack: {row[:80]!r}",
                    n,
                    expected="DIGEST  NAME (64 hex digits, two spaces, a path in the pack)",
                )
            )
        listed[name] = digest
    return listed


def pack_entries(folder: Path) -> tuple[set[str], list[str]]:
    """The regular files of a pack by their path in it, and every other entry (a folder that
    holds no file, a link, a device, a FIFO) as ``name/`` or ``name (what it is)``; links are
    never followed."""
    import stat

    files: set[str] = set()
    other: list[str] = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        base = Path(root).relative_to(folder)
        for name in sorted(dirs + names):
            rel = (base / name).as_posix()
            mode = (Path(root) / name).lstat().st_mode
            if stat.S_ISREG(mode):
                files.add(rel)
            elif stat.S_ISDIR(mode):
                if not any(True for _ in os.scandir(Path(root) / name)):
                    other.append(f"{rel}/")
            else:
                other.append(f"{rel} (not a regular file)")
    return files, other


def verify_pack(folder: Path, verifiers: list[Any]) -> PackCheck:
    """Check the signature over SHA256SUMS and every file it lists (the population CSVs in
    ``populations/`` too); name any file changed, added (a file, a folder, a link, anywhere in
    the pack) or removed."""
    from harness_audit._fs import read_bounded
    from harness_audit.errors import Diagnostic, TrailError
    from harness_audit.report.inert import terminal as tx
    from harness_audit.trail.note import NoteError, verify_note

    sums_path, sig_path = folder / "SHA256SUMS", folder / "SHA256SUMS.sig"
    for p in (sums_path, sig_path):
        if not p.is_file():
            raise TrailError(
                Diagnostic(str(p), "missing", expected="a pack from `harness-audit report --key`")
            )
    raw = read_bounded(sums_path, SUMS_LIMIT, "SHA256SUMS")
    lines, ok = [], True
    try:
        note, good = verify_note(read_bounded(sig_path, 1 << 20, "signature"), verifiers)
        if note.text != signature_body(raw):
            ok = False
            lines.append("CHANGED SHA256SUMS: it does not match the signed digest")
        else:
            lines.append(f"signature: valid, by {tx(good[0].name)} ({good[0].id.hex()})")
    except NoteError as e:
        if e.kind == "malformed":
            raise TrailError(Diagnostic(str(sig_path), str(e))) from e
        ok = False
        lines.append(f"signature: {tx(e.kind)}: {tx(e)}")
    try:
        listed = parse_sums(sums_path, raw)
    except TrailError as e:  # not a list of the pack's files: nothing it lists can be trusted
        d = e.diagnostics()[0]
        lines.append(f"MALFORMED SHA256SUMS: line {d.line}: {tx(d.message)}")
        return PackCheck(False, lines)
    present, other = pack_entries(folder)
    present -= {"SHA256SUMS", "SHA256SUMS.sig"}
    for name in sorted(listed):
        if name not in present:
            ok = False
            lines.append(f"REMOVED {tx(name)}")
        elif file_input("file", folder / name).sha256 != listed[name]:
            ok = False
            lines.append(f"CHANGED {tx(name)}")
        else:
            lines.append(f"ok {tx(name)}")
    for name in sorted(present - set(listed)) + other:
        ok = False
        lines.append(f"ADDED {tx(name)}")
    return PackCheck(ok, lines)


def waiver_rows(assessment: Assessment) -> list[dict[str, Any]]:
    """The waivers the run applied, as the pack's table shows them."""
    return [
        {
            "rule": w.waiver.rule,
            "scope": f"{w.waiver.pipeline}/{w.waiver.agent}",
            "justification": w.waiver.justification,
            "owner": w.waiver.owner,
            "ticket": w.waiver.ticket,
            "expires": w.waiver.expires.isoformat(),
            "state": f"{w.state} ({w.matched} finding(s))",
        }
        for w in assessment.waivers
    ]


def build_pack(
    run: AuditRun,
    when: dt.datetime,
    ai_act_date: str | None = None,
    signer: Signer | None = None,
    pdf: bool = True,
    preparer: str | None = None,
    tsc: str | None = None,
    extra: dict[str, bytes | Path] | None = None,
    inputs_of: Callable[[list[Input]], list[Input]] | None = None,
) -> dict[str, bytes | Path]:
    """Every file of the evidence pack, by its path in the pack: the HTML, the PDF,
    ``findings.json``, the population CSVs (``populations/…``, as files to copy), ``SHA256SUMS``
    over all of them and, with a signer, ``SHA256SUMS.sig``. ``tsc`` (``report --tsc``, a
    comma-separated list) overrides each manifest's Trust Services categories. ``extra``: files
    drafted and imported in the run (``drafted/…``, ``imported/…``), listed in SHA256SUMS;
    ``inputs_of`` names the run's inputs as the table lists them (direct.py: the files given,
    not the run's temporary ones)."""
    from harness_audit.compliance import parse_tsc
    from harness_audit.sla import analyse

    categories = parse_tsc(tsc) if tsc is not None else None

    slas = {}
    for p in run.pipelines:
        judged = run.trails[p.name].evidence.sla if p.name in run.trails else None
        slas[p.name] = judged or analyse(p)
    read = {  # the trails' bytes were hashed as the judging pass read them
        f: d for t in run.trails.values() for f, d in (t.evidence.digests or {}).items()
    }
    from harness_audit.trail.store import name_of  # an s3:// segment's name is its URL

    inputs = [
        Input(kind, name_of(path), *read[name_of(path)])
        if kind == "trail" and name_of(path) in read
        else file_input(kind, path)
        for kind, path in run.inputs
    ]
    if inputs_of is not None:
        inputs = inputs_of(inputs)
    wp = workpaper(
        run.assessment,
        {n: t.populations for n, t in run.trails.items()},
        {n: t.samples for n, t in run.trails.items()},
        run.request.seed,
        categories,
    )
    from harness_audit.report.summary import summary_files

    glance, summary = summary_files(run.assessment, slas, when)
    waivers, figures = waiver_rows(run.assessment), graph_figures(run.assessment)
    args = (run.assessment, slas, inputs, when, ai_act_date, waivers, wp, preparer, glance)
    html = render_html(*args, figures=figures)
    listings = {  # the files evidence.pdf names, by their SHA-256, for its full listings
        "evidence.html": html.encode("utf-8"),
        "findings.json": findings_json(run.assessment, when, wp).encode("utf-8"),
    }
    files: dict[str, bytes | Path] = {
        "summary.html": summary.encode("utf-8"),
        **listings,
        "README.txt": (data_dir("templates") / "pack-README.txt").read_bytes(),
        **pack_populations(run),
        **(extra or {}),
    }
    digests = {n: file_input("file", f).sha256 for n, f in files.items() if isinstance(f, Path)}
    digests |= {n: hashlib.sha256(data).hexdigest() for n, data in listings.items()}
    if pdf:
        paged = render_html(*args, paged=True, figures=figures, digests=digests)
        pdfs = render_pdfs([summary, paged], run.request.jobs)
        files["summary.pdf"], files["evidence.pdf"] = pdfs
    sums = sums_text(files, digests)
    files["SHA256SUMS"] = sums.encode("utf-8")
    if signer is not None:
        from harness_audit.trail.note import sign_note

        files["SHA256SUMS.sig"] = sign_note(signature_body(sums), [signer]).encode("utf-8")
    return files


def write_pack(
    request: AuditRequest,
    folder: Path,
    ai_act_date: str | None = None,
    signer: Signer | None = None,
    pdf: bool = True,
    preparer: str | None = None,
    population_out: Path | None = None,
    tsc: str | None = None,
    extra: dict[str, bytes | Path] | None = None,
    inputs_of: Callable[[list[Input]], list[Input]] | None = None,
) -> tuple[AuditRun, dict[str, bytes | Path]]:
    """``harness-audit report``: run the audit and write its pack into ``folder`` (whole or not
    at all; an earlier pack there is replaced whole), the population CSVs inside it; with
    ``population_out``, a copy of them into that folder too. Both destinations are checked
    before anything is written, so a refused run leaves nothing; never over an input of the
    run. Returns the run and the pack's files."""
    import dataclasses
    import tempfile

    from harness_audit._fs import check_output_folder, write_folder
    from harness_audit.audit import run_audit

    if population_out is not None:
        _refuse_nested(folder, population_out)
    with tempfile.TemporaryDirectory(prefix="harness-audit-populations-") as spool:
        run = run_audit(dataclasses.replace(request, population_dir=Path(spool), for_pack=True))
        files = build_pack(
            run,
            generated_at(),
            ai_act_date,
            signer,
            pdf,
            preparer=preparer,
            tsc=tsc,
            extra=extra,
            inputs_of=inputs_of,
        )
        csvs = {Path(n).name: f for n, f in files.items() if n.startswith(f"{POPULATIONS}/")}
        check_output_folder(folder, run.protected, PACK_FILES)  # both refused before a write
        fresh = population_out is not None and not population_out.exists()
        if population_out is not None:
            write_folder(population_out, csvs, [*run.protected, folder], replaceable=csvs)
        try:
            write_folder(folder, files, run.protected, replaceable=PACK_FILES)
        except BaseException:
            if fresh and population_out is not None:  # a failed report leaves nothing new
                import shutil

                shutil.rmtree(population_out, ignore_errors=True)
            raise
    return run, files


def _refuse_nested(pack: Path, out: Path) -> None:
    """``--population-out`` may not be the pack, inside it, or hold it: the pack has its own
    copy (``populations/``), inside its signature."""
    from harness_audit.errors import Diagnostic, UsageError

    a, b = pack.resolve(), out.resolve()
    if a == b or a in b.parents or b in a.parents:
        where = "the pack" if a == b else "inside the pack" if a in b.parents else "above the pack"
        raise UsageError(
            Diagnostic(
                str(out),
                f"--population-out is {where} {pack}",
                expected=f"a folder outside the pack (the pack holds its CSVs in {POPULATIONS}/)",
            )
        )


def findings_json(
    assessment: Assessment, when: dt.datetime, wp: dict[str, Any] | None = None
) -> str:
    """findings.json: the ``scan --format json`` document with the time it was generated, each
    pipeline's coverage of the period, and the work paper (populations, samples, conclusions)."""
    from harness_audit.report.json_format import scan_dict
    from harness_audit.report.workpaper import json_controls

    data = scan_dict(assessment)
    data["generated"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    for p, out in zip(assessment.pipelines, data["pipelines"], strict=True):
        cov = p.evidence.coverage if p.evidence else None
        if cov is not None:
            out["coverage"] = cov.as_dict()
    if wp is not None:
        data["workpaper"] = json_controls(wp)
    return json_text(data)
