"""Periods as shards (issue 27, item 4): a seven-year trail as many bounded trees, chained.

A **sharded trail** is a folder (or ``s3://`` prefix) whose trail lives in one sub-folder per
period, each an ordinary trail folder (segments, ``trail.checkpoint``, ``checkpoints/``) that
every command reads on its own::

    trail/2026-11/trail-000001.jsonl  trail/2026-11/checkpoints/...
    trail/2026-12/trail-000001.jsonl  trail/2026-12/checkpoints/...

A period is a month (``YYYY-MM``) or a quarter (``YYYY-Qn``) of the writer's clock, the time of
sealing. Each shard is its own log, as Rekor v2's yearly shards are: its own origin
(``<origin>/<period>``), ``seq`` from 0, ``prev`` of its first event 64 zeros. When the clock
enters a later period, the writer signs the shard's final checkpoint, opens the next shard and
puts on every checkpoint of the new shard a C2SP tlog-checkpoint extension line naming that
final checkpoint::

    harness-audit-previous <size> <root, base64> <origin>

So the shards form a chain that the signatures hold: :func:`verify_chain` verifies every shard
(each alone, as ``verify`` does) and checks each link: the shard before is there (else
``missing_shard``), the shards are in their order and each folder holds its own period
(``shard_order``), the link names the previous shard's whole tree, size and root
(``shard_link``), and the key that signs a shard is the one that signed the shard before, or a
handover (``trail rotate-key``) records the change (``shard_key``).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness_audit.errors import Diagnostic, TrailError, UsageError

__all__ = [
    "PERIODS",
    "PREVIOUS",
    "Link",
    "ShardResult",
    "is_sharded",
    "link_line",
    "period_of",
    "read_link",
    "shard_folders",
    "shards_of",
    "verify_chain",
]

PERIODS = ("month", "quarter")
"""The periods a writer can roll on."""

PREVIOUS = "harness-audit-previous"
"""The extension line of a shard's checkpoints that names the previous shard's final one."""

SHARD_NAME = re.compile(r"\d{4}-(?:0[1-9]|1[0-2]|Q[1-4])")
"""The name of a shard folder: its period."""


def check_period(kind: str) -> str:
    """``kind`` when it is a period a writer rolls on, else a :class:`UsageError`."""
    if kind not in PERIODS:
        raise UsageError(
            Diagnostic("--shard", f"{kind!r} is not a period", expected=" or ".join(PERIODS))
        )
    return kind


def period_of(t: dt.datetime, kind: str) -> str:
    """The period (shard name) of the time ``t`` (UTC): ``YYYY-MM`` or ``YYYY-Qn``."""
    t = t.astimezone(dt.UTC) if t.tzinfo else t
    if kind == "month":
        return f"{t.year:04d}-{t.month:02d}"
    return f"{t.year:04d}-Q{(t.month - 1) // 3 + 1}"


def shard_origin(origin: str, period: str) -> str:
    """The origin of a shard: the trail's origin and its period."""
    return f"{origin}/{period}"


@dataclass(frozen=True, slots=True)
class Link:
    """What a shard's checkpoint says of the previous shard's final checkpoint."""

    size: int
    root: bytes
    origin: str


def link_line(origin: str, size: int, root: bytes) -> str:
    """The extension line naming a final checkpoint (:data:`PREVIOUS`)."""
    return f"{PREVIOUS} {size} {base64.b64encode(root).decode()} {origin}"


def read_link(extensions: Sequence[str]) -> Link | None:
    """The first well-formed :data:`PREVIOUS` line of a checkpoint's extension lines."""
    for ext in extensions:
        word, _, rest = ext.partition(" ")
        if word != PREVIOUS:
            continue
        parts = rest.split(" ", 2)
        if len(parts) != 3 or not parts[0].isdigit() or not parts[2]:
            continue
        try:
            root = base64.b64decode(parts[1], validate=True)
        except ValueError:
            continue
        if len(root) == 32:
            return Link(int(parts[0]), root, parts[2])
    return None


