"""The project config (pyproject.toml or .harness-audit.yaml): every bad file is an error that
names the file and, where it can be told, the line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness_audit import config
from harness_audit.config import load_config
from harness_audit.errors import HarnessAuditError, InputError, ManifestError


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail a test that blocks (a FIFO opened for reading) instead of hanging the run."""
    import signal

    def timeout(signum: int, frame: Any) -> None:
        raise TimeoutError("blocked for 10 s")

    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def error(folder: Path, name: str, text: str | bytes) -> HarnessAuditError:
    (folder / name).write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(HarnessAuditError) as e:
        load_config(folder)
    return e.value


T = "[tool.harness-audit]\n"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (T + "paths = [1, 2]\n", 2, "paths[0] is an integer"),
        (T + "format = 'json'\noutput = [{}]\n", 3, "output[0] is a table"),
        (T + 'paths = ["a", ""]\n', 2, "paths[1] is a string (empty)"),
        (T + "format = {a = 1}\n", 2, "format is a table"),
        (T + "sample = 1.5\n", 2, "sample is a number"),
        (T + "seed = 0x" + "f" * 100 + "\n", 2, "seed is an integer of 400 bits"),
        (T + "sampel = 3\n", 2, "did you mean 'sample'"),
        ('tool = "x"\n', 1, "tool is a string"),
        ('[tool]\nharness-audit = "x"\n', 2, "[tool.harness-audit] is a string"),
        (T + "seed = " + "9" * 5000 + "\n", 2, "an integer too long"),
        ("x = [\n", 2, "not TOML"),
        ("a = 1\nb = = 2\n", 2, "not TOML"),
        (b"a = 1\n\xff\n", 2, "invalid UTF-8"),
    ],
)
def test_bad_pyproject(tmp_path: Path, text: str | bytes, line: int, message: str) -> None:
    e = error(tmp_path, "pyproject.toml", text)
    d = e.diagnostics()[0]
    assert isinstance(e, ManifestError)
    assert d.file == str(tmp_path / "pyproject.toml") and d.line == line
    assert message in d.message


@pytest.mark.parametrize(
    "text",
    ["a = " + "[" * 5000 + "]" * 5000 + "\n", "a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n"],
    ids=["arrays", "tables"],
)
def test_deep_toml_is_an_error(tmp_path: Path, text: str) -> None:
    assert "nested too deep" in str(error(tmp_path, "pyproject.toml", text))


def test_a_bom_before_toml_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b"\xef\xbb\xbf" + T.encode() + b"seed = 1\n")
    assert load_config(tmp_path)[0] == {"seed": 1}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("paths: [1, 2]\n", 1, "paths[0] is an integer"),
        ("jobs: 2\noutput: [{}]\n", 2, "output[0] is a table"),
        ("format: {a: 1}\n", 1, "format is a table"),
        ("- a\n", 1, "the document is a list"),
        ("x: !!int abc\n", 1, "'abc' is not a valid !!int"),
        ("seed: " + "9" * 5000 + "\n", 1, "an integer of"),
        ("jobs: 2\nsampel: 1\n", 2, "did you mean 'sample'"),
    ],
)
def test_bad_yaml_config(tmp_path: Path, text: str, line: int, message: str) -> None:
    d = error(tmp_path, ".harness-audit.yaml", text).diagnostics()[0]
    assert d.file == str(tmp_path / ".harness-audit.yaml") and d.line == line
    assert message in d.message


@pytest.mark.parametrize("name", ["pyproject.toml", ".harness-audit.yaml"])
def test_only_a_regular_file_is_read(tmp_path: Path, name: str, no_hang: None) -> None:
    os.mkfifo(tmp_path / name)  # would block an ordinary open
    with pytest.raises(InputError, match="not a regular file"):
        load_config(tmp_path)
    (tmp_path / name).unlink()
    (tmp_path / name).mkdir()
    with pytest.raises(InputError, match="not a regular file"):
        load_config(tmp_path)


@pytest.mark.parametrize("name", ["pyproject.toml", ".harness-audit.yaml"])
def test_a_config_over_the_size_limit_is_refused(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "MAX_BYTES", 100)
    e = error(tmp_path, name, "# " + "x" * 200 + "\n")
    assert isinstance(e, InputError) and "more than the 100 allowed" in str(e)


def test_good_configs_still_load(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        T + 'paths = ["a"]\noutput = ["json:x.json"]\njobs = 2\n'
    )
    assert load_config(tmp_path)[0] == {"paths": ["a"], "output": ["json:x.json"], "jobs": 2}
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / ".harness-audit.yaml").write_text("fail-on: high\n")
    assert load_config(tmp_path) == ({"fail-on": "high"}, str(tmp_path / ".harness-audit.yaml"))
