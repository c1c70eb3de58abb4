"""The ``harness-audit`` application: the groups of :mod:`~harness_audit.cli._app` with every
command module imported, in the order ``--help`` lists the commands (each module registers its
commands through :func:`~harness_audit.cli._app.command`, the one way to register one)."""

from __future__ import annotations

from harness_audit.cli import _commands  # noqa: F401  (registration, in --help order)
from harness_audit.cli._app import app

__all__ = ["app"]
