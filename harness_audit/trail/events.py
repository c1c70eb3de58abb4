"""Trail events (TRAIL.md) as msgspec structs: one decode validates types, required fields and
enumerations in C; ``encode`` gives the RFC 8785 form (fields sorted, compact, integers only).

The structs mirror ``schemas/trail-event.schema.json``; a test keeps the two in agreement.
Regular-expression constraints inside msgspec cost more per field than one pass per chunk
(bench/README.md, Trail verification), so the two patterns (``ts`` and 64 lowercase hex:
``prev``, ``hash`` and the digests) are checked by :func:`pattern_problem` with compiled
expressions instead.
"""

from __future__ import annotations

import re
from collections.abc import Container
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

U = Annotated[int, Meta(ge=0, le=2**53 - 1)]
BP = Annotated[int, Meta(ge=0, le=10_000)]

TS_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$"
HEX64_PATTERN = "^[0-9a-f]{64}$"
ZERO_HASH = "0" * 64
MAX_LINE = 1 << 20
"""The longest line a trail holds, in bytes without its newline (1 MiB): the one limit every
reader and writer of trail lines checks on every line (TRAIL.md). A writer refuses to write a
longer line; a reader never holds one whole: it reads it as a marker (a NUL byte and the
line's length; no JSON starts so), an unparseable line for the verifier."""
DIGEST_FIELDS = ("input_digest", "output_digest", "args_digest")
MARKERS = ("x_cost", "x_cost_estimated", "x_outcome", "x_verdict", "x_time", "x_agent_from")
"""The ``x_`` fields the structs name (an import's markers the judge reads), typed ``Any``."""
LINK_FIELDS = ("prev", "hash")

_ts_ok = re.compile(TS_PATTERN.replace("$", r"\Z")).match
_hex_ok = re.compile(HEX64_PATTERN.replace("$", r"\Z")).match


MAX_SAFE = 2**53 - 1
MARKER_DEPTH = 63
"""How deep arrays and objects may nest inside a field's value: 64 levels with the event's
own object (TRAIL.md section 2)."""


def value_problem(name: str, value: Any) -> str | None:
    """What breaks the rules of every field in the value of ``name`` (TRAIL.md section 3: a
    field beyond a kind's follows the same rules: integers only, within +-(2^53 - 1), 64
    levels deep with the event), or None. The ``x_`` markers the structs name
    (:data:`MARKERS`) are typed ``Any`` (the writer's own values), which the decoder takes
    with floats and big integers in them; :func:`pattern_problem` holds them to the rule
    every other field beyond the kind's is held to (the schema's ``integer_json``), outside
    the decoder as the patterns are (a hook there would cost every event)."""
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        x, depth = todo.pop()
        t = type(x)
        if t is str or t is bool or x is None:
            continue
        if t is int:
            if -MAX_SAFE <= x <= MAX_SAFE:
                continue
            return f"{name}: integer {str(x)[:30]} is beyond 2^53-1 (I-JSON)"
        if t is float:
            return f"{name}: the number {x!r} is not an integer (trail numbers are integers only)"
        if depth > MARKER_DEPTH:
            return f"{name}: arrays or objects nested more than 64 deep"
        if t is list:
            todo.extend((y, depth + 1) for y in x)
        elif t is dict:
            todo.extend((y, depth + 1) for y in x.values())
    return None


class Model(Struct, forbid_unknown_fields=True):
    """A model as events name it: provider, family and exact name."""

    provider: str
    family: str
    name: str


Kind = Literal[
    "run_start",
    "run_end",
    "model_call",
    "tool_call",
    "data_access",
    "decision",
    "verification",
    "approval_request",
    "approval",
    "spawn",
    "budget_check",
    "error",
]
Effect = Literal["read", "write", "destructive", "external", "unknown"]
ToolOutcome = Literal["ok", "error", "denied"]
AccessOutcome = Literal["allowed", "denied"]
Verdict = Literal["pass", "fail"]
ApprovalVerdict = Literal["approved", "rejected"]
BudgetOutcome = Literal["ok", "blocked"]
HUMAN_PREFIX = "human:"