def link_of_note(data: bytes) -> str | None:
    """The :data:`PREVIOUS` line naming the checkpoint ``data`` (a signed note), or None when it
    is not one."""
    from harness_audit.trail.note import Checkpoint, NoteError, parse_note

    try:
        cp = Checkpoint.parse(parse_note(data).text)
    except NoteError:
        return None
    return link_line(cp.origin, cp.size, cp.root)


def shard_folders(root: Path) -> list[Path]:
    """The shard folders of a sharded trail, in period order: a local folder's sub-folders
    named by a period, or an ``s3://`` prefix's (``s3:/bucket/prefix/<period>``)."""
    from harness_audit.trail.store import url_of

    url = url_of(root)
    if url is not None:
        return [Path(f"{url.rstrip('/')}/{name}") for name in _s3_shards(url)]
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and SHARD_NAME.fullmatch(p.name))
    except OSError:
        return []


def _s3_shards(url: str) -> list[str]:
    """The periods with segments directly under an ``s3://`` prefix (none when the prefix
    holds segments of its own: an unsharded trail). One listing."""
    from harness_audit.trail.s3store import S3Store

    store = S3Store(url)
    base = store._k("")
    names: set[str] = set()
    for key in store.objects():
        rest = key[len(base) :].lstrip("/") if base else key
        parts = rest.split("/")
        if len(parts) == 1 and rest.endswith(".jsonl"):
            return []
        if len(parts) == 2 and SHARD_NAME.fullmatch(parts[0]) and parts[1].endswith(".jsonl"):
            names.add(parts[0])
    return sorted(names)


def shards_of(path: Path) -> list[Path]:
    """A sharded trail's shard folders in period order (:func:`shard_folders`); [] for a
    folder (or ``s3://`` prefix) that holds segments of its own, or any other path. One
    listing, for an ``s3://`` prefix too."""
    from harness_audit.trail.store import url_of

    url = url_of(path)
    if url is not None:
        return [] if url.endswith(".jsonl") else shard_folders(path)
    if not path.is_dir():
        return []
    if any(p.suffix == ".jsonl" and p.is_file() for p in path.iterdir()):
        return []
    return shard_folders(path)


def is_sharded(path: Path) -> bool:
    """A folder (or ``s3://`` prefix) that holds no segment of its own but shard folders."""
    return bool(shards_of(path))


def sharded_error(root: Path) -> TrailError:
    """The error of a command that reads one trail, given a sharded trail's root."""
    from harness_audit.trail.store import url_of

    names = [p.name for p in shard_folders(root)]
    root = Path(url_of(root) or root)
    shown = f"{names[0]} ... {names[-1]}" if len(names) > 1 else names[0]
    return TrailError(
        Diagnostic(
            str(root),
            f"is a sharded trail ({len(names)} shard(s): {shown}); `verify {root}` follows "
            f"the chain of its shards; this command reads one shard, e.g. {root / names[-1]}",
        )
    )


# --- the chain across shards ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShardResult:
    """One shard of a sharded trail as verified: its folder, status, events, what anchors it,
    and the previous shard its anchor names."""

    name: str
    folder: str
    status: str
    events: int
    origin: str | None
    anchor_size: int | None
    key: str | None
    previous: Link | None

    def as_dict(self) -> dict[str, object]:
        """The JSON form (``shards`` of ``verify --format json``)."""
        prev = self.previous
        return {
            "shard": self.name,
            "folder": self.folder,
            "status": self.status,
            "events": self.events,
            "origin": self.origin,
            "anchor_size": self.anchor_size,
            "key": self.key,
            "previous": (
                {
                    "origin": prev.origin,
                    "size": prev.size,
                    "root": base64.b64encode(prev.root).decode(),
                }
                if prev
                else None
            ),
        }


def _shard_named(checkpoint: Path, names: Sequence[str]) -> str | None:
    """The shard (of ``names``) whose origin the checkpoint file names, if any."""
    from harness_audit._fs import read_bounded
    from harness_audit.errors import HarnessAuditError
    from harness_audit.trail.note import MAX_NOTE_BYTES, Checkpoint, NoteError, parse_note

    try:
        note = parse_note(read_bounded(checkpoint, MAX_NOTE_BYTES, "checkpoint"))
        origin = Checkpoint.parse(note.text).origin
    except (NoteError, HarnessAuditError):
        return None
    return next((n for n in names if origin.endswith("/" + n)), None)


