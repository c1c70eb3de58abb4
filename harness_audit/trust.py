"""The auditor's trust root: a small value the command line builds and the audit run uses.

Kept apart from the evidence judge so that the command line can name it without importing the
judge (``--help`` and ``--version`` stay fast).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

KeySource = Literal["flag", "config", "manifest"]


@dataclass(frozen=True, slots=True)
class TrustRoot:
    """What the auditor trusts: keys (pinned when from a flag or the config), checkpoints
    and the trusted state kept from last time, witnesses, and whether pinning is required."""

    keys: tuple[str, ...] = ()
    key_source: KeySource | None = None  # of ``keys``: "flag" or "config"
    checkpoints: tuple[Path, ...] = ()
    trusted_state: Path | None = None
    witness_keys: tuple[str, ...] = ()
    witness_quorum: int = 0
    require_pinned: bool = False
