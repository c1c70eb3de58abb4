"""Project defaults for ``scan`` and ``report``: ``[tool.harness-audit]`` in pyproject.toml, or
``.harness-audit.yaml``, in the working directory. Command-line flags win.

Both files are written by whoever opens the pull request: they are read as regular files of at
most :data:`MAX_BYTES`, and every problem is an error naming the file (and the line, where it is
known), never an exception of the parser.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from harness_audit._fs import read_bounded
from harness_audit.errors import Diagnostic, ManifestError

MAX_BYTES = 1 << 20
"""The largest config file read (pyproject.toml or .harness-audit.yaml)."""

MAX_INT = 2**63 - 1
"""Integer settings (sample, seed, jobs) are refused past this magnitude."""

KEYS: dict[str, type | tuple[type, ...]] = {
    "paths": list,
    "fail-on": str,
    "format": str,
    "output": list,
    "waivers": str,
    "baseline": str,
    "trails": str,
    "sample": int,
    "seed": int,
    "jobs": int,
    "dask": str,  # a Dask scheduler's address: verify trails on its cluster (scan, report)
    "ai-act-date": str,  # which EU AI Act application date reports apply (report)
    # the report's period of review, allowed coverage gap, population folder and preparer
    "period": str,
    "max-gap": str,
    "population-out": str,
    "preparer": str,
    # the trust root (scan, report): pinned trail keys, the auditor's trusted state, witnesses
    "trail-keys": list,
    "trusted-state": str,
    "require-pinned": bool,
    "witness-keys": list,
    "witness-quorum": int,
    # signed longer than this after its last event: sealed after the fact (scan, report)
    "sealed-late-after": str,
    # collect: periods as shards, and when a request is acknowledged (issue 27)
    "shard": str,
    "acknowledge": str,
}
# settings whose values are paths: confined to the project (CLI.md, Paths from untrusted places)
PATH_KEYS = (
    "paths",
    "output",
    "waivers",
    "baseline",
    "trails",
    "trail-keys",
    "trusted-state",
    "witness-keys",
    "population-out",
)
_LISTS_OF_TEXT = {"paths", "output", "trail-keys", "witness-keys"}

Locate = Callable[[str], int | None]
"""The line a setting is on, or None when it cannot be told."""


def load_config(folder: Path) -> tuple[dict[str, Any], str | None]:
    """The settings and where they came from, as errors name it (none: empty settings)."""
    pyproject = folder / "pyproject.toml"
    if pyproject.exists() or pyproject.is_symlink():
        text = _text(pyproject)
        data = _toml(pyproject, text)
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise ManifestError(
                Diagnostic(
                    str(pyproject),
                    f"tool is {_a(_kind(tool))}",
                    _toml_line(text, None, "tool"),
                    expected="a table",
                )
            )
        section = tool.get("harness-audit")
        if section is not None:
            where = f"{pyproject} [tool.harness-audit]"
            if not isinstance(section, dict):
                raise ManifestError(
                    Diagnostic(
                        str(pyproject),
                        "[tool.harness-audit] is " + _a(_kind(section)),
                        _toml_line(text, "tool", "harness-audit"),
                        expected="a table of settings",
                    )
                )
            return _check(
                section,
                str(pyproject),
                "[tool.harness-audit] ",
                lambda k: _toml_line(text, "tool.harness-audit", k),
            ), where
    own = folder / ".harness-audit.yaml"
    if own.exists() or own.is_symlink():
        from harness_audit.manifest.yamlsafe import parse_yaml

        doc = parse_yaml(read_bounded(own, MAX_BYTES, "config"), str(own))
        if not isinstance(doc.data, dict):
            raise ManifestError(
                Diagnostic(
                    str(own),
                    f"the document is {_a(_kind(doc.data))}",
                    1,
                    expected="a mapping of settings",
                )
            )

        def locate(key: str) -> int | None:
            m = doc.key_mark((key,))
            return m.line if m else None

        return _check(doc.data, str(own), "", locate), str(own)
    return {}, None


def _text(path: Path) -> str:
    raw = read_bounded(path, MAX_BYTES, "config")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ManifestError(
            Diagnostic(
                str(path),
                f"invalid UTF-8 at byte {e.start}",
                raw[: e.start].count(b"\n") + 1,
                expected="UTF-8 text",
            )
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


_AT = re.compile(r"\(at line (\d+), column (\d+)\)$")


def _toml(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        m = _AT.search(message)
        line, column = (int(m[1]), int(m[2])) if m else (None, None)
        if message.endswith("(at end of document)"):
            line, message = text.count("\n") + 1, message[: -len("(at end of document)")]
        raise ManifestError(
            Diagnostic(str(path), f"not TOML: {_AT.sub('', message).strip()}", line, column)
        ) from None
    except RecursionError:
        raise ManifestError(
            Diagnostic(
                str(path),
                "not TOML: arrays or tables nested too deep to read",
                expected="a few levels of nesting",
            )
        ) from None
    except ValueError:  # an integer too long for Python to convert
        long = re.search(r"[0-9_]{4000,}", text)
        line = text.count("\n", 0, long.start()) + 1 if long else None
        raise ManifestError(
            Diagnostic(
                str(path),
                "an integer too long to read",
                line,
                expected="integers of at most 4,300 digits",
            )
        ) from None


def _toml_line(text: str, table: str | None, key: str) -> int | None:
    """The line of ``key`` in ``[table]`` (``None``: top level) of TOML text, if easy to tell."""
    header = re.compile(r"\s*\[\s*([^\]]*?)\s*\]")
    assign = re.compile(r"\s*[\"']?" + re.escape(key) + r"[\"']?\s*[=.]")
    current: str | None = None
    for n, line in enumerate(text.splitlines(), 1):
        h = header.match(line)
        if h and not line.lstrip().startswith("[["):
            current = h[1].replace('"', "").replace("'", "").replace(" ", "")
            if table is not None and current == f"{table}.{key}":
                return n
            continue
        if current == table and assign.match(line):
            return n
    return None


def _kind(value: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "table",
    }.get(type(value), type(value).__name__)


def _a(kind: str) -> str:
    return ("an " if kind[:1] in "aeiou" else "a ") + kind


def _check(section: dict[str, Any], where: str, prefix: str, locate: Locate) -> dict[str, Any]:
    """``section`` if every setting is known and of its type; else every problem, at ``where``
    (a file), each message starting with ``prefix``."""
    problems = []
    for key, value in section.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, list(KEYS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                Diagnostic(
                    where,
                    f"{prefix}unknown setting {key!r}{hint}",
                    locate(key),
                    expected="one of " + ", ".join(KEYS),
                )
            )
        elif not isinstance(value, KEYS[key]) or (
            isinstance(value, bool) and KEYS[key] is not bool
        ):
            expected = (
                "a list of text"
                if key in _LISTS_OF_TEXT
                else "an integer"
                if KEYS[key] is int
                else "true or false"
                if KEYS[key] is bool
                else "text"
            )
            problems.append(
                Diagnostic(
                    where, f"{prefix}{key} is {_a(_kind(value))}", locate(key), expected=expected
                )
            )
        elif key in _LISTS_OF_TEXT:
            items = cast(list[Any], value)
            bad = [(i, v) for i, v in enumerate(items) if not isinstance(v, str) or not v]
            if bad:
                i, v = bad[0]
                problems.append(
                    Diagnostic(
                        where,
                        f"{prefix}{key}[{i}] is {_a(_kind(v))}" + (" (empty)" if v == "" else ""),
                        locate(key),
                        expected="a list of non-empty text",
                    )
                )
        elif isinstance(value, int) and abs(value) > MAX_INT:
            problems.append(
                Diagnostic(
                    where,
                    f"{prefix}{key} is an integer of {value.bit_length()} bits",
                    locate(key),
                    expected="a 64-bit integer",
                )
            )
    if problems:
        raise ManifestError(problems)
    return section


# config key -> parameter name, for the commands that read the project config
_TRUST = {
    "trail-keys": "key",
    "trusted-state": "trusted_state",
    "require-pinned": "require_pinned",
    "witness-keys": "witness_key",
    "witness-quorum": "witness_quorum",
    "sealed-late-after": "sealed_late_after",
}
_AUDIT = {  # the settings of one audit run, which scan and report both take (_request)
    "paths": "paths",
    "waivers": "waivers",
    "baseline": "baseline",
    "trails": "trails",
    "sample": "sample",
    "seed": "seed",
    "jobs": "jobs",
    "dask": "dask",
    "period": "period",
    "max-gap": "max_gap",
    "fail-on": "fail_on",
} | _TRUST
CONFIG_PARAMS: dict[str, dict[str, str]] = {
    "collect": {"shard": "shard", "acknowledge": "acknowledge"},
    "scan": _AUDIT | {"format": "fmt", "output": "output"},
    "report": _AUDIT
    | {"ai-act-date": "ai_act_date", "population-out": "population_out", "preparer": "preparer"},
}


def loopback_address(address: str) -> bool:
    """Whether a Dask scheduler ``address`` (``[scheme://]host[:port]``) is on this machine:
    ``localhost``, 127.0.0.0/8 or ``::1``."""
    import ipaddress

    m = re.fullmatch(r"(?:[a-z]+://)?(\[[^\]]*\]|[^:/\[\]]*)(?::\d+)?/?", address.strip())
    if not m:
        return False
    host = m[1].strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _path_part(key: str, value: str) -> str | None:
    """The path in a path setting's value: ``FORMAT=PATH`` outputs, key files (not key
    text, which holds ``+``), everything else as it is."""
    if key == "output":
        fmt, sep, rest = value.partition("=")
        return rest if sep and "/" not in fmt else value
    if key in ("trail-keys", "witness-keys") and "+" in value and not Path(value).exists():
        return None  # the key text itself
    return value


def config_default_map(ctx: Any, command_name: str) -> dict[str, Any] | None:
    """The project config (``[tool.harness-audit]`` or ``.harness-audit.yaml``) as the Click
    ``default_map`` of one command (``ctx``: the root command's context), each value checked
    against that command's option. Each setting is then resolved once, by Click: the flag,
    else the config's value, else the option's default."""
    params = CONFIG_PARAMS.get(command_name)
    if params is None:
        return None
    settings, where = load_config(Path("."))
    command = ctx.command.get_command(ctx, command_name)
    if not settings or command is None or where is None:
        return None
    import typer  # the command line's own Click: its BadParameter

    from harness_audit._fs import confined

    by_name = {p.name: p for p in command.params}
    values: dict[str, Any] = {}
    problems = []
    root = Path(".").resolve()  # the config sits here: this folder is its project
    for key, value in settings.items():
        name = params.get(key)
        if name is None:
            continue  # a setting of another command
        if key in PATH_KEYS:
            for item in value if isinstance(value, list) else [value]:
                path = _path_part(key, str(item))
                if path is not None:
                    confined(Path(path), root, root, key, where)
        if key == "dask" and isinstance(value, str) and not loopback_address(value):
            problems.append(
                Diagnostic(
                    where,
                    f"dask: {value!r} is not a loopback address; a config (written by whoever "
                    "opens the pull request) may name only a scheduler on this machine, since a "
                    "Dask client is sent the trails' bytes and takes back what the scheduler "
                    "returns; name one elsewhere on the command line (--dask)",
                    expected="tcp://127.0.0.1:PORT, tcp://[::1]:PORT or tcp://localhost:PORT",
                )
            )
            continue
        param = by_name[name]
        try:
            param.process_value(ctx, value)
        except typer.BadParameter as e:
            problems.append(Diagnostic(where, f"{key}: {e.message}"))
        values[name] = value
    if problems:
        raise ManifestError(problems)
    return {command_name: values}
