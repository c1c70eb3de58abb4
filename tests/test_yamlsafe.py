"""Safe YAML: limits, tags, duplicate keys and positions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness_audit.errors import InputError, ManifestError
from harness_audit.manifest.yamlsafe import Mark, load_yaml

BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]"
       for i in range(8)]
) + "\n"


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


@pytest.mark.parametrize("text", [
    "a: !!python/object/apply:os.system ['echo hi']\n",
    "a: !custom 1\n",
    "a: !!binary aGk=\n",
    "a: !!set {x}\n",
])
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
