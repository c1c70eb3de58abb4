"""Issue 13.8: an event whose append returned survives kill -9; one writer per folder."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness_audit.errors import TrailError
from harness_audit.trail import store as store_mod  # the writer syncs through its store
from harness_audit.trail.verify import verify_trail
from harness_audit.trail.writer import TrailWriter

from .trailkit import SIGNER, event

V = [SIGNER.verifier]
ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from tests.trailkit import SIGNER, event
    from harness_audit.trail.writer import TrailWriter

    folder, mode, seed = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    w = TrailWriter(folder, "harness-audit/test", SIGNER, checkpoint_every=7,
                    segment_bytes=6000)
    out = sys.stdout
    n = 0
    while True:
        if mode == "single":
            e = event(w.seq)
            e["span"] = f"x{w.seq}"
            written = w.append(e)
            out.write(f"{written['seq']}\\n")
        else:
            batch = []
            for i in range(w.seq, w.seq + 1 + (seed + n) % 9):
                e = event(i)
                e["span"] = f"x{i}"
                batch.append(e)
            done = w.append_many(batch)
            out.write("".join(f"{d['seq']}\\n" for d in done))
        out.flush()
        n += 1
""")


def spans(folder: Path) -> dict[int, str]:
    import json

    out = {}
    for seg in sorted(folder.glob("*.jsonl")):
        for line in seg.read_bytes().splitlines():
            ev = json.loads(line)
            out[ev["seq"]] = ev["span"]
    return out


@pytest.mark.parametrize("mode", ["single", "batch"])
def test_acknowledged_events_survive_sigkill(tmp_path: Path, mode: str) -> None:
    """Old code: events sat in the writer's buffer and 2-6 acknowledged ones were lost."""
    rng = random.Random(1308)
    folder = tmp_path / "t"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    acked: set[int] = set()
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    for round_ in range(6):
        child = subprocess.Popen(
            [sys.executable, str(script), str(folder), mode, str(round_)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        assert child.stdout is not None
        want = rng.randint(1, 120)
        seen = 0
        while seen < want:
            line = child.stdout.readline()
            if not line:
                break
            acked.add(int(line))
            seen += 1
        os.kill(child.pid, signal.SIGKILL)  # at a random point of an append
        rest = child.stdout.read()  # acknowledged before it died, not yet read here
        acked.update(int(x) for x in rest.split())
        child.wait()
        assert child.returncode == -signal.SIGKILL
    with TrailWriter(folder, "harness-audit/test", SIGNER):
        pass  # resume once more (a torn last line is put aside) and sign the end
    r = verify_trail([folder], V)
    assert r.status == "verified", [p.as_dict() for p in r.problems]
    present = spans(folder)
    missing = sorted(s for s in acked if present.get(s) != f"x{s}")
    assert not missing, f"acknowledged but lost: {missing}"
    assert acked and r.events >= max(acked) + 1


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    with TrailWriter(folder, "harness-audit/test", SIGNER) as w:
        w.append(event(0))
        with pytest.raises(TrailError, match="another trail writer") as e:
            TrailWriter(folder, "harness-audit/test", SIGNER)
        assert str(folder) in str(e.value)
        other = subprocess.run(  # and from another process
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; "
                "from harness_audit.trail.writer import TrailWriter\n"
                "try:\n    TrailWriter(Path(sys.argv[1]), 'o')\nexcept Exception as e:\n"
                "    print(type(e).__name__, e); sys.exit(3)",
                str(folder),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            check=False,
        )
        assert other.returncode == 3 and other.stdout.startswith("TrailError")
        w.append(event(1))
    with TrailWriter(folder, "harness-audit/test", SIGNER) as w2:  # released on close
        assert w2.seq == 2
    assert verify_trail([folder], V).status == "verified"


def test_a_writer_that_fails_to_resume_releases_the_lock(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "trail-000001.jsonl").write_bytes(b"not an event\n")
    with pytest.raises(TrailError):
        TrailWriter(folder, "harness-audit/test", SIGNER)
    (folder / "trail-000001.jsonl").unlink()
    TrailWriter(folder, "harness-audit/test", SIGNER).close()


def test_a_trail_whose_hash_is_not_lowercase_hex_is_not_resumed(tmp_path: Path) -> None:
    """Sealing takes the previous hash as it is; resuming is where it is checked."""
    folder = tmp_path / "t"
    with TrailWriter(folder, "harness-audit/test", SIGNER) as w:
        written = w.append(event(0))
    seg = sorted(folder.glob("*.jsonl"))[0]
    seg.write_bytes(
        seg.read_bytes().replace(written["hash"].encode(), written["hash"].upper().encode())
    )
    with pytest.raises(TrailError, match="cannot resume: seq 0: hash is not 64 lowercase hex"):
        TrailWriter(folder, "harness-audit/test", SIGNER)


def test_torn_lines_are_never_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    with TrailWriter(folder, "harness-audit/test", SIGNER) as w:
        w.append(event(0))
    seg = sorted(folder.glob("*.jsonl"))[0]
    for i, torn in enumerate([b'{"first', b'{"second', b'{"third']):
        with seg.open("ab") as f:
            f.write(torn)
        with TrailWriter(folder, "harness-audit/test", SIGNER) as w:
            w.append(event(i + 1))
    kept = {p.name: p.read_bytes() for p in folder.glob("*.torn*")}
    assert kept == {
        seg.name + ".torn": b'{"first',
        seg.name + ".torn.1": b'{"second',
        seg.name + ".torn.2": b'{"third',
    }
    assert verify_trail([folder], V).status == "verified"


def test_append_is_fsynced_and_a_batch_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs: list[int] = []
    real = store_mod._datasync
    monkeypatch.setattr(store_mod, "_datasync", lambda fd: (syncs.append(fd), real(fd)))
    w = TrailWriter(tmp_path / "t", "harness-audit/test", SIGNER, checkpoint_every=0)
    w.append(event(0))
    assert len(syncs) == 1
    written = w.append_many([event(i) for i in range(1, 11)])
    assert [e["seq"] for e in written] == list(range(1, 11)) and len(syncs) == 2
    with pytest.raises(TrailError, match="event 13"):  # all sealed first: nothing written
        w.append_many([event(11), event(12), {"kind": "nope"}])
    assert w.seq == 11
    w.close()
    assert verify_trail([tmp_path / "t"], V).events == 11


def test_not_durable_batches_until_flush(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syncs: list[int] = []
    monkeypatch.setattr(store_mod, "_datasync", lambda fd: syncs.append(fd))
    w = TrailWriter(tmp_path / "t", "harness-audit/test", SIGNER, checkpoint_every=0, durable=False)
    for i in range(5):
        w.append(event(i))
    assert syncs == []
    w.flush()
    w.flush()  # nothing new: no second fsync
    assert len(syncs) == 1
    w.close()


def test_each_writer_has_its_own_temporary_checkpoint(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    (folder).mkdir()
    (folder / "trail.checkpoint.tmp").mkdir()  # the old fixed name, taken
    with TrailWriter(folder, "harness-audit/test", SIGNER) as w:
        w.append(event(0))
    assert verify_trail([folder], V).status == "verified"
