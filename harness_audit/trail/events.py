"""Trail events (TRAIL.md) as msgspec structs: one decode validates types, required fields and
enumerations in C; ``encode`` gives the RFC 8785 form (fields sorted, compact, integers only).

The structs mirror ``schemas/trail-event.schema.json``; a test keeps the two in agreement.
Regular-expression constraints cost ~0.5 µs each inside msgspec, so the two patterns (``ts`` and
hex digests) are checked by :func:`pattern_problem` with compiled expressions instead.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

U = Annotated[int, Meta(ge=0, le=2**53 - 1)]
BP = Annotated[int, Meta(ge=0, le=10_000)]

TS_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$"
HEX64_PATTERN = "^[0-9a-f]{64}$"
ZERO_HASH = "0" * 64
DIGEST_FIELDS = ("input_digest", "output_digest", "args_digest")

_ts_ok = re.compile(TS_PATTERN.replace("$", r"\Z")).match
_hex_ok = re.compile(HEX64_PATTERN.replace("$", r"\Z")).match


class Model(Struct, forbid_unknown_fields=True):
    provider: str
    family: str
    name: str


class Event(Struct, tag_field="kind", kw_only=True, omit_defaults=True):
    kind: ClassVar[str]  # the tag, readable as an attribute
    v: Literal[1]
    seq: U
    ts: str
    run: str
    span: str
    parent: str | None
    agent: str
    prev: str
    hash: str


class RunStart(Event, tag="run_start"):
    kind: ClassVar[str] = "run_start"
    pipeline: str


class RunEnd(Event, tag="run_end"):
    kind: ClassVar[str] = "run_end"
    pipeline: str
    outcome: str


class ModelCall(Event, tag="model_call"):
    kind: ClassVar[str] = "model_call"
    model: Model
    input_tokens: U
    output_tokens: U
    cost_microusd: U
    input_digest: str | UnsetType = UNSET
    output_digest: str | UnsetType = UNSET


class ToolCall(Event, tag="tool_call"):
    kind: ClassVar[str] = "tool_call"
    tool: str
    effect: Literal["read", "write", "destructive", "external", "unknown"]
    scope: str
    outcome: Literal["ok", "error", "denied"]
    target: str | UnsetType = UNSET
    args_digest: str | UnsetType = UNSET


class DataAccess(Event, tag="data_access"):
    kind: ClassVar[str] = "data_access"
    resource: str
    scope: str
    data_class: str
    outcome: Literal["allowed", "denied"]


class Decision(Event, tag="decision"):
    kind: ClassVar[str] = "decision"
    subject: str
    outcome: str
    rationale: str | UnsetType = UNSET
    evidence: list[str] | UnsetType = UNSET
    confidence_bp: BP | UnsetType = UNSET


HumanRef = Annotated[str, Meta(pattern="^human:.+$")]  # costs only when the model is a string


class Verification(Event, tag="verification"):
    kind: ClassVar[str] = "verification"
    target: str
    verdict: Literal["pass", "fail"]
    model: Model | HumanRef


class ApprovalRequest(Event, tag="approval_request"):
    kind: ClassVar[str] = "approval_request"
    target: str
    approver: str
    args_digest: str | UnsetType = UNSET


class Approval(Event, tag="approval"):
    kind: ClassVar[str] = "approval"
    target: str
    approver: str
    verdict: Literal["approved", "rejected"]
    args_digest: str | UnsetType = UNSET


class Spawn(Event, tag="spawn"):
    kind: ClassVar[str] = "spawn"
    child: str
    depth: U


class BudgetCheck(Event, tag="budget_check"):
    kind: ClassVar[str] = "budget_check"
    spent_microusd: U
    cap_microusd: U
    outcome: Literal["ok", "blocked"]


class Error(Event, tag="error"):
    kind: ClassVar[str] = "error"
    message: str


KINDS: tuple[type[Event], ...] = (RunStart, RunEnd, ModelCall, ToolCall, DataAccess, Decision,
                                  Verification, ApprovalRequest, Approval, Spawn, BudgetCheck,
                                  Error)
AnyEvent = (RunStart | RunEnd | ModelCall | ToolCall | DataAccess | Decision | Verification
            | ApprovalRequest | Approval | Spawn | BudgetCheck | Error)
KIND_NAMES: tuple[str, ...] = tuple(str(k.__struct_config__.tag) for k in KINDS)

decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(AnyEvent)
encoder = msgspec.json.Encoder(order="sorted")


def pattern_problem(ev: Event) -> str | None:
    """The schema's two patterns, checked outside the decoder (see module doc)."""
    if not _ts_ok(ev.ts):
        return f"ts {ev.ts[:40]!r} is not RFC 3339 UTC with Z"
    for name in DIGEST_FIELDS:
        value = getattr(ev, name, UNSET)
        if value is not UNSET and not _hex_ok(value):
            return f"{name} is not 64 lowercase hex digits"
    return None

