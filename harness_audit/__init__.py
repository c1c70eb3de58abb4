"""harness-audit: compliance auditor and gap scanner for multi-agent AI pipelines.

The package is a library core (``manifest``, ``graph``, ``checks``, ``trail``, ``sla``) that never
prints or exits, renderers under ``report``, and a thin command line under ``cli``.
"""

__version__ = "0.1.0"