def _anchor_link(file: str) -> Link | None:
    from harness_audit._fs import read_bounded
    from harness_audit.errors import HarnessAuditError
    from harness_audit.trail.checkpoints import local_copy
    from harness_audit.trail.note import MAX_NOTE_BYTES, Checkpoint, NoteError, parse_note

    try:
        note = parse_note(read_bounded(local_copy(file), MAX_NOTE_BYTES, "checkpoint"))
        return read_link(Checkpoint.parse(note.text).extensions)
    except (NoteError, HarnessAuditError):
        return None


def _signs(key_text: str, file: str) -> bool:
    """Whether the key (verifier text) signed the checkpoint ``file``."""
    from harness_audit._fs import read_bounded
    from harness_audit.errors import HarnessAuditError
    from harness_audit.trail.checkpoints import local_copy
    from harness_audit.trail.note import MAX_NOTE_BYTES, NoteError, Verifier, verify_note

    try:
        verify_note(
            read_bounded(local_copy(file), MAX_NOTE_BYTES, "checkpoint"),
            [Verifier.parse(key_text)],
        )
    except (NoteError, HarnessAuditError, ValueError):
        return False
    return True


def _handed_over(folder: Path, key_text: str, previous_file: str) -> bool:
    """Whether a checkpoint of the shard ``folder`` signed by ``key_text`` is a handover
    (``trail rotate-key``) from a key that signed the previous shard's final checkpoint."""
    from harness_audit.trail.checkpoints import _handover, default_checkpoints, read_checkpoint
    from harness_audit.trail.note import Verifier

    try:
        key = Verifier.parse(key_text)
    except ValueError:
        return False
    for c in default_checkpoints([folder], []):
        old = _handover(read_checkpoint(c, [key]))
        if old is not None and _signs(old.text(), previous_file):
            return True
    return False


