"""Google ADK agent config YAML (``agent_class``, ``name``, ``model``, ``instruction``,
``sub_agents`` config files, ``tools`` incl. MCP toolsets with ``tool_filter``). ``sub_agents``
are spawns; ``require_confirmation`` on a tool is a human gate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness_audit.importers.base import as_dict, fail
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, known_effect, safe_id
from harness_audit.importers.probe import Probe
from harness_audit.manifest.yamlsafe import YamlDocument, load_yaml

NAME = "adk"
DESCRIPTION = "Google ADK agent config YAML"


def _is_adk(y: Any) -> bool:
    return (
        isinstance(y, dict)
        and isinstance(y.get("name"), str)
        and ("agent_class" in y or ("instruction" in y and "model" in y) or "sub_agents" in y)
    )


def sniff(probe: Probe) -> str | None:
    """What ADK file the source is (None: not ADK)."""
    if probe.path.suffix in (".yaml", ".yml") and _is_adk(probe.yaml):
        return "a Google ADK agent config"
    return None


def _line(doc: YamlDocument, *path: Any) -> int:
    m = doc.mark(tuple(path))
    return m.line if m else 1


def read(paths: list[Path]) -> Draft:
    """Agents from ADK config files (sub-agent files are read when given or beside)."""
    d = Draft(NAME, "adk", list(paths))
    todo = list(paths)
    done: set[Path] = set()
    while todo and len(done) < 500:
        p = todo.pop(0)
        rp = p.resolve()
        if rp in done or not p.is_file():
            continue
        done.add(rp)
        doc = load_yaml(p)
        y = doc.data
        if not _is_adk(y):
            continue
        f = str(p)
        aid = safe_id(y["name"])
        a = d.agent(aid) or DraftAgent(aid, Where(f, _line(doc, "name")))
        if a not in d.agents:
            d.agents.append(a)
        a.role = str(y.get("description") or "") or None
        if isinstance(y.get("model"), str):
            a.model, a.model_where = y["model"], Where(f, _line(doc, "model"))
        for i, t in enumerate(y.get("tools") or []):
            name = t.get("name") if isinstance(t, dict) else t
            if not isinstance(name, str):
                continue
            args: dict[str, Any] = as_dict(t.get("args")) if isinstance(t, dict) else {}
            filt = args.get("tool_filter")
            names = [str(x) for x in filt] if isinstance(filt, list) else [name.rsplit(".", 1)[-1]]
            for n in names:
                dt = DraftTool(n, Where(f, _line(doc, "tools", i)))
                known_effect(dt)
                if isinstance(t, dict) and (
                    t.get("require_confirmation") is True
                    or args.get("require_confirmation") is True
                ):
                    dt.gate, dt.gate_note = True, "require_confirmation: true"
                a.tools.append(dt)
        for i, s in enumerate(y.get("sub_agents") or []):
            cp = s.get("config_path") if isinstance(s, dict) else None
            if isinstance(cp, str):
                child = p.parent / cp
                todo.append(child)
                try:
                    cy = load_yaml(child).data
                    cname = (
                        safe_id(cy["name"])
                        if isinstance(cy, dict) and isinstance(cy.get("name"), str)
                        else safe_id(Path(cp).stem)
                    )
                except Exception:
                    cname = safe_id(Path(cp).stem)
                    d.unknown.append(f"sub-agent config {cp!r} could not be read")
                a.spawns.setdefault(cname, Where(f, _line(doc, "sub_agents", i)))
        for key in ("disallow_transfer_to_parent", "disallow_transfer_to_peers"):
            if y.get(key) is True:
                a.notes.append(f"{key}: true")
    if not d.agents:
        raise fail(
            str(paths[0]) if paths else "-",
            "no ADK agent config found",
            expected="YAML with name, model, instruction",
        )
    return d
