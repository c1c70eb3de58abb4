"""Issue 13 item 4: untrusted text is inert in every output.

A property test per renderer: hostile text (hypothesis) in every free-text field of a real
manifest, its file and folder names, its trail and its waivers; every output is then checked
for what its consumer would act on (control codes, markup, directives, malformed XML,
unencoded URIs). Then one regression test per reported attack, through the CLI where the CLI
prints."""

from __future__ import annotations

import csv
import io
import json
import re
import string
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.report.csv_format import COLUMNS
from harness_audit.report.graphviz import dot_available

from . import hostile
from .trailkit import SIGNER

# anything but surrogates (no file system or YAML writer takes them; tests/test_inert.py
# covers them) and NUL (no file name holds it)
PIECE = st.one_of(
    st.sampled_from(hostile.ATTACKS),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=8,
    ),
    st.sampled_from(list("\x01\x1b\r\n\t\x7f\x85\x9b\u202e\u2028\ufeff\ufffe`|<>&#%[]!\\\"'")),
)
TEXT = st.lists(PIECE, min_size=1, max_size=4).map(lambda xs: "Q" + "".join(xs))
# every attack at once: the example each property test always runs
ALL = "Q" + "".join(hostile.ATTACKS)
EXAMPLES = settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow])

CONTROL = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f"
    r"\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def outputs(text: str, kind: str) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        s = hostile.build(Path(tmp), text)
        if kind == "scan":
            return hostile.scan_outputs(s)
        if kind == "graph":
            names = ("mermaid", "dot", "json") + (("svg",) if dot_available() else ())
            return hostile.graph_outputs(s, names)
        return hostile.other_outputs(s)


def no_controls(out: str, keep: str = "\n") -> None:
    bad = [c for c in CONTROL.findall(out) if c not in keep]
    assert not bad, f"control characters {sorted(set(bad))!r} in the output"


def unescaped(text: str, pattern: str) -> list[str]:
    """Matches of ``pattern`` not escaped by an odd run of backslashes before them."""
    out = []
    for m in re.finditer(pattern, text):
        i, n = m.start() - 1, 0
        while i >= 0 and text[i] == "\\":
            i, n = i - 1, n + 1
        if n % 2 == 0:
            out.append(m.group())
    return out


# --- the property tests, one per renderer ----------------------------------------------------


@EXAMPLES
@given(TEXT)
@example(ALL)
def test_terminal_views_hold_no_control_code(text: str) -> None:
    scan = outputs(text, "scan")["table"]
    other = outputs(text, "other")
    for out in (scan, other["verify"], other["sla"], other["replay"]):
        no_controls(out)
    assert "Q" in scan  # the hostile text did reach the view


MD_TAGS = re.compile(r"</?(details|summary|code)>")
MD_HEADINGS = re.compile(
    r"^(## harness-audit|### \S+ (`[\w.-]+`|<code>.*</code>): gap score "
    r"\d+ \([a-z-]+\))$"
)


def code_spans(line: str) -> tuple[str, list[str]]:
    """``line`` without its code spans (between unescaped backticks), and the spans."""
    ticks = [
        m.start()
        for m in re.finditer("`", line)
        if (len(line[: m.start()]) - len(line[: m.start()].rstrip("\\"))) % 2 == 0
    ]
    spans, rest, last = [], [], 0
    for a, b in zip(ticks[::2], ticks[1::2], strict=False):
        rest.append(line[last:a])
        spans.append(line[a + 1 : b])
        last = b + 1
    rest.append(line[last:])
    return "".join(rest), spans


def check_markdown(out: str) -> None:
    no_controls(out)
    header = None
    for line in out.split("\n"):
        # inside a code span nothing is markup (CommonMark 6.1): judge the text around them
        body = MD_TAGS.sub("", code_spans(line)[0])
        assert unescaped(body, r"[<>]") == [], f"raw HTML: {line!r}"
        assert unescaped(body, r"\]\(") == [] and unescaped(body, r"!\[") == [], (
            f"a link or image: {line!r}"
        )
        if line.startswith("#"):
            assert MD_HEADINGS.match(line), f"a heading the renderer did not write: {line!r}"
        if not line.startswith("|"):
            header = None
            continue
        text, spans = code_spans(line)
        assert all("|" not in x and "\\" not in x for x in spans), line
        cells = len(unescaped(text, r"\|"))
        if header is None:
            header = cells
        assert cells == header, f"a table row with {cells} cells, not {header}: {line!r}"


