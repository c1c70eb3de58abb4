"""``kill -9`` of ``trail import --jobs 2`` leaves no sealing process and no hidden folder
(issue 23, item 20).

The sealing child was forked holding both ends of its pipe, so its parent's death never ended
the pipe for it: it lived on, with the hidden folder it was filling. It now closes the parent's
end, learns of the death (the end of the pipe; on Linux also a parent-death signal), and removes
the folder the dead parent was building.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness_audit.trail.note import Signer

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; fork and prctl are Linux's"
)


def _document(n: int) -> dict[str, object]:
    spans = [
        {
            "traceId": f"{i // 50 + 1:032x}",
            "spanId": f"{i + 1:016x}",
            "parentSpanId": "",
            "name": "execute_tool",
            "startTimeUnixNano": str(1_700_000_000_000_000_000 + i),
            "endTimeUnixNano": str(1_700_000_000_000_000_001 + i),
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}},
                {"key": "gen_ai.tool.name", "value": {"stringValue": "lookup"}},
            ],
        }
        for i in range(n)
    ]
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": spans}]}]}


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == pid:
                out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] != "Z"  # a zombie has ended


def test_kill_9_of_the_importer_ends_the_sealer_and_its_folder(tmp_path: Path) -> None:
    src = tmp_path / "spans.json"
    src.write_text(json.dumps(_document(40_000)))
    key = tmp_path / "k.key"
    key.write_text(Signer.generate("harness-audit/orphan").text())
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    parent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness_audit",
            "trail",
            "import",
            str(src),
            "--key",
            str(key),
            "--origin",
            "test/orphan",
            "-o",
            str(out),
            "--jobs",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    child = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and parent.poll() is None:
        kids = _children(parent.pid)
        if kids:
            child = kids[0]
            break
        time.sleep(0.005)
    assert child is not None, "the import ended before its sealing process was seen"
    os.kill(parent.pid, signal.SIGSTOP)  # caught mid-import, whatever the machine's speed
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    still = _alive(child)
    if still:
        os.kill(child, signal.SIGKILL)
    assert not still, "the sealing process lived on after its parent's kill -9"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert not out.exists()
