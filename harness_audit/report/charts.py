"""SVG charts drawn by the project (no scripts, presentation attributes only, so they obey a
strict Content-Security-Policy)."""

from __future__ import annotations

import math
from html import escape

from harness_audit.sla import SlaReport

NINES = 6.0


def nines(x: float | None) -> float:
    """How many nines a success probability has (0.999 -> 3), clamped to the 0–6 scale."""
    if x is None:
        return 0.0
    return NINES if x >= 1.0 else max(0.0, min(NINES, -math.log10(1.0 - x)))


def sla_chart(r: SlaReport, width: int = 640) -> str:
    """Per stage: effective (bar), required (tick), observed lower bound (dot), on a nines
    scale; then compound against target."""
    rows = [s for s in r.stages if s.series]
    label_w, row_h, top = 150, 22, 28
    plot_w = width - label_w - 20
    h = top + row_h * (len(rows) + 1) + 30

    def x(v: float | None) -> float:
        return label_w + plot_w * nines(v) / NINES

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" '
        f'viewBox="0 0 {width} {h}" role="img" aria-label="SLA decomposition of '
        f'{escape(r.pipeline)}" font-family="DejaVu Sans, sans-serif" font-size="11">'
    ]
    for n in range(int(NINES) + 1):
        gx = label_w + plot_w * n / NINES
        out.append(
            f'<line x1="{gx:.1f}" y1="{top - 6}" x2="{gx:.1f}" y2="{h - 30}" stroke="#dddddd"/>'
        )
        pct = "0%" if n == 0 else f"{100 - 100 / 10**n:.{max(0, n - 2)}f}%"
        out.append(
            f'<text x="{gx:.1f}" y="{top - 10}" text-anchor="middle" fill="#666666">{pct}</text>'
        )
    items = [
        (s.agent, s.effective, s.required, s.observed.lower if s.observed else None) for s in rows
    ] + [("compound", r.compound, r.target, None)]
    for i, (name, eff, req, obs) in enumerate(items):
        y = top + i * row_h
        ok = eff is not None and req is not None and eff >= req
        colour = "#1e7b45" if ok else "#b3261e"
        out.append(
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" '
            f'fill="#222222">{escape(name)}</text>'
        )
        out.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{x(eff) - label_w:.1f}" '
            f'height="12" fill="{colour}" opacity="0.75"/>'
        )
        if req is not None:
            out.append(
                f'<line x1="{x(req):.1f}" y1="{y + 1}" x2="{x(req):.1f}" y2="{y + 19}" '
                'stroke="#222222" stroke-width="2"/>'
            )
        if obs is not None:
            out.append(f'<circle cx="{x(obs):.1f}" cy="{y + 10}" r="4" fill="#1f5fbf"/>')
    ly = h - 12
    out.append(
        f'<text x="{label_w}" y="{ly}" fill="#444444">bar: effective (declared) · '
        "| required · ● observed 95% lower bound · scale in nines</text>"
    )
    out.append("</svg>")
    return "".join(out)
