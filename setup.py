"""Build of the optional compiled parts and of the package data; everything else is in
pyproject.toml.

- The verifier core (``harness_audit.trail._cverify``, C).
- The import and sealing path (:data:`MYPYC`), the same Python modules compiled by mypyc: the
  reading, mapping and sealing of ``trail import`` and ``collect`` are many small operations
  per span, which compiled run markedly faster (figures: bench/README.md, Issue 14). The
  source stays the one implementation (mypy --strict checks it; the tests run on what is
  built).

Both are optional in the way PyYAML's LibYAML binding is: when they cannot be built (no
compiler, no OpenSSL headers: ``apt-get install libssl-dev gcc``), the install goes on without
them and the same code runs as Python. ``HARNESS_AUDIT_BUILD_EXT=0`` skips both on purpose (for
instance to edit those modules in an editable install without rebuilding).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA = ("rules", "schemas", "templates")  # repository folders -> harness_audit/_data/


class BuildPyWithData(build_py):
    """Copy rules/, schemas/ and templates/ into harness_audit/_data/ of the build."""

    def run(self) -> None:
        super().run()
        for name in DATA:
            src = ROOT / name
            if src.is_dir():
                dest = Path(self.build_lib) / "harness_audit" / "_data" / name
                shutil.copytree(src, dest, dirs_exist_ok=True)


MYPYC = [
    "harness_audit/capture/decode.py",
    "harness_audit/capture/stream.py",
    "harness_audit/importers/base.py",
    "harness_audit/importers/claude_code.py",
    "harness_audit/importers/codex.py",
    "harness_audit/importers/langfuse.py",
    "harness_audit/importers/phoenix.py",
    "harness_audit/importers/unknown.py",
    "harness_audit/importers/spans.py",
    "harness_audit/importers/otlp.py",
    "harness_audit/trail/canonical.py",
    "harness_audit/trail/merkle.py",
    "harness_audit/trail/seal.py",
]
"""The modules mypyc compiles (none may define a msgspec struct: those stay Python classes)."""


def mypyc_extensions() -> list[Extension]:
    """The :data:`MYPYC` modules as extensions, or none when mypyc cannot build them."""
    try:
        from mypyc.build import mypycify
    except ImportError:
        return []
    try:
        # the compile needs types, not checks (mypy --strict is part of the tests): the
        # third-party packages are not in the build environment and count as Any
        exts = mypycify(
            ["--config-file", str(ROOT / "mypyc.ini"), *MYPYC], group_name="harness_audit"
        )
    except (Exception, SystemExit) as e:  # an install without them still works
        print(f"harness-audit: not compiling with mypyc ({e}); the modules run as Python")
        return []
    for ext in exts:
        ext.optional = True
    return list(exts)


ext_modules: list[Extension] = []
if os.environ.get("HARNESS_AUDIT_BUILD_EXT", "1") != "0":
    ext_modules.extend(mypyc_extensions())
    ext_modules.append(
        Extension(
            "harness_audit.trail._cverify",
            sources=["harness_audit/trail/_cverify.c"],
            libraries=["crypto"],
            extra_compile_args=[
                "-O2",
                "-Wall",
                "-Wextra",
                "-Wshadow",
                "-Wconversion",
                "-Wno-sign-conversion",
                "-Wno-unused-parameter",
                "-fno-strict-overflow",
                "-D_FORTIFY_SOURCE=2",
            ],
            optional=True,  # a failed compile leaves the pure-Python core, not a failed install
        )
    )

setup(ext_modules=ext_modules, cmdclass={"build_py": BuildPyWithData})
