"""Untrusted text made inert, one small pure function per output kind.

Manifests, trails, waivers, config and file names are written by whoever opens the pull
request, so every string from them is escaped where it enters a renderer (the renderer
boundary). Each function leaves ordinary text (printable, no markup of the target format)
byte for byte as it was, and is idempotent where that matters (``visible``, ``terminal``).

- :func:`visible`: every invisible code point (C0/C1 controls, DEL, Unicode format
  characters such as bidi overrides and zero-width joiners, line and paragraph separators,
  surrogates) shown as a ``\\xNN`` / ``\\uNNNN`` / ``\\UNNNNNNNN`` escape, as ``repr`` would.
- :func:`terminal`, :func:`terminal_block`: text for a terminal (no escape sequence, no
  carriage return, no bidi override can reach it); :func:`console` makes the one kind of rich
  console every renderer uses (markup, emoji codes and highlighting off).
- :func:`markdown`, :func:`markdown_code`: GitHub-flavoured Markdown inline text and code.
- :func:`mermaid`: a Mermaid label (no ``%%`` comment or ``%%{init}%%`` directive, no markup).
- :func:`xml_text`: text XML 1.0 allows (ElementTree escapes the markup characters).
- :func:`dot`: a Graphviz DOT double-quoted string (no entity can smuggle a control into SVG).
- :func:`csv_text`: a spreadsheet cell (no control, no formula).
- :func:`json_data`: JSON data UTF-8 can encode (lone surrogates as escapes).
- :func:`uri`: a percent-encoded relative URI reference (RFC 3986 §2; SARIF 2.1.0 §3.10).
"""

from __future__ import annotations

import re
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from rich.console import Console

# Every code point of the Unicode general categories Cc, Cf, Zl, Zp and Cs (Unicode 14.0, the
# version of Python 3.11's unicodedata): tests/test_inert.py checks the table against it.
UNICODE_VERSION = "14.0.0"
INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x001F),
    (0x007F, 0x009F),
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xD800, 0xDFFF),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)


def _char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


INVISIBLE = re.compile(f"[{_char_class(INVISIBLE_RANGES)}]")
# XML 1.0 §2.2 Char also excludes U+FFFE and U+FFFF (noncharacters, not in the table above)
_XML_EXTRA = re.compile("[\ufffe\uffff]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>!~])")
# what a Markdown code span cannot hold as it is: a backtick (it ends the span), a pipe (it ends
# the table cell), a backslash, ``<``, or a space at either end (the span would trim it)
_MD_CODE_UNSAFE = re.compile(r"[`|\\<]|^\s|\s$")


