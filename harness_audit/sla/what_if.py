"""``sla --set``: a what-if change to one stage field or to the target, validated."""

from __future__ import annotations

import dataclasses
from typing import Any

from harness_audit.manifest.model import Pipeline, Stage

_STAGE_FIELDS = {
    "reliability": float,
    "retries": int,
    "coverage": float,
    "replicas": int,
    "quorum": int,
}


def what_if(pipeline: Pipeline, assignment: str) -> Pipeline:
    """Apply ``agent.field=value`` (a stage field) or ``slo.target=value``; ValueError if bad."""
    key, sep, raw = assignment.partition("=")
    owner, dot, name = key.strip().rpartition(".")
    if not sep or not dot:
        raise ValueError(f"{assignment!r} is not AGENT.FIELD=VALUE or slo.target=VALUE")
    if owner == "slo" and name == "target":
        value = _number(raw, float)
        if not 0 < value <= 1:
            raise ValueError(f"slo.target {value} is not in (0, 1]")
        return dataclasses.replace(pipeline, slo=dataclasses.replace(pipeline.slo, target=value))
    agents = pipeline.agent_map
    if owner not in agents:
        raise ValueError(f"no agent {owner!r} in {pipeline.name}")
    if name not in _STAGE_FIELDS:
        raise ValueError(f"{name!r} is not one of {', '.join(_STAGE_FIELDS)}")
    value = _number(raw, _STAGE_FIELDS[name])
    if name in ("reliability",) and not 0 < value <= 1:
        raise ValueError(f"reliability {value} is not in (0, 1]")
    if name == "coverage" and not 0 <= value <= 1:
        raise ValueError(f"coverage {value} is not in [0, 1]")
    if (name == "retries" and value < 0) or (name in ("replicas", "quorum") and value < 1):
        raise ValueError(f"{name} {value} is out of range")
    agent = agents[owner]
    stage = dataclasses.replace(agent.stage or Stage(), **{name: value})
    if stage.quorum and stage.quorum > (stage.replicas or 1):
        raise ValueError(f"quorum {stage.quorum} is more than the {stage.replicas or 1} replicas")
    new_agent = dataclasses.replace(agent, stage=stage)
    return dataclasses.replace(
        pipeline, agents=tuple(new_agent if a.id == owner else a for a in pipeline.agents)
    )


def _number(raw: str, kind: type) -> Any:
    try:
        return kind(raw.strip())
    except ValueError as e:
        raise ValueError(f"{raw.strip()!r} is not a {kind.__name__}") from e