@EXAMPLES
@given(TEXT)
@example(ALL)
def test_markdown_makes_no_markup_of_its_inputs(text: str) -> None:
    check_markdown(outputs(text, "scan")["markdown"])


@EXAMPLES
@given(TEXT)
@example(ALL)
def test_csv_cells_hold_no_control_and_no_formula(text: str) -> None:
    out = outputs(text, "scan")["csv"]
    no_controls(out)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == list(COLUMNS) and len(rows) > 1
    for row in rows:
        assert len(row) == len(COLUMNS)
        assert all(cell[:1] not in ("=", "+", "-", "@") for cell in row)


@EXAMPLES
@given(TEXT)
@example(ALL)
def test_junit_is_well_formed_xml(text: str) -> None:
    out = outputs(text, "scan")["junit"]
    root = ET.fromstring(out.encode("utf-8"))
    assert root.tag == "testsuites"
    no_controls(out, keep="\n\t")


RFC3986 = set(string.ascii_letters + string.digits + "-._~" + ":/?#[]@" + "!$&'()*+,;=%")


@EXAMPLES
@given(TEXT)
@example(ALL)
def test_sarif_uris_are_percent_encoded_and_round_trip(text: str) -> None:
    import os
    from urllib.request import url2pathname

    with tempfile.TemporaryDirectory() as tmp:
        s = hostile.build(Path(tmp), text)
        data = json.loads(hostile.scan_outputs(s, ("sarif",))["sarif"])
        [run] = data["runs"]
        arts = [
            loc["physicalLocation"]["artifactLocation"]
            for r in run["results"]
            for loc in r["locations"]
        ]
        files = {os.path.abspath(s.manifest)} | {os.path.abspath(p) for p in s.trails.iterdir()}
    assert arts
    bases = run["originalUriBaseIds"]
    for art in arts:
        u = art["uri"]
        assert set(u) <= RFC3986, u
        assert "#" not in u and "?" not in u and ".." not in u.split("/")
        base = url2pathname(bases[art["uriBaseId"]]["uri"].removeprefix("file://"))
        assert os.path.join(base, unquote(u)) in files  # issue 26: no ../, a base outside


@EXAMPLES
@given(TEXT)
@example(ALL)
def test_json_formats_parse(text: str) -> None:
    out = outputs(text, "scan")
    for fmt in ("json", "sarif", "oscal"):
        json.loads(out[fmt])


@EXAMPLES
@given(TEXT)
@example(ALL)
def test_mermaid_has_no_directive_and_no_comment_but_its_own(text: str) -> None:
    out = outputs(text, "graph")["mermaid"]
    no_controls(out)
    assert "%%{" not in out
    lines = out.split("\n")
    assert [i for i, line in enumerate(lines) if "%%" in line] == [1]
    assert re.fullmatch(r"  %% [\w.-]+: gap score \d+ \([a-z-]+\)", lines[1])
    for line in lines[2:]:
        if line.startswith("  classDef") or line.startswith("  linkStyle"):
            continue
        # a label is one quoted string; nothing outside it came from the manifest
        outside = re.sub(r'"[^"]*"', "", line)
        assert "Q" not in outside or line.strip().startswith("subgraph"), line


@EXAMPLES
@given(TEXT)
@example(ALL)
def test_dot_and_svg_are_well_formed(text: str) -> None:
    out = outputs(text, "graph")
    no_controls(out["dot"])
    for line in out["dot"].split("\n"):
        # every string is one quoted token: an even count of unescaped quotes per line
        assert len(unescaped(line, '"')) % 2 == 0, line
    if "svg" in out:
        root = ET.fromstring(out["svg"].encode("utf-8"))
        assert root.tag.endswith("svg")


# --- one regression test per reported attack -------------------------------------------------

runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def scenario(tmp_path: Path) -> Callable[[str], hostile.Scenario]:
    return lambda text: hostile.build(tmp_path, text)


def test_a_manifest_cannot_clear_the_screen_or_paint_a_verdict(scenario) -> None:  # type: ignore[no-untyped-def]
    s = scenario("Q\x1b[2J\x1b[H\x1b[1;32m 100 audit-ready \x1b[0m")
    _, out, err = cli(
        "scan",
        str(s.manifest),
        "--trails",
        str(s.trails),
        "--key",
        str(s.key),
        "--waivers",
        str(s.waivers),
    )
    assert "\x1b" not in out and "\x1b" not in err
    assert "\\x1b[2J\\x1b[H\\x1b[1;32m 100 audit-ready \\x1b[0m" in out
    assert "warning: " in err and "\\x1b[2J" in err  # the expired waiver's warning


def test_rich_markup_in_a_trail_file_name_is_shown_not_run(tmp_path: Path) -> None:
    from harness_audit.audit import AuditRequest, run_audit
    from harness_audit.evidence.trails import TrustRoot
    from harness_audit.report import SCAN
    from harness_audit.report.base import RenderOptions

    s = hostile.build(tmp_path, "Q")
    name = "[link=https:evil.example]click[bold]y.jsonl"
    (s.trails / "trail-000001.jsonl").rename(s.trails / name)
    run = run_audit(
        AuditRequest(paths=(s.manifest,), trails=s.trails, trust=TrustRoot((str(s.key),), "flag"))
    )
    assert any(f.file.endswith(name) for p in run.assessment.pipelines for f in p.findings)
    for color in (False, True):
        out = SCAN.get("table").render(run.assessment, RenderOptions(color=color, width=400))
        assert f"{name}:4 seq 3" in out
        assert "\x1b]8;" not in out  # no OSC 8 hyperlink


def test_a_directory_name_cannot_close_a_code_span_or_add_images(tmp_path: Path) -> None:
    s = hostile.build(tmp_path, "Q`![x](http://e/x.png)`" * 23)
    out = hostile.scan_outputs(s, ("markdown",))["markdown"]
    check_markdown(out)
    assert "![x](" not in out and "<code>" in out


def test_a_carriage_return_in_a_scope_breaks_no_table(tmp_path: Path) -> None:
    s = hostile.build(tmp_path, "Q\r## Heading\r| a | b |")
    out = hostile.scan_outputs(s, ("markdown",))["markdown"]
    check_markdown(out)
    assert "\r" not in out and "\\\\x0d\\#\\# Heading" not in out
    assert "\\x0d## Heading" in out or "\\\\x0d## Heading" in out


def test_a_mermaid_init_directive_in_a_role_or_label_is_inert(tmp_path: Path) -> None:
    s = hostile.build(tmp_path, 'Q%%{init: {"themeCSS": "url(http://e)"}}%%')
    out = hostile.graph_outputs(s, ("mermaid",))["mermaid"]
    assert "%%{" not in out and "themeCSS" in out
    assert out.count("%%") == 1


@pytest.mark.parametrize("fmt", ["junit", "svg"])
def test_a_control_character_keeps_junit_and_svg_well_formed(tmp_path: Path, fmt: str) -> None:
    if fmt == "svg" and not dot_available():
        pytest.skip("Graphviz is not installed")
    s = hostile.build(tmp_path, "Q\x01\x08\x1b\ufffe &#27; &#1;")
    out = (hostile.scan_outputs(s, (fmt,)) if fmt == "junit" else hostile.graph_outputs(s, (fmt,)))[
        fmt
    ]
    ET.fromstring(out.encode("utf-8"))
    assert "\\x01" in out


