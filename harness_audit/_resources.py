"""Where the package's data (``rules/``, ``schemas/``, ``templates/``) is.

In a wheel they are inside the package under ``_data/``; in a source checkout or editable
install they are at the repository root, where they are edited.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """The folder of package data ``name``: in the wheel, else in the checkout; raises
    FileNotFoundError when neither has it."""
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"package data folder {name!r} is missing from this installation")
