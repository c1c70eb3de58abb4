"""Helpers for the capture tests: keys, a `collect` subprocess on an ephemeral loopback port,
GenAI-shaped spans from the real OpenTelemetry SDK, reading a trail back."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness_audit.trail.note import Signer

ROOT = Path(__file__).resolve().parents[1]


def keys(tmp: Path, name: str = "collector") -> tuple[Path, Path]:
    s = Signer.generate(name)
    key, pub = tmp / f"{name}.key", tmp / f"{name}.pub"
    key.write_text(s.text() + "\n")
    pub.write_text(s.verifier.text() + "\n")
    return key, pub


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


class Collect:
    """`harness-audit collect` in a subprocess; `port` once it listens."""

    def __init__(
        self,
        out: Path,
        key: Path,
        *extra: str,
        origin: str = "test/collect",
        rlimits: dict[int, int] | None = None,
        stderr_dir: Path | None = None,
    ) -> None:
        """``rlimits``: resource limits the receiver runs under (RLIMIT_* -> soft and hard)."""
        self.err = (stderr_dir or out.parent) / f"{out.name}.stderr.{time.monotonic_ns()}"
        self.errf = self.err.open("wb")

        def limit() -> None:
            for which, value in (rlimits or {}).items():
                resource.setrlimit(which, (value, value))

        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness_audit",
                "collect",
                "--listen",
                "127.0.0.1:0",
                "--key",
                str(key),
                "--origin",
                origin,
                "-o",
                str(out),
                "--progress-seconds",
                "0",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.errf,
            env=env(),
            cwd=ROOT,
            preexec_fn=limit if rlimits else None,
        )
        self.port = self._wait_port()

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def status(self, field: str) -> int:
        """A field of /proc/PID/status in bytes (VmHWM: peak RSS, VmRSS: RSS now)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def fds(self) -> int:
        """Descriptors the receiver has open."""
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def cpu_ticks(self) -> int:
        """User and system CPU ticks the receiver has used."""
        parts = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])

    def _wait_port(self, timeout: float = 20.0) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", self.stderr())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise AssertionError(f"collect exited {self.proc.returncode}: {self.stderr()}")
            time.sleep(0.05)
        raise AssertionError("collect did not start: " + self.stderr())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/traces"

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(30)
        self.errf.close()
        return rc

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL
        self.proc.wait(30)
        self.errf.close()


def events(folder: Path) -> list[dict[str, Any]]:
    out = []
    for seg in sorted(folder.glob("trail-*.jsonl")):
        out += [json.loads(line) for line in seg.read_text().splitlines()]
    return out


def agent_run(tracer: Any, i: int = 0, *, fail_tool: bool = False) -> None:
    """One GenAI agent run: planner (chat, spawns web_researcher: chat + two tool calls)."""
    from opentelemetry.trace import Status, StatusCode

    with tracer.start_as_current_span(
        "invoke_agent planner",
        attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"},
    ):
        with tracer.start_as_current_span(
            "chat o3",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "o3-2025-04-16",
                "gen_ai.usage.input_tokens": 100 + i,
                "gen_ai.usage.output_tokens": 20,
            },
        ):
            pass
        with tracer.start_as_current_span(
            "invoke_agent web_researcher",
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "web_researcher",
            },
        ):
            with tracer.start_as_current_span(
                "chat gemini",
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "gcp.gemini",
                    "gen_ai.request.model": "gemini-2.5-flash",
                    "gen_ai.usage.input_tokens": 50,
                    "gen_ai.usage.output_tokens": 10,
                },
            ):
                pass
            with tracer.start_as_current_span(
                "execute_tool web_search",
                attributes={
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "web_search",
                },
            ):
                pass
            with tracer.start_as_current_span(
                "execute_tool fetch_page",
                attributes={
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "fetch_page",
                },
            ) as s:
                if fail_tool:
                    s.set_status(Status(StatusCode.ERROR))


SPANS_PER_RUN = 6
EVENTS_PER_RUN = 7  # run_start, 2 model calls, spawn, 2 tool calls, run_end


def verify(folder: Path, pub: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness_audit", "verify", str(folder), "--key", str(pub)],
        capture_output=True,
        text=True,
        env=env(),
        cwd=ROOT,
        timeout=60,
    )