def _escape(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def _escape_match(m: re.Match[str]) -> str:
    return _escape(m.group())


def visible(text: str, keep: str = "") -> str:
    """``text`` with every invisible code point (controls, DEL, C1, format characters, line
    and paragraph separators, surrogates) as a visible escape, except the characters in
    ``keep`` (such as ``"\\n"``). Printable text is returned unchanged."""
    if not keep:
        return INVISIBLE.sub(_escape_match, text)
    return INVISIBLE.sub(lambda m: m.group() if m.group() in keep else _escape(m.group()), text)


def terminal(text: object) -> str:
    """One line for a terminal: nothing that moves the cursor, clears the screen, sets a
    colour or a hyperlink, reorders text (bidi) or hides it (zero width)."""
    return visible(str(text))


def terminal_block(text: str) -> str:
    """Whole terminal output: every invisible code point escaped except the newline (the
    safety net on text rendered without colour)."""
    return visible(text, keep="\n")


def console(file: IO[str], color: bool, width: int, *, soft_wrap: bool = False) -> Console:
    """The rich console every renderer prints to: colour only when asked for, and no rich
    markup (``[link=…]``, ``[bold]``), emoji codes or highlighting applied to any string."""
    from rich.console import Console

    return Console(
        file=file,
        force_terminal=color,
        no_color=not color,
        width=width,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=soft_wrap,
    )


def markdown(text: str) -> str:
    """Markdown inline text that renders as the text: no link, image, HTML, emphasis, code
    span, table cell break or line break (a newline becomes a space, other controls escapes)."""
    text = visible(text.replace("\n", " "))
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("&", "&amp;")


def markdown_code(text: str) -> str:
    """``text`` as inline code: a code span when it holds nothing a span cannot (backtick,
    pipe, backslash, ``<``, control), else ``<code>`` around :func:`markdown` text."""
    if text and not _MD_CODE_UNSAFE.search(text) and not INVISIBLE.search(text):
        return f"`{text}`"
    return f"<code>{markdown(text)}</code>"


def mermaid(text: str) -> str:
    """A Mermaid label (or comment) text: markup characters, ``%`` (comments and
    ``%%{init}%%`` directives) and ``#`` as Mermaid entity codes, newlines as ``<br/>``,
    other invisible code points as escapes."""
    out = visible(text, keep="\n").replace("#", "#35;").replace("%", "#37;")
    out = out.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return out.replace("\n", "<br/>").replace("`", "#96;")


def xml_text(text: str) -> str:
    """Text an XML 1.0 document can hold (§2.2): every control but tab and newline, and the
    noncharacters U+FFFE and U+FFFF, as visible escapes. Markup characters are left to the
    serializer (ElementTree escapes them)."""
    return _XML_EXTRA.sub(_escape_match, visible(text, keep="\t\n"))


def dot(text: str) -> str:
    """A DOT double-quoted string: controls and what XML 1.0 forbids escaped visibly (the SVG
    Graphviz writes must stay well-formed), ``&`` as ``&amp;`` (Graphviz
    decodes entities in labels, so ``&#27;`` would put an ESC in the SVG), backslashes and
    quotes escaped, newlines as ``\\n``."""
    out = _XML_EXTRA.sub(_escape_match, visible(text, keep="\n"))  # Graphviz writes XML
    out = out.replace("&", "&amp;").replace("\\", "\\\\")
    return '"' + out.replace('"', '\\"').replace("\n", "\\n") + '"'


def csv_text(text: str) -> str:
    """A CSV cell's text: invisible code points escaped (newlines kept: the writer quotes
    them), and a leading ``=``, ``+``, ``-`` or ``@`` prefixed with ``'`` so a spreadsheet
    shows it rather than running it as a formula (CSV injection)."""
    text = visible(text, keep="\n")
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate(m: re.Match[str]) -> str:
    cp = ord(m.group())
    # a byte a file name held that was not UTF-8 (os's surrogateescape): show the byte
    return f"\\x{cp - 0xDC00:02x}" if 0xDC80 <= cp <= 0xDCFF else f"\\u{cp:04x}"


def unicode_text(text: str) -> str:
    """``text`` with every lone surrogate (a non-UTF-8 byte of a file name, or a ``\\ud800``
    in a trail's JSON) as a visible escape, so it can be written as UTF-8."""
    return _SURROGATE.sub(_surrogate, text) if _SURROGATE.search(text) else text


def json_text(data: Any) -> str:
    """Indented JSON of ``data`` (``_json.dumps``); only when a string UTF-8 cannot encode
    is in it (a rare non-UTF-8 file name) is the data walked through :func:`json_data`."""
    from harness_audit._json import dumps

    try:
        return dumps(data)
    except TypeError:  # orjson: "str is not valid UTF-8: surrogates not allowed"
        return dumps(json_data(data))


def json_data(data: Any) -> Any:
    """JSON data whose every string (keys too) UTF-8 can encode (:func:`unicode_text`); the
    JSON writer escapes the rest."""
    if isinstance(data, str):
        return unicode_text(data)
    if isinstance(data, dict):
        return {json_data(k): json_data(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_data(v) for v in data]
    return data


def uri(path: str) -> str:
    """A relative POSIX path as a URI reference: every octet but the RFC 3986 unreserved
    characters and ``/`` percent-encoded (UTF-8; a file name's non-UTF-8 bytes as they are),
    so ``#``, ``?``, ``%``, spaces and ``:`` stay part of the path."""
    try:
        octets = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        octets = path.encode("utf-8", "surrogatepass")
    return quote(octets, safe="/")


__all__ = [
    "INVISIBLE",
    "console",
    "csv_text",
    "dot",
    "json_data",
    "markdown",
    "markdown_code",
    "mermaid",
    "terminal",
    "terminal_block",
    "unicode_text",
    "uri",
    "visible",
    "xml_text",
]
