"""The pipeline manifest as frozen values (MANIFEST.md)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

Enforcement = Literal["harness", "prompt", "none"]
Effect = Literal["read", "write", "destructive", "external"]
Integrity = Literal["none", "hash_chain", "signed_checkpoints"]

WRITE_EFFECTS: frozenset[str] = frozenset({"write", "destructive", "external"})
DESTRUCTIVE_EFFECTS: frozenset[str] = frozenset({"destructive", "external"})


@dataclass(frozen=True, slots=True)
class Model:
    """An agent's model: the provider, the family and, optionally, the exact name."""

    provider: str
    family: str
    name: str | None = None

    @property
    def label(self) -> str:
        """``provider/family``: what reports show and independence is judged on."""
        return f"{self.provider}/{self.family}"


@dataclass(frozen=True, slots=True)
class Budget:
    """Caps on cost per run and on spawn depth, and what enforces them."""

    max_cost_usd_per_run: float | None = None
    max_spawn_depth: int | None = None
    enforced_by: Enforcement = "none"
    line: int = 0


@dataclass(frozen=True, slots=True)
class HumanGate:
    """Whether a tool waits for a person's approval, and who may give it."""

    required: bool = False
    approvers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool an agent holds: its effect, the scope it touches, its verifiers and its human gate."""

    name: str
    effect: Effect
    scope: str | None = None
    target: str | None = None
    verified_by: tuple[str, ...] = ()
    human_gate: HumanGate = HumanGate()
    line: int = 0


@dataclass(frozen=True, slots=True)
class Stage:
    """An agent's part in the reliability model: declared reliability, retries, timeout, fallbacks
    and their coverage, replicas and quorum."""

    reliability: float | None = None
    retries: int = 0
    timeout_s: float | None = None
    fallback: tuple[str, ...] = ()
    coverage: float = 1.0
    replicas: int | None = None
    quorum: int | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class Access:
    """The scopes an agent may reach, and where that limit is enforced."""

    enforced_at: Enforcement = "none"
    scopes: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True)
class Agent:
    """One agent as declared: its model (or a person), data flow, verification, spawns, tools,
    stage, access and budget."""

    id: str
    line: int
    role: str | None = None
    model: Model | None = None
    human: bool = False
    depends_on: tuple[str, ...] = ()
    verifies: tuple[str, ...] = ()
    spawns: tuple[str, ...] = ()
    max_iterations: int | None = None
    untrusted_input: bool = False
    stage: Stage | None = None
    access: Access | None = None
    budget: Budget | None = None
    tools: tuple[Tool, ...] = ()
    in_trail: bool = True

    @property
    def model_label(self) -> str:
        """``human`` for a person, else the model's ``provider/family``, or ``unknown`` if none."""
        if self.human:
            return "human"
        return self.model.label if self.model else "unknown"


@dataclass(frozen=True, slots=True)
class TrailConfig:
    """The declared audit trail: whether it is on, where, its integrity, key and retention."""

    enabled: bool = False
    path: str | None = None
    integrity: Integrity = "none"
    public_key: str | None = None
    retention_days: int | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class SharedDependency:
    """A service several agents rely on, and its availability: a factor in the compound."""

    name: str
    availability: float
    used_by: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True)
class Slo:
    """The pipeline's reliability target and the window, in days, it is measured over."""

    target: float | None = None
    window_days: float = 30.0
    line: int = 0


TscCategory = Literal[
    "security", "availability", "processing_integrity", "confidentiality", "privacy"
]
RiskClass = Literal["high", "limited", "minimal", "unclassified"]
AiActRole = Literal["provider", "deployer"]


@dataclass(frozen=True, slots=True)
class AiActClass:
    """The system's class under the EU AI Act as the manifest declares it: the risk class, the
    user's role(s) and, for a high-risk system, its Annex III point (``5(b)``)."""

    risk_class: RiskClass
    roles: tuple[AiActRole, ...] = ()
    annex_iii: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class Compliance:
    """What the pipeline's report is scoped to: the Trust Services categories (empty: not
    declared) and the EU AI Act classification (None: not classified)."""

    tsc: tuple[TscCategory, ...] = ()
    eu_ai_act: AiActClass | None = None
    line: int = 0


@dataclass(frozen=True)
class Pipeline:
    """One manifest as frozen values: the agents, SLO, budget, trail, shared dependencies and
    compliance scope, with the file and its SHA-256."""

    name: str
    file: str
    agents: tuple[Agent, ...]
    owner: str | None = None
    description: str | None = None
    data_classes: tuple[str, ...] = ()
    slo: Slo = Slo()
    budget: Budget | None = None
    trail: TrailConfig = TrailConfig()
    shared_dependencies: tuple[SharedDependency, ...] = ()
    compliance: Compliance = Compliance()
    sha256: str = ""
    lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    @cached_property
    def agent_map(self) -> dict[str, Agent]:
        """The agents by id."""
        return {a.id: a for a in self.agents}


Independence = Literal["independent", "same_provider", "not_independent", "self"]


def identity(text: str) -> str | None:
    """``text`` as identities are compared: NFKC, format characters (zero-width space, joiners,
    soft hyphen, BOM) removed, outer blanks stripped, case folded; ``None`` when what is left
    is not plain ASCII (a homoglyph such as U+2011 or a Cyrillic letter), which compares as
    nothing, so a look-alike can never make two models differ."""
    folded = (
        "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")
        .strip()
        .casefold()
    )
    return folded if folded.isascii() and folded else None


def independence(
    actor_id: str,
    actor: Model | None,
    actor_human: bool,
    verifier_id: str,
    verifier: Model | None,
    verifier_human: bool,
) -> Independence:
    """Whether a verifier is independent of the actor it checks (MANIFEST.md).

    A human verifier is always independent; the actor itself never is; otherwise family AND
    provider must differ, and same provider with another family passes with a warning.

    Ids, providers and families are compared by :func:`identity`, since trail events carry
    them as free text: ``openai\u200b`` is ``openai``, and a provider or family that is not
    ASCII once normalised (``gpt\u20114o``) fails closed, as not independent.
    """
    if verifier_id == actor_id or (identity(verifier_id) or verifier_id) == (
        identity(actor_id) or actor_id
    ):
        return "self"
    if verifier_human:
        return "independent"
    if actor_human:
        return "independent" if verifier is not None else "not_independent"
    if actor is None or verifier is None:
        return "not_independent"
    families = identity(actor.family), identity(verifier.family)
    providers = identity(actor.provider), identity(verifier.provider)
    if None in families or None in providers or families[0] == families[1]:
        return "not_independent"
    if providers[0] == providers[1]:
        return "same_provider"
    return "independent"
