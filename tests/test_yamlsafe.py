"""Safe YAML: limits, tags, duplicate keys and positions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness_audit.errors import InputError, ManifestError
from harness_audit.manifest.yamlsafe import Mark, load_yaml

from .test_config import no_hang

__all__ = ["no_hang"]  # a fixture

BOMB = (
    "\n".join(
        ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
        + [
            f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]"
            for i in range(8)
        ]
    )
    + "\n"
)


def write(tmp_path: Path, text: str | bytes) -> Path:
    p = tmp_path / "x.yaml"
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(ManifestError, match="alias bomb"):
        load_yaml(write(tmp_path, BOMB))
    assert time.monotonic() - start < 5  # a bound for a hang, not a speed target


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path, "base: &b {x: 1}\nuse: *b\nmerged: {<<: *b, y: 2}\n"))
    assert doc.data == {"base": {"x": 1}, "use": {"x": 1}, "merged": {"x": 1, "y": 2}}


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['echo hi']\n",
        "a: !custom 1\n",
        "a: !!binary aGk=\n",
        "a: !!set {x}\n",
    ],
)
def test_non_core_tags_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ManifestError, match=r"tag .* is not allowed") as e:
        load_yaml(write(tmp_path, text))
    assert e.value.diagnostics()[0].line == 1


def test_duplicate_keys_are_errors_with_the_line(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="duplicate key 'b'") as e:
        load_yaml(write(tmp_path, "a: 1\nb: 2\nb: 3\n"))
    assert e.value.diagnostics()[0].line == 3


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="bytes") as e:
        load_yaml(write(tmp_path, "a: 1\n" * 100), max_bytes=50)
    assert "at most 50 bytes" in str(e.value)


def test_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="YAML syntax error") as e:
        load_yaml(write(tmp_path, "a: 1\nb: [1, 2\nc: 3\n"))
    d = e.value.diagnostics()[0]
    assert d.line is not None and d.line >= 2 and d.column is not None


def test_invalid_utf8(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="invalid UTF-8") as e:
        load_yaml(write(tmp_path, b"a: 1\nb: \xff\xfe\n"))
    assert e.value.diagnostics()[0].line == 2


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="empty"):
        load_yaml(write(tmp_path, ""))


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="nesting"):
        load_yaml(write(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n"))


def test_nan_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="finite"):
        load_yaml(write(tmp_path, "a: .nan\n"))


def test_positions_of_values_and_keys(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path, "top:\n  list:\n    - x: 1\n      y: 2\n"))
    assert doc.mark(("top", "list", 0, "y")) == Mark(4, 10)
    assert doc.key_mark(("top", "list", 0, "y")) == Mark(4, 7)
    assert doc.mark(("top", "list", 0, "missing")) == doc.mark(("top", "list", 0)) == Mark(3, 7)


def test_dates_stay_text(tmp_path: Path) -> None:
    assert load_yaml(write(tmp_path, "d: 2026-01-02\n")).data == {"d": "2026-01-02"}


def test_unreadable_and_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_yaml(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="directory"):
        load_yaml(tmp_path)


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"recursive alias|nesting"):
        load_yaml(write(tmp_path, "a: &a [1, *a]\n"))


def test_large_file_without_aliases_is_not_a_bomb(tmp_path: Path) -> None:
    text = "items:\n" + "".join(f"  - {{id: a{i}, x: {i}, y: [1, 2, 3]}}\n" for i in range(40_000))
    assert len(load_yaml(write(tmp_path, text)).data["items"]) == 40_000


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("x: !!int abc\n", 1, 4),
        ("!!int k: v\n", 1, 1),
        ("x: !!float abc\n", 1, 4),
        ("!!float k: v\n", 1, 1),
        ("x: !!bool abc\n", 1, 4),
        ("!!bool k: v\n", 1, 1),
        ("a: 1\nx: !!int ''\n", 2, 4),
        ("x: !!int '-'\n", 1, 4),
        ("x: !!int '0x'\n", 1, 4),
        ("x: !!float '.'\n", 1, 4),
    ],
)
def test_a_core_tag_on_a_value_it_cannot_have_is_an_error_at_it(
    tmp_path: Path, text: str, line: int, column: int
) -> None:
    with pytest.raises(ManifestError, match="is not a valid !!") as e:
        load_yaml(write(tmp_path, text))
    d = e.value.diagnostics()[0]
    assert (d.line, d.column) == (line, column)


def test_a_timestamp_tag_on_a_key_keeps_the_text(tmp_path: Path) -> None:
    assert load_yaml(write(tmp_path, "!!timestamp k: v\n")).data == {"k": "v"}


@pytest.mark.parametrize(
    "text",
    [
        "x: " + "9" * 5000 + "\n",
        "x: !!int " + "9" * 5000 + "\n",
        "x: 0x" + "f" * 5000 + "\n",
        "x: !!int 0b" + "1" * 20000 + "\n",
        "? " + "9" * 5000 + "\n: v\n",
        "x: [1, 0x" + "f" * 3900 + "]\n",  # under 4,000 characters, but 15,600 bits
    ],
    ids=["decimal", "tagged", "hex", "binary", "key", "hex-bits"],
)
def test_an_integer_too_long_for_python_is_an_error_at_it(tmp_path: Path, text: str) -> None:
    with pytest.raises(ManifestError, match="an integer of") as e:
        load_yaml(write(tmp_path, text))
    assert e.value.diagnostics()[0].line == 1


def test_a_fifo_is_refused_without_blocking(tmp_path: Path, no_hang: None) -> None:
    import os

    fifo = tmp_path / "fifo.harness.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        load_yaml(fifo)


def test_a_bom_is_skipped(tmp_path: Path) -> None:
    assert load_yaml(write(tmp_path, b"\xef\xbb\xbfa: 1\n")).data == {"a": 1}
