"""A module of the package run as Python even when the build compiled it (mypyc): for
differential tests of the compiled paths against their own source, and for tests that count
the Python lines a function runs."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def as_python(name: str) -> ModuleType:
    """A fresh copy of module ``name`` executed from its ``.py`` source (its own imports are the
    package's modules as built, compiled or not)."""
    built = importlib.import_module(name)
    source = Path(str(built.__file__)).parent / f"{name.rsplit('.', 1)[1]}.py"
    copy = f"{name}__as_python"
    spec = importlib.util.spec_from_file_location(copy, source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[copy] = module  # dataclasses look their module up while a class is made
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[copy]
    return module