def test_a_space_and_a_hash_in_a_sarif_file_path_are_percent_encoded(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    s = hostile.build(Path("."), "Q dir #1")
    data = json.loads(hostile.scan_outputs(s, ("sarif",))["sarif"])
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in data["runs"][0]["results"]
        for loc in r["locations"]
    }
    assert "Q%20dir%20%231/harness.yaml" in uris
    assert all(
        loc["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        for r in data["runs"][0]["results"]
        for loc in r["locations"]
    )


def test_report_verify_shows_sha256sums_names_escaped(tmp_path: Path) -> None:
    from harness_audit.report.pack import signature_body
    from harness_audit.trail.note import sign_note

    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "a.txt").write_text("x")
    sums = "0" * 64 + "  evil\x1b[2Jname\u202e.txt\n"
    (pack / "SHA256SUMS").write_text(sums)
    (pack / "SHA256SUMS.sig").write_text(sign_note(signature_body(sums), [SIGNER]))
    (pack / "new\x1b]8;;https:e\x07file").write_text("y")
    key = tmp_path / "k.pub"
    key.write_text(SIGNER.verifier.text() + "\n")
    code, out, _ = cli("report", "verify", str(pack), "--key", str(key))
    assert code == 1
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    # issue 23, item 18: a listed name that is no file of a pack is a malformed SHA256SUMS
    assert "MALFORMED SHA256SUMS: line 1: " in out and "evil\\x1b[2Jname\\u202e" in out
    import hashlib

    sums = hashlib.sha256(b"x").hexdigest() + "  a.txt\n"
    (pack / "SHA256SUMS").write_text(sums)
    (pack / "SHA256SUMS.sig").write_text(sign_note(signature_body(sums), [SIGNER]))
    code, out, _ = cli("report", "verify", str(pack), "--key", str(key))
    assert code == 1 and "\x1b" not in out and "\x07" not in out
    assert "ADDED new\\x1b]8;;https:e\\x07file" in out


def test_diagnostics_escape_the_file_names_they_quote(tmp_path: Path) -> None:
    bad = tmp_path / "evil\x1b[2J\u202e.harness.yaml"
    bad.write_text("apiVersion: [")
    code, _, err = cli("scan", str(bad))
    assert code == 2
    assert "\x1b" not in err and "\u202e" not in err and "evil\\x1b[2J\\u202e" in err


def test_checkpoint_verify_escapes_the_problem_line(tmp_path: Path) -> None:
    from .trailkit import OTHER, write_trail

    key = tmp_path / "k.pub"
    key.write_text(SIGNER.verifier.text() + "\n")
    bad = tmp_path / "evil\x1b[2J.checkpoint"
    bad.write_text("not a checkpoint\n")
    code, out, err = cli("trail", "checkpoint", "verify", str(bad), "--key", str(key))
    assert code == 2 and "\x1b" not in out + err and "evil\\x1b[2J" in err  # a diagnostic
    folder = write_trail(tmp_path / "t", 3, signer=OTHER)
    signed = tmp_path / "other\x1b[2J\u202e.checkpoint"
    next(folder.glob("*.checkpoint")).rename(signed)
    code, out, err = cli("trail", "checkpoint", "verify", str(signed), "--key", str(key))
    assert code == 1  # signed, but by no trusted key: the problem line
    assert "\x1b" not in out + err and "\u202e" not in err and "other\\x1b[2J\\u202e" in err


def test_wrote_path_is_escaped(tmp_path: Path) -> None:
    s = hostile.build(tmp_path, "Q")
    target = tmp_path / "out\x1b[2J.json"
    _, _, err = cli("scan", str(s.manifest), "--no-trails", "--output", str(target))
    assert target.exists()
    assert "\x1b" not in err and "wrote " in err and "out\\x1b[2J.json" in err


def test_a_file_name_that_is_not_utf8_breaks_no_output(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    monkeypatch.chdir(tmp_path)
    folder = Path(os.fsdecode(b"bad\xff"))
    folder.mkdir()
    s = hostile.build(folder, "Q")
    out = hostile.scan_outputs(s)
    names = ("mermaid", "dot", "json") + (("svg",) if dot_available() else ())
    out |= {"graph " + k: v for k, v in hostile.graph_outputs(s, names).items()}
    for text in out.values():
        text.encode("utf-8")  # every output can be written
    data = json.loads(out["sarif"])
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in data["runs"][0]["results"]
        for loc in r["locations"]
    }
    assert "bad%FF/Q/harness.yaml" in uris
    assert "bad\\xff" in json.loads(out["json"])["pipelines"][0]["file"]
