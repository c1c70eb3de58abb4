"""Fuzzing the parsers of attacker-written input: only a HarnessAuditError may escape.

One property per parser: the YAML loader (manifests), the manifest through the checks, the
waivers loader and the config loader (TOML and YAML). Inputs are built from the tokens that
broke them before (core tags on the wrong text, integers past Python's digit limit, deep
nesting, fallback chains, format characters and homoglyphs) mixed with arbitrary text.
Examples are bounded (HARNESS_AUDIT_FUZZ_EXAMPLES, default 120) so the file runs in
seconds; tests/fuzz/ has an atheris harness for longer runs.
"""

from __future__ import annotations

import atexit
import copy
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness_audit.checks import assess_pipeline
from harness_audit.config import load_config
from harness_audit.errors import HarnessAuditError
from harness_audit.manifest import load_manifest
from harness_audit.manifest.yamlsafe import load_yaml
from harness_audit.waivers import load_waivers

from .conftest import base_manifest

EXAMPLES = int(os.environ.get("HARNESS_AUDIT_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck), deadline=None)
_DIR = Path(tempfile.mkdtemp(prefix="harness-audit-fuzz-"))
atexit.register(shutil.rmtree, _DIR, True)

TAGS = [
    "!!int",
    "!!float",
    "!!bool",
    "!!null",
    "!!str",
    "!!timestamp",
    "!!binary",
    "!!set",
    "!!omap",
    "!!pairs",
    "!!seq",
    "!!map",
    "!custom",
    "!!python/name:os.system",
]
WORDS = [
    "abc",
    "k",
    "",
    "-",
    ".",
    "0x",
    "0b",
    "0o",
    "1_000",
    "1:2:3",
    "1e999",
    ".inf",
    "nan",
    "9" * 4400,
    "0x" + "f" * 4000,
    "2024-02-30",
    "yes",
    "~",
    "null",
    "human",
    "openai\u200b",
    "gpt\u20114o",
    "\ufeff",
    "\x85",
    "a" * 300,
    "<<",
    "*a",
    "&a",
    "'",
    '"',
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "? ",
    "- ",
    "#",
    "%YAML 1.1",
    "---",
    "...",
]
TOKENS = st.one_of(
    st.sampled_from(TAGS),
    st.sampled_from(WORDS),
    st.sampled_from(["\n", " ", "  ", ": ", "\n  ", "\n- "]),
    st.text(max_size=8),
)


def _write(name: str, data: str | bytes) -> Path:
    path = _DIR / name
    path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return path


def only_diagnostics(fn: Callable[[], object]) -> None:
    """Run ``fn``; a HarnessAuditError is an answer, anything else fails the property."""
    try:
        fn()
    except HarnessAuditError as e:
        assert e.diagnostics() and all(d.file and d.message for d in e.diagnostics())


yaml_text = st.one_of(
    st.lists(TOKENS, max_size=40).map("".join),
    st.builds(
        lambda tag, word, key: f"{key}: {tag} {word}\n" if key else f"{tag} {word}: v\n",
        st.sampled_from(TAGS),
        st.sampled_from(WORDS),
        st.sampled_from(["x", ""]),
    ),
    st.integers(1, 3000).map(lambda n: "x: " + "[" * n + "]" * n + "\n"),
    st.integers(1, 3000).map(lambda n: "x: " + "{a: " * n + "1" + "}" * n + "\n"),
)


@FUZZ
@given(yaml_text, st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff", b"\x00"]))
def test_fuzz_yaml_loader(text: str, prefix: bytes) -> None:
    path = _write("f.harness.yaml", prefix + text.encode("utf-8", "surrogatepass"))
    only_diagnostics(lambda: load_yaml(path))


# --- the manifest, through the checks -------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(WORDS[:25]),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
PATHS: list[tuple[str | int, ...]] = [
    ("metadata", "name"),
    ("slo",),
    ("slo", "target"),
    ("budget", "max_spawn_depth"),
    ("trail",),
    ("trail", "integrity"),
    ("agents",),
    ("agents", 0),
    ("agents", 0, "id"),
    ("agents", 0, "model"),
    ("agents", 0, "model", "provider"),
    ("agents", 0, "model", "family"),
    ("agents", 0, "stage"),
    ("agents", 0, "stage", "reliability"),
    ("agents", 0, "stage", "fallback"),
    ("agents", 0, "stage", "replicas"),
    ("agents", 0, "stage", "quorum"),
    ("agents", 0, "tools"),
    ("agents", 0, "tools", 0),
    ("agents", 0, "tools", 0, "effect"),
    ("agents", 0, "access", "scopes"),
    ("agents", 0, "depends_on"),
    ("agents", 0, "verifies"),
    ("agents", 0, "spawns"),
    ("agents", 0, "max_iterations"),
    ("shared_dependencies",),
]


def _set(doc: Any, path: tuple[str | int, ...], value: Any) -> None:
    for part in path[:-1]:
        if isinstance(doc, dict) and isinstance(part, str):
            doc = doc.setdefault(part, {})
        elif isinstance(doc, list) and isinstance(part, int) and part < len(doc):
            doc = doc[part]
        else:
            return
    last = path[-1]
    if (isinstance(doc, dict) and isinstance(last, str)) or (
        isinstance(doc, list) and isinstance(last, int) and last < len(doc)
    ):
        doc[last] = value


def _agents(n: int, key: str) -> list[dict[str, Any]]:
    """A chain of ``n`` agents linked by ``key`` (fallback, depends_on, spawns, verifies)."""
    out = []
    for i in range(n):
        a: dict[str, Any] = {
            "id": f"a{i}",
            "model": {"provider": "openai", "family": "gpt-4o"},
            "max_iterations": 2,
            "stage": {"reliability": 0.9},
        }
        if i < n - 1:
            if key == "fallback":
                a["stage"]["fallback"] = [f"a{i + 1}"]
            else:
                a[key] = [f"a{i + 1}"]
        out.append(a)
    return out


manifests = st.builds(
    lambda edits, chain: (edits, chain),
    st.lists(st.tuples(st.sampled_from(PATHS), values), max_size=4),
    st.one_of(
        st.none(),
        st.tuples(
            st.sampled_from([2, 3, 20, 500]),
            st.sampled_from(["fallback", "depends_on", "spawns", "verifies"]),
        ),
    ),
)


@FUZZ
@given(manifests)
@example(([], (1500, "fallback")))  # Hypothesis lifts the recursion limit by 2,000
@example(([(("agents", 0, "stage", "reliability"), "abc")], None))
def test_fuzz_manifest_through_the_checks(case: tuple[Any, Any]) -> None:
    edits, chain = case
    doc = copy.deepcopy(base_manifest())
    if chain:
        doc["agents"] = _agents(*chain)
    for path, value in edits:
        _set(doc, path, value)
    path = _write("m.harness.yaml", yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))

    def run() -> None:
        assess_pipeline(load_manifest(path))

    only_diagnostics(run)


# --- waivers ----------------------------------------------------------------------------------

WAIVER = {
    "rule": "HA-006",
    "pipeline": "p",
    "agent": "*",
    "owner": "me",
    "ticket": "T-1",
    "justification": "Accepted until the migration lands.",
    "expires": "2099-12-31",
}


@FUZZ
@given(
    st.lists(st.tuples(st.sampled_from([*WAIVER, "extra"]), values), max_size=4),
    st.one_of(st.none(), yaml_text),
)
def test_fuzz_waivers_loader(edits: list[tuple[str, Any]], raw: str | None) -> None:
    waiver: dict[str, Any] = dict(WAIVER)
    for key, value in edits:
        waiver[key] = value
    text = raw if raw is not None else yaml.safe_dump({"waivers": [waiver]}, allow_unicode=True)
    path = _write("w.yaml", text.encode("utf-8", "surrogatepass"))
    only_diagnostics(lambda: load_waivers(path))


# --- config, TOML and YAML --------------------------------------------------------------------

TOML_TOKENS = st.one_of(
    st.sampled_from(
        [
            "[tool.harness-audit]\n",
            "[tool]\n",
            "tool = ",
            "harness-audit = ",
            "paths = ",
            "output = ",
            "format = ",
            "seed = ",
            "jobs = ",
            "sample = ",
            "fail-on = ",
            "x.y.z = ",
            "[",
            "]",
            "{",
            "}",
            "[[a]]\n",
            ",",
            "=",
            "\n",
            '"a"',
            "'b'",
            "1",
            "1.5",
            "true",
            "inf",
            "nan",
            "1979-05-27",
            "0x" + "f" * 40,
            "9" * 4400,
            "\ufeff",
            '"""',
            "#",
        ]
    ),
    st.text(max_size=6),
)
toml_text = st.one_of(
    st.lists(TOML_TOKENS, max_size=30).map("".join),
    st.integers(1, 3000).map(lambda n: "a = " + "[" * n + "]" * n + "\n"),
    st.integers(1, 2000).map(lambda n: "a = " + "{b = " * n + "1" + "}" * n + "\n"),
    st.builds(
        lambda k, v: f"[tool.harness-audit]\n{k} = {v}\n",
        st.sampled_from(["paths", "output", "format", "seed", "jobs", "waivers"]),
        st.sampled_from(
            [
                "[1, 2]",
                "[{}]",
                "{a = 1}",
                '["a", ""]',
                "[[1]]",
                "1e999",
                "0x" + "f" * 100,
                '"x"',
                "[]",
            ]
        ),
    ),
)


@FUZZ
@given(toml_text)
def test_fuzz_config_toml(text: str) -> None:
    folder = _DIR / "toml"
    folder.mkdir(exist_ok=True)
    (folder / "pyproject.toml").write_bytes(text.encode("utf-8", "surrogatepass"))
    only_diagnostics(lambda: load_config(folder))


@FUZZ
@given(
    st.one_of(
        yaml_text,
        st.dictionaries(
            st.sampled_from(
                ["paths", "output", "format", "seed", "jobs", "sample", "waivers", "x"]
            ),
            values,
            max_size=4,
        ).map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
    )
)
def test_fuzz_config_yaml(text: str) -> None:
    folder = _DIR / "yaml"
    folder.mkdir(exist_ok=True)
    (folder / ".harness-audit.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
    only_diagnostics(lambda: load_config(folder))