class Event(Struct, tag_field="kind", kw_only=True, omit_defaults=True):
    """The fields every event carries (TRAIL.md); ``kind`` is the tag of the subclass."""

    kind: ClassVar[Kind]  # the tag, readable as an attribute
    v: Literal[1]
    seq: U
    ts: str
    run: str
    span: str
    parent: str | None
    agent: str
    prev: str
    hash: str
    # an import's marker (IMPORT.md): ``x_time: "unknown"`` when the source stated no time
    # for the event (its ``ts`` placed, ``x_time_placed`` says how): the judge takes it as no
    # evidence of coverage or timeliness (evidence/trails.py). ``Any``: an ``x_`` field never
    # makes an event invalid.
    x_time: Any = UNSET
    # ``collect``'s marker: the event was written before the agent span above it arrived, so
    # its ``agent`` is a stand-in (the service's or the root span's name), not an agent seen:
    # the judge takes it as no agent's evidence (evidence/judge.py, ``Judge.feed``)
    x_agent_from: Any = UNSET


class RunStart(Event, tag="run_start"):
    """A run of ``pipeline`` begins."""

    kind: ClassVar[Literal["run_start"]] = "run_start"
    pipeline: str


class RunEnd(Event, tag="run_end"):
    """A run ends with an ``outcome`` (a free word; ``blocked``, ``cancelled`` and ``denied``
    mean the harness stopped it)."""

    kind: ClassVar[Literal["run_end"]] = "run_end"
    pipeline: str
    outcome: str


class ModelCall(Event, tag="model_call"):
    """One model call: tokens and cost, optionally digests of input and output."""

    kind: ClassVar[Literal["model_call"]] = "model_call"
    model: Model
    input_tokens: U
    output_tokens: U
    cost_microusd: U
    input_digest: str | UnsetType = UNSET
    output_digest: str | UnsetType = UNSET
    # what the judge reads of an import's markers (IMPORT.md, "unknown is unknown"): a cost the
    # source did not state (``x_cost: "unknown"``, with ``cost_microusd`` 0 as the schema needs
    # a number) and a cost estimated rather than stated (``x_cost_estimated: true``). ``Any``:
    # an ``x_`` field is the writer's own and never makes an event invalid.
    x_cost: Any = UNSET
    x_cost_estimated: Any = UNSET

    @property
    def cost_unknown(self) -> bool:
        """The source did not state this call's cost (its ``cost_microusd`` is no amount)."""
        return bool(self.x_cost == "unknown")

    @property
    def cost_estimated(self) -> bool:
        """This call's cost is an estimate (from a price table or a total spread over calls)."""
        return self.x_cost_estimated is True


class ToolCall(Event, tag="tool_call"):
    """One tool call: its effect, scope and outcome (``denied`` when the harness refused it)."""

    kind: ClassVar[Literal["tool_call"]] = "tool_call"
    tool: str
    effect: Effect
    scope: str
    outcome: ToolOutcome
    target: str | UnsetType = UNSET
    args_digest: str | UnsetType = UNSET
    # an import's marker (IMPORT.md): ``x_outcome: "unknown"`` when the source did not state
    # the outcome (``outcome`` then says ``ok``: the call is judged as having run)
    x_outcome: Any = UNSET


class DataAccess(Event, tag="data_access"):
    """One read of a resource of a data class through a scope, allowed or denied."""

    kind: ClassVar[Literal["data_access"]] = "data_access"
    resource: str
    scope: str
    data_class: str
    outcome: AccessOutcome


class Decision(Event, tag="decision"):
    """A decision about a subject, with the evidence (spans) it cites."""

    kind: ClassVar[Literal["decision"]] = "decision"
    subject: str
    outcome: str
    rationale: str | UnsetType = UNSET
    evidence: list[str] | UnsetType = UNSET
    confidence_bp: BP | UnsetType = UNSET


HumanRef = Annotated[str, Meta(pattern="^human:.+$")]  # costs only when the model is a string


class Verification(Event, tag="verification"):
    """A verdict on the span ``target`` by a model or a ``human:<id>``."""

    kind: ClassVar[Literal["verification"]] = "verification"
    target: str
    verdict: Verdict
    model: Model | HumanRef
    args_digest: str | UnsetType = UNSET  # binds the verdict to the exact call it verified
    # an import's marker (IMPORT.md): ``x_verdict: "not_proven"`` on a score that is no verdict
    # either way (a numeric score with no pass rule); ``verdict`` then says ``fail``
    x_verdict: Any = UNSET

    @property
    def stated_verdict(self) -> str:
        """``pass``, ``fail``, or ``not_proven`` when the source stated no verdict."""
        return "not_proven" if self.x_verdict == "not_proven" else self.verdict