def verify_chain(
    root: Path,
    trust: object,
    jobs: int = 1,
    allow_unanchored: bool = False,
    progress: Callable[[int], None] | None = None,
    sealed_late_after_s: float | None = None,
) -> object:
    """Verify a sharded trail: every shard as ``verify`` does (the trusted state and the
    checkpoints given go to the newest shard, whose origin they name), then every link of the
    chain (module doc); one :class:`~harness_audit.trail.verify.VerifyReport` of the whole,
    its ``shards`` the shards in order, its anchor the newest shard's."""
    from harness_audit.trail.problem import Problem
    from harness_audit.trail.provenance import DEFAULT_SEALED_LATE_S
    from harness_audit.trail.store import name_of
    from harness_audit.trail.verify import VerifyReport, verify_trail
    from harness_audit.trust import TrustRoot

    assert isinstance(trust, TrustRoot)
    late = DEFAULT_SEALED_LATE_S if sealed_late_after_s is None else sealed_late_after_s
    folders = shard_folders(root)
    # the checkpoints given and the trusted state each go to the shard whose origin they name
    # (one that names none here: the newest shard, which reports it)
    names = [f.name for f in folders]
    given: dict[str, list[Path]] = {n: [] for n in names}
    for c in trust.checkpoints:
        given[_shard_named(c, names) or names[-1]].append(c)
    state_at = _shard_named(trust.trusted_state, names) if trust.trusted_state else None
    problems: list[Problem] = []
    if trust.trusted_state and state_at is None:
        problems.append(
            Problem(
                "rollback",
                str(trust.trusted_state),
                None,
                None,
                "the trusted state names a shard that is not here (its period's shard was "
                "removed, or the state is of another trail)",
            )
        )
    reports = [
        verify_trail(
            [f],
            dataclasses.replace(
                trust,
                checkpoints=tuple(given[f.name]),
                trusted_state=trust.trusted_state if f.name == state_at else None,
            ),
            jobs,
            allow_unanchored,
            progress,
            late,
        )
        for f in folders
    ]
    problems += [p for r in reports for p in r.problems]
    results: list[ShardResult] = []
    origins = {}
    for f, r in zip(folders, reports, strict=True):
        link = _anchor_link(r.anchor.file) if r.anchor else None
        results.append(
            ShardResult(
                f.name,
                name_of(f),
                r.status,
                r.events,
                r.anchor.origin if r.anchor else None,
                r.anchor.size if r.anchor else None,
                r.anchor.key if r.anchor else None,
                link,
            )
        )
        if r.anchor:
            origins[r.anchor.origin] = f.name

    def bad(kind: str, where: Path, detail: str) -> None:
        problems.append(Problem(kind, name_of(where), None, None, detail))  # type: ignore[arg-type]

    for i, (f, r, s) in enumerate(zip(folders, reports, results, strict=True)):
        if r.anchor is None:
            if i == len(folders) - 1:
                continue  # the newest shard, not signed yet: its own status says so
            bad(
                "shard_link",
                f,
                f"shard {f.name}: nothing anchors it (no trusted checkpoint), so its place "
                "in the chain cannot be checked",
            )
            continue
        if not r.anchor.origin.endswith("/" + f.name):
            bad(
                "shard_order",
                f,
                f"the folder {f.name} holds the shard of origin {r.anchor.origin}: shards "
                "renamed or moved out of their order",
            )
        link = s.previous
        prev = results[i - 1] if i else None
        if link is None:
            if prev is not None:
                bad(
                    "shard_link",
                    f,
                    f"shard {f.name} names no previous shard, but {prev.name} comes before it "
                    "(the chain was restarted, or a shard put in)",
                )
            continue
        if prev is None or link.origin != prev.origin:
            if link.origin in origins and (prev is None or origins[link.origin] != prev.name):
                bad(
                    "shard_order",
                    f,
                    f"shard {f.name} follows {origins[link.origin]} (its checkpoint names "
                    f"{link.origin}), not "
                    + (prev.name if prev else "nothing: it is the first here")
                    + ": the shards are out of order",
                )
            else:
                bad(
                    "missing_shard",
                    f,
                    f"shard {f.name} follows the shard of origin {link.origin} (tree size "
                    f"{link.size:,}), which is not here"
                    + (f" (the shard before it here is {prev.name})" if prev else ""),
                )
            continue
        before = reports[i - 1]
        if link.size != before.events or link.root != before.root:
            what = (
                f"{before.events:,} events"
                if link.size != before.events
                else "a different root at that size"
            )
            bad(
                "shard_link",
                f,
                f"shard {f.name} names the final checkpoint of {prev.name} as tree size "
                f"{link.size:,}, root {base64.b64encode(link.root).decode()}, but {prev.name} "
                f"holds {what}: the previous shard was rewritten, cut or added to after the "
                "roll",
            )
        if prev.key and s.key and prev.key != s.key:
            assert before.anchor is not None
            if not (
                _signs(s.key, before.anchor.file)
                or _handed_over(f, s.key, before.anchor.file)
                or _handed_over(folders[i - 1], s.key, before.anchor.file)
            ):
                bad(
                    "shard_key",
                    f,
                    f"shard {f.name} is signed by {s.key.split('+')[0]}, {prev.name} by "
                    f"{prev.key.split('+')[0]}, and no handover (trail rotate-key) records "
                    "the change",
                )
    last = reports[-1]
    return VerifyReport(
        files=[x for r in reports for x in r.files],
        events=sum(r.events for r in reports),
        size=sum(r.size for r in reports),
        problems=problems,
        dropped=sum(r.dropped for r in reports),
        anchor=last.anchor,
        checkpoints_found=sum(r.checkpoints_found for r in reports),
        checkpoints_valid=sum(r.checkpoints_valid for r in reports),
        root=last.root,
        allow_unanchored=allow_unanchored,
        witness_quorum=last.witness_quorum,
        provenance=last.provenance,
        shards=tuple(results),
    )
