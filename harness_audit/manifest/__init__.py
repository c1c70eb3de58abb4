"""Pipeline manifests: safe YAML with positions, schema validation, the ``Pipeline`` model."""

from harness_audit.manifest.loader import discover, load_all, load_manifest, pipeline_schema
from harness_audit.manifest.model import Agent, Pipeline, Tool

__all__ = ["Agent", "Pipeline", "Tool", "discover", "load_all", "load_manifest", "pipeline_schema"]
