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
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.modified import newer_group

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


BUILD_EXT = os.environ.get("HARNESS_AUDIT_BUILD_EXT", "1") != "0"

CVERIFY = Extension(
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


CINGEST = Extension(
    "harness_audit.capture._cingest",
    sources=["harness_audit/capture/_cingest.c"],
    extra_compile_args=CVERIFY.extra_compile_args,
    optional=True,  # without it, collect reads protobuf bodies with upb (the same spans)
)
"""``collect``'s reading of OTLP protobuf bodies in C (issue 28, item 5; its reference is
``capture/decode._upb_parts``)."""


METADATA_ONLY = {"egg_info", "dist_info", "sdist"}
"""setup.py commands that build no extension."""


class BuildExtWithMypyc(build_ext):
    """Add the mypyc extensions when extensions are built, not each time this file is read.

    A PEP 517 front end runs this file once per hook (build requirements, metadata, then the
    wheel or the editable wheel), and the metadata hooks finalize this command too (to list an
    sdist's sources): generating the mypyc sources on every run ran mypy's analysis three times
    per install, twice for hooks that build nothing. Runs of :data:`METADATA_ONLY` commands
    skip it (the generated C is not a source of the sdist either: a build makes it).
    """

    def finalize_options(self) -> None:
        exts = self.distribution.ext_modules
        building = set(self.distribution.commands) - METADATA_ONLY
        if building and exts and not any(e.name == "harness_audit__mypyc" for e in exts):
            exts[:0] = mypyc_extensions()
        super().finalize_options()

    def build_extension(self, ext: Extension) -> None:
        """Build ``ext``, or take the same extension an install of the other kind built.

        ``pip install .`` builds into ``build/lib.*``; ``pip install -e .`` builds into the
        tree. The README's two commands run both, in either order, on one clone: an extension
        one of them built is newer than all its sources (distutils' own rule for skipping a
        build, mypyc rewriting only the C that changed) and is copied, not compiled again.
        """
        rel = self.get_ext_filename(self.get_ext_fullname(ext.name))
        dest = Path(self.get_ext_fullpath(ext.name)).resolve()
        inputs = [*ext.sources, *ext.depends]
        for built in [ROOT / rel, *sorted(ROOT.glob(f"build/lib.*/{rel}"))]:
            if built.is_file() and built.resolve() != dest and not newer_group(inputs, built):
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(built, dest)
                return
        super().build_extension(ext)


setup(
    ext_modules=[CVERIFY, CINGEST] if BUILD_EXT else [],
    cmdclass={"build_py": BuildPyWithData, "build_ext": BuildExtWithMypyc},
)
