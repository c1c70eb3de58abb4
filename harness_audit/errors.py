"""One exception root for the library, with diagnostics that name file, line and column.

Modelled on sigstore-python: every error the user can cause is a :class:`HarnessAuditError`
whose :meth:`~HarnessAuditError.diagnostics` say what was found and what was expected; the CLI
prints them and exits 2, never with a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from types import TracebackType


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

    def __reduce__(self) -> tuple[type[HarnessAuditError], tuple[list[Diagnostic]]]:
        """Pickled with its diagnostics (an error raised in a worker process reaches the
        parent naming its file, not as one string of an unknown file)."""
        return type(self), (self._diagnostics,)


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


UNREADABLE = "cannot be read: {strerror}"
"""The message for a file the system cannot read (an :class:`OSError`), for :func:`diagnosed`."""


def diagnostic_error(
    file: str,
    message: str,
    line: int | None = None,
    *,
    cause: BaseException,
    expected: str | None = None,
    error: type[HarnessAuditError] = TrailError,
) -> HarnessAuditError:
    """The error for ``cause`` at ``file`` (and ``line``): ``message`` formatted with ``error``
    (the exception's text) and ``strerror`` (an :class:`OSError`'s reason)."""
    text = message.format(error=cause, strerror=getattr(cause, "strerror", None))
    return error(Diagnostic(file, text, line, expected=expected))


class diagnosed:  # lower case: read as a function, ``with diagnosed(...):``
    """Turn an exception of ``catch`` raised in a ``with`` block into a diagnostic error.

    One helper for the reads of trails, keys, checkpoints, proofs and baselines, instead of a
    try/except at each: ``with diagnosed(path, "not JSON: {error}", n, catch=ValueError):``
    raises a :class:`TrailError` (or ``error``) naming file and line, chained to the cause.
    A class, not a generator, so it is cheap enough to use once per line.
    """

    __slots__ = ("catch", "error", "expected", "file", "line", "message")

    def __init__(
        self,
        file: str,
        message: str = "{error}",
        line: int | None = None,
        *,
        catch: type[BaseException] | tuple[type[BaseException], ...],
        expected: str | None = None,
        error: type[HarnessAuditError] = TrailError,
    ) -> None:
        self.file, self.message, self.line = file, message, line
        self.catch, self.expected, self.error = catch, expected, error

    def __enter__(self) -> None:
        """Nothing to set up."""

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Raise the diagnostic error in place of an exception of ``catch``."""
        if exc is not None and isinstance(exc, self.catch):
            raise diagnostic_error(
                self.file,
                self.message,
                self.line,
                cause=exc,
                expected=self.expected,
                error=self.error,
            ) from exc
