"""The auditor's trust root: one value the command line builds and the verifier and the audit
run use (:func:`~harness_audit.trail.verify.verify_trail` takes it whole).

Kept apart from the evidence judge so that the command line can name it without importing the
judge (``--help`` and ``--version`` stay fast).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from harness_audit.trail.note import Verifier
    from harness_audit.trail.witness import WitnessKey

KeySource = Literal["flag", "config", "manifest"]


@dataclass(frozen=True, slots=True)
class TrustRoot:
    """What the auditor trusts: keys (pinned when from a flag or the config), checkpoints
    and the trusted state kept from last time, witnesses, and whether pinning is required.

    Keys are given as ``--key`` values (key text, or a file of keys) or already loaded."""

    keys: tuple[str | Verifier, ...] = ()
    key_source: KeySource | None = None  # of ``keys``: "flag" or "config"
    checkpoints: tuple[Path, ...] = ()
    trusted_state: Path | None = None
    witness_keys: tuple[str | WitnessKey, ...] = ()
    witness_quorum: int | None = None  # None: the default, see :attr:`quorum`
    require_pinned: bool = False

    @property
    def quorum(self) -> int:
        """Cosignatures the anchoring checkpoint needs: as given, else 1 when witness keys
        are given, else 0 (witnesses only recorded)."""
        if self.witness_quorum is not None:
            return self.witness_quorum
        return 1 if self.witness_keys else 0

    def verifiers(self) -> list[Verifier]:
        """The keys, loaded (:func:`harness_audit.keys.load_verifiers`)."""
        from harness_audit.keys import load_verifiers

        return load_verifiers(self.keys)

    def witnesses(self) -> list[WitnessKey]:
        """The witness keys, loaded (:func:`harness_audit.keys.load_witness_keys`)."""
        from harness_audit.keys import load_witness_keys

        return load_witness_keys(self.witness_keys)

    def check(self) -> None:
        """Load every key once, so that one that does not load fails before any work."""
        self.verifiers()
        self.witnesses()

    def inputs(self, witness_keys: bool = True) -> list[tuple[str, Path]]:
        """(kind, file) of every file the trust root reads: key files (the witnesses' too,
        unless ``witness_keys`` is false), checkpoints, state."""
        from harness_audit.keys import key_files

        keys = (*self.keys, *self.witness_keys) if witness_keys else self.keys
        out = [("verifier key", p) for p in key_files(keys)]
        out += [("checkpoint", c) for c in self.checkpoints]
        if self.trusted_state:
            out.append(("trusted state", self.trusted_state))
        return out