class ApprovalRequest(Event, tag="approval_request"):
    """A request for ``approver`` to approve the span ``target``."""

    kind: ClassVar[Literal["approval_request"]] = "approval_request"
    target: str
    approver: str
    args_digest: str | UnsetType = UNSET


class Approval(Event, tag="approval"):
    """An approver's verdict on the span ``target``, optionally bound to its ``args_digest``."""

    kind: ClassVar[Literal["approval"]] = "approval"
    target: str
    approver: str
    verdict: ApprovalVerdict
    args_digest: str | UnsetType = UNSET


class Spawn(Event, tag="spawn"):
    """A sub-agent ``child`` spawned at ``depth``."""

    kind: ClassVar[Literal["spawn"]] = "spawn"
    child: str
    depth: U


class BudgetCheck(Event, tag="budget_check"):
    """The harness compared spend with the cap: ok, or blocked."""

    kind: ClassVar[Literal["budget_check"]] = "budget_check"
    spent_microusd: U
    cap_microusd: U
    outcome: BudgetOutcome


class Error(Event, tag="error"):
    """Something failed; ``parent`` says what caused it."""

    kind: ClassVar[Literal["error"]] = "error"
    message: str


KINDS: tuple[type[Event], ...] = (
    RunStart,
    RunEnd,
    ModelCall,
    ToolCall,
    DataAccess,
    Decision,
    Verification,
    ApprovalRequest,
    Approval,
    Spawn,
    BudgetCheck,
    Error,
)
AnyEvent = (
    RunStart
    | RunEnd
    | ModelCall
    | ToolCall
    | DataAccess
    | Decision
    | Verification
    | ApprovalRequest
    | Approval
    | Spawn
    | BudgetCheck
    | Error
)
KIND_NAMES: tuple[str, ...] = tuple(str(k.__struct_config__.tag) for k in KINDS)

decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)

DECODE_ERRORS: tuple[type[Exception], ...] = (
    msgspec.ValidationError,
    msgspec.DecodeError,
    UnicodeDecodeError,
    RecursionError,
)
"""What decoding a line can raise: the line is not an event (bytes, JSON, schema, or nested
deeper than the decoder goes)."""
encoder = msgspec.json.Encoder(order="sorted")


def actor_of(agent: str, declared: Container[str]) -> str:
    """Who acted, from an event's ``agent``: ``human:<id>`` whose id is a declared agent is that
    agent (a person the manifest declares as an agent); anything else is itself (a declared
    agent, ``harness``, another ``human:<id>``, or an agent the manifest does not know).

    The one rule for every analysis of a trail: the evidence judge and the SLA observer."""
    if agent.startswith(HUMAN_PREFIX) and agent[len(HUMAN_PREFIX) :] in declared:
        return agent[len(HUMAN_PREFIX) :]
    return agent


def is_hex64(value: str) -> bool:
    """Whether ``value`` is 64 lowercase hex digits (a ``prev``, ``hash`` or digest)."""
    return _hex_ok(value) is not None


def pattern_problem(ev: Event, links: bool = True) -> str | None:
    """The schema's two patterns (``ts``; 64 lowercase hex for ``prev``, ``hash`` and the
    digests) and the rules of every field in the markers (:func:`value_problem`), checked
    outside the decoder (see module doc); ``links=False`` leaves out ``prev`` and ``hash``
    (sealing made them)."""
    for name in LINK_FIELDS if links else ():
        if not _hex_ok(getattr(ev, name)):
            return f"{name} is not 64 lowercase hex digits"
    if not _ts_ok(ev.ts):
        return f"ts {ev.ts[:40]!r} is not RFC 3339 UTC with Z"
    for name in DIGEST_FIELDS:
        value = getattr(ev, name, UNSET)
        if value is not UNSET and not _hex_ok(value):
            return f"{name} is not 64 lowercase hex digits"
    for name in MARKERS:
        value = getattr(ev, name, UNSET)
        if value is not UNSET and value is not None and type(value) not in (str, bool):
            problem = value_problem(name, value)
            if problem:
                return problem
    return None
