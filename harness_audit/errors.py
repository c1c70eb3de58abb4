"""One exception root for the library, with diagnostics that name file, line and column.

Modelled on sigstore-python: every error the user can cause is a :class:`HarnessAuditError`
whose :meth:`~HarnessAuditError.diagnostics` say what was found and what was expected; the CLI
prints them and exits 2, never with a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes shared by every command (CLI.md)."""

    OK = 0
    """The command ran and found nothing at or above the failure threshold."""
    FINDINGS = 1
    """It ran and found something: gaps, integrity problems, a missed target."""
    USAGE = 2
    """It could not run as asked: bad arguments or input that does not load."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem with an input, pointing at where it is."""

    file: str
    message: str
    line: int | None = None
    column: int | None = None
    expected: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.message}"
        if self.expected:
            text += f" (expected {self.expected})"
        return text


class HarnessAuditError(Exception):
    """Root of every error the library raises for bad input."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic | str) -> None:
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic(file="-", message=diagnostics)]
        elif isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self._diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self._diagnostics))

    def diagnostics(self) -> list[Diagnostic]:
        """Every problem found, in the order found."""
        return list(self._diagnostics)


class InputError(HarnessAuditError):
    """A file that is missing, unreadable, too large or not text."""


class ManifestError(HarnessAuditError):
    """A pipeline manifest that does not parse, breaks the schema or refers to nothing."""


class RuleError(HarnessAuditError):
    """A rule or control mapping under ``rules/`` that does not load (a packaging bug)."""


class TrailError(HarnessAuditError):
    """A trail, key, checkpoint or proof that cannot be read at all."""


class UsageError(HarnessAuditError):
    """Arguments that do not fit together."""
