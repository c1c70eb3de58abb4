"""JUnit XML: a test suite per pipeline, a test case per agent × check.

Failures carry the reason (a check not proven is a failure of type ``not_proven``, red in CI
like a fail: an ``error`` would say the test could not run); waived checks are skipped with the
waiver's justification; findings beyond the checklist are test cases of their own.
Valid against the Jenkins xunit schema.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness_audit.checks.assessment import OPEN, Assessment
from harness_audit.checks.checks import CHECKS
from harness_audit.report.base import DEFAULT_OPTIONS, Renderer, RenderOptions
from harness_audit.report.inert import xml_text


class JunitRenderer(Renderer[Assessment]):
    """JUnit XML for CI test reports."""

    name = "junit"

    def render(self, assessment: Assessment, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """The XML document: a suite per pipeline with counts of tests, failures and skips."""
        root = ET.Element("testsuites", name="harness-audit")
        total = fails = skips = 0
        for p in assessment.pipelines:
            suite = ET.SubElement(root, "testsuite", name=p.pipeline.name, file=p.pipeline.file)
            props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", name="basis", value=p.basis)
            if p.evidence is not None and p.evidence.trust is not None:
                for k, v in p.evidence.trust.as_dict().items():  # the trails' trust root
                    if v is not None:  # a value not known is left out, never "None"
                        ET.SubElement(props, "property", name=f"trail.{k}", value=str(v))
            waived = {(f.agent, f.check): f.waived for f in p.findings if f.check and f.waived}
            baselined = {(f.agent, f.check) for f in p.findings if f.check and f.baselined}
            t = f_ = s = 0
            for a in p.agents:
                for c in CHECKS:
                    r = a.checks[c]
                    case = ET.SubElement(
                        suite,
                        "testcase",
                        name=f"{a.id}: {c}",
                        classname=f"{p.pipeline.name}.{a.id}",
                        time="0",
                    )
                    t += 1
                    if r.status == "n/a":
                        ET.SubElement(case, "skipped", message=f"not applicable: {r.reason}")
                        s += 1
                    elif r.status in OPEN and (a.id, c) in waived:
                        ET.SubElement(case, "skipped", message=f"waived: {waived[(a.id, c)]}")
                        s += 1
                    elif r.status in OPEN and (a.id, c) in baselined:
                        ET.SubElement(case, "skipped", message=f"in the baseline: {r.reason}")
                        s += 1
                    elif r.status == "not_proven":
                        # a failure, not an error: CI shows both red, but an error says the
                        # test could not run; this one ran and its pass was not shown
                        fail = ET.SubElement(
                            case, "failure", message=f"not proven: {r.reason}", type="not_proven"
                        )
                        fail.text = f"{p.pipeline.file}:{r.line}: not proven: {r.reason}"
                        f_ += 1
                    elif r.status == "fail":
                        fail = ET.SubElement(case, "failure", message=r.reason, type=c)
                        fail.text = f"{p.pipeline.file}:{r.line}: {r.reason}"
                        f_ += 1
            for f in p.findings:
                if f.check is not None:
                    continue
                case = ET.SubElement(
                    suite,
                    "testcase",
                    name=f"{f.rule}: {f.subject or f.rule}",
                    classname=f"{p.pipeline.name}.{f.agent or 'pipeline'}",
                    time="0",
                )
                t += 1
                if f.suppressed or f.severity in ("info", "low"):
                    why = (
                        f"waived: {f.waived}"
                        if f.waived
                        else ("in the baseline" if f.baselined else f"{f.severity}: {f.message}")
                    )
                    ET.SubElement(case, "skipped", message=why)
                    s += 1
                else:
                    fail = ET.SubElement(case, "failure", message=f.message, type=f.rule)
                    fail.text = f"{f.file}:{f.line}: {f.message}"
                    f_ += 1
            suite.set("tests", str(t))
            suite.set("failures", str(f_))
            suite.set("errors", "0")
            suite.set("skipped", str(s))
            suite.set("time", "0")
            total, fails, skips = total + t, fails + f_, skips + s
        root.set("tests", str(total))
        root.set("failures", str(fails))
        root.set("errors", "0")
        root.set("time", "0")
        for el in root.iter():  # the boundary: every attribute and text XML 1.0 can hold
            el.attrib = {k: xml_text(v) for k, v in el.attrib.items()}
            if el.text:
                el.text = xml_text(el.text)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
