"""report.inert: each escaping function alone, for every string (hypothesis) and by example."""

from __future__ import annotations

import re
import string
import sys
import unicodedata
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harness_audit.report import inert

CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
# text that is mostly dangerous: controls, format characters, markup of every output kind
DANGER = st.sampled_from(
    [
        *"\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x7f\x85\x9b\u200b\u200d"
        "\u2028\u2029\u202e\u2066\ufeff\ufffe\uffff\ud800\U000e0041"
        "`|\\<>&#%;[]()!*_~{}\"' :=+-@/?",
        "%%{",
        "](",
        "![",
        "\x1b[2J",
        "[link=http://e]",
        "&#27;",
        "&#x1;",
    ]
)
HOSTILE = st.lists(st.one_of(DANGER, st.text(max_size=3)), max_size=12).map("".join)
PRINTABLE = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Zl", "Zp", "Cs")))
INVISIBLE_CHAR = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e"
    r"\u2060-\u206f\ufeff\ud800-\udfff]"
)


@pytest.mark.skipif(
    unicodedata.unidata_version != inert.UNICODE_VERSION,
    reason="the table is for another Unicode version: regenerate it",
)
def test_the_invisible_table_is_exactly_those_categories() -> None:
    want = {cp for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) in CATEGORIES}
    have = {cp for a, b in inert.INVISIBLE_RANGES for cp in range(a, b + 1)}
    assert have == want
    assert all(inert.INVISIBLE.fullmatch(chr(cp)) for cp in want)
    assert not any(
        inert.INVISIBLE.fullmatch(chr(cp)) for cp in range(sys.maxunicode + 1) if cp not in want
    )


@given(PRINTABLE)
def test_printable_text_is_left_as_it_is(text: str) -> None:
    assert inert.visible(text) == text
    assert inert.terminal(text) == text


@given(HOSTILE)
@example("\x1b[2J\x1b[1;32maudit-ready\x1b[0m")
def test_visible_leaves_nothing_invisible_and_is_idempotent(text: str) -> None:
    out = inert.visible(text)
    assert not inert.INVISIBLE.search(out)
    assert inert.visible(out) == out
    assert inert.terminal(out) == out
    assert "\n" not in inert.terminal(text)
    assert not inert.INVISIBLE.search(inert.terminal_block(text).replace("\n", ""))


def test_escapes_look_like_repr() -> None:
    assert (
        inert.visible("a\x1b[2J\t\u202e\U000e0041\ud800")
        == "a\\x1b[2J\\x09\\u202e\\U000e0041\\ud800"
    )
    assert inert.visible("a\nb\tc", keep="\n") == "a\nb\\x09c"


def unescaped(text: str, chars: str) -> list[int]:
    """Positions of ``chars`` not escaped by an odd run of backslashes."""
    out = []
    for m in re.finditer(f"[{re.escape(chars)}]", text):
        i, n = m.start() - 1, 0
        while i >= 0 and text[i] == "\\":
            i, n = i - 1, n + 1
        if n % 2 == 0:
            out.append(m.start())
    return out


@given(HOSTILE)
@example("a`![x](http://e/x.png)`")
@example("s\r## Heading")
def test_markdown_text_cannot_make_markup(text: str) -> None:
    for out in (inert.markdown(text), inert.markdown_code(text)):
        body = (
            out.removeprefix("<code>").removesuffix("</code>") if out.startswith("<code>") else out
        )
        assert not INVISIBLE_CHAR.search(out) and "\n" not in out
        if out.startswith("`"):
            assert out.endswith("`") and "`" not in out[1:-1] and "|" not in out
            continue
        assert unescaped(body, "`*_[]|<>!~") == []
        assert not re.search(r"&(?!amp;)", body)


@given(HOSTILE)
@example('%%{init: {"themeCSS": "url(http://e)"}}%%')
def test_mermaid_labels_hold_no_directive_comment_or_markup(text: str) -> None:
    out = inert.mermaid(text)
    assert "%" not in out and '"' not in out and "<" not in out.replace("<br/>", "")
    assert ">" not in out.replace("<br/>", "") and "`" not in out
    assert not INVISIBLE_CHAR.search(out)


@given(HOSTILE)
@example("a\x01b\ufffe")
def test_xml_text_is_always_well_formed(text: str) -> None:
    el = ET.Element("t", a=inert.xml_text(text))
    el.text = inert.xml_text(text)
    ET.fromstring(ET.tostring(el, "unicode"))  # parses
    ET.fromstring(ET.tostring(el, "utf-8"))


@given(HOSTILE)
@example('a"b\\\nc&#27;')
def test_dot_strings_are_one_quoted_token(text: str) -> None:
    out = inert.dot(text)
    assert out.startswith('"') and out.endswith('"')
    body = out[1:-1]
    assert unescaped(body, '"') == [] and "\n" not in body and not INVISIBLE_CHAR.search(body)
    assert not re.search(r"&(?!amp;)", body) and "\ufffe" not in body


RFC3986 = set(string.ascii_letters + string.digits + "-._~" + ":/?#[]@" + "!$&'()*+,;=" + "%")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
@example("dir with space/#1/a?b%.yaml")
def test_uris_round_trip_and_hold_only_rfc3986_characters(path: str) -> None:
    out = inert.uri(path)
    assert unquote(out) == path
    assert set(out) <= RFC3986
    assert "#" not in out and "?" not in out and " " not in out


def test_csv_text_blocks_formulas_and_controls() -> None:
    assert inert.csv_text("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert inert.csv_text("\tx\r\x1b") == "\\x09x\\x0d\\x1b"
    assert inert.csv_text("a\nb") == "a\nb"


def test_console_interprets_no_markup_or_emoji() -> None:
    import io

    from rich.text import Text

    buf = io.StringIO()
    c = inert.console(buf, color=False, width=80)
    c.print("[link=http://evil]click[/link] [bold]x[/bold] :warning:")
    c.print(Text("plain"))
    assert buf.getvalue() == "[link=http://evil]click[/link] [bold]x[/bold] :warning:\nplain\n"
