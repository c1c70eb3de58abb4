"""Build of the optional compiled verifier core (``harness_audit.trail._cverify``) and of the
package data; everything else is in pyproject.toml.

The extension is optional in the way PyYAML's LibYAML binding is: when it cannot be built (no
compiler, no OpenSSL headers: ``apt-get install libssl-dev``), the install goes on without it
and the pure-Python verifier runs. ``HARNESS_AUDIT_BUILD_EXT=0`` skips it on purpose.
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


ext_modules = []
if os.environ.get("HARNESS_AUDIT_BUILD_EXT", "1") != "0":
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
