"""The OTLP/HTTP trace receiver of ``harness-audit collect``, on aiohttp.

``POST /v1/traces`` with ``application/x-protobuf`` or ``application/json``, optionally
``Content-Encoding: gzip``. The answer is 200 (an empty ``ExportTraceServiceResponse``) only
after the request's events are written and fsynced; 400 with a short reason for a body that
is not OTLP, 413 over the size or span bounds, 415 for a type or encoding it does not read,
503 when the trail cannot be written (the OTLP exporters retry on 503). Errors carry a
``google.rpc.Status`` (protobuf or JSON, as the request was) whose message is a fixed reason,
never the body's content.

Decoding runs in one worker thread, mapping and writing in another, one request at a time each
(the trail has one writer), so the event loop keeps accepting while a batch is fsynced and a
request is decoded while the one before it is written. A request's work is linear in its
spans (:mod:`.stream`), so the wait behind one is bounded by the request limits.
:meth:`Receiver.stop` stops accepting, lets the requests in flight finish, then signs the
final checkpoint.
Nothing here prints: progress goes to the ``log`` callback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness_audit.capture.decode import (
    DEFAULT_MAX_DECODED_BYTES,
    DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_SPANS,
    Rejected,
    decode,
)
from harness_audit.capture.guard import Connections, QuietLog, backlog, default_cap
from harness_audit.capture.sink import InvalidBatch, TrailSink, Unavailable
from harness_audit.importers.base import ImportStats
from harness_audit.importers.spans import Span

DEFAULT_MAX_BODY_BYTES = 16 << 20
PATH = "/v1/traces"


class CannotListen(OSError):
    """The address cannot be bound (taken, or not ours)."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` as (host, port); ValueError when it is not one."""
    host, sep, port = value.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or not host:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:4318")
    p = int(port)
    if p > 65535:
        raise ValueError("the port is over 65535")
    return host.strip("[]"), p


def _status_pb(code: int, message: str) -> bytes:
    """A ``google.rpc.Status`` {code, message} in protobuf (two fields, encoded by hand:
    the OTLP packages do not ship the googleapis messages)."""
    msg = message.encode("utf-8")[:1000]

    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            b, n = n & 0x7F, n >> 7
            out.append(b | (0x80 if n else 0))
            if not n:
                return bytes(out)

    return b"\x08" + varint(code) + b"\x12" + varint(len(msg)) + msg


# INVALID_ARGUMENT, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE
_GRPC_CODE = {400: 3, 408: 4, 413: 8, 415: 3, 503: 14}


@dataclass
class Limits:
    """Bounds on one request: body bytes as sent, bytes once inflated, spans, items
    (attributes, values, events, links; in JSON every value), all counted before parsing."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES
    max_spans: int = DEFAULT_MAX_SPANS
    max_items: int = DEFAULT_MAX_ITEMS
    max_connections: int = 0
    """Open connections at most (0: 1,024, lowered to stay under the descriptor limit)."""
    idle_timeout: float = 60.0
    """A connection with no request in progress is closed this long after it opened or
    after its last response (so a request's headers must come within it)."""
    read_timeout: float = 60.0
    """A request's body must arrive within this (408 past it)."""
    max_pending: int = 8
    """Requests whose bodies are read and held at once (the others wait, unread)."""


class Receiver:
    """An OTLP/HTTP receiver sealing into ``sink``; :meth:`start` binds, :meth:`stop` ends."""

    def __init__(
        self,
        sink: TrailSink,
        host: str = "127.0.0.1",
        port: int = 4318,
        limits: Limits | None = None,
        log: Callable[[str], None] | None = None,
        progress_seconds: float = 10.0,
    ) -> None:
        self.sink = sink
        self.host, self.port = host, port
        self.limits = limits or Limits()
        self.log = log or (lambda _m: None)
        self.progress_seconds = progress_seconds
        self.refused: dict[int, int] = {}
        self.requests = 0
        # one writer (the trail has one), and one decoder beside it
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="collect")
        self._decoder = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="decode")
        self._runner: Any = None
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.address: tuple[str, int] | None = None
        self.connections = Connections(
            self.limits.max_connections or default_cap(), self.limits.idle_timeout
        )
        self.quiet = QuietLog(self.log)
        self._saved_logs: list[Any] = []
        self._pending: asyncio.Semaphore | None = None

    # -- HTTP --------------------------------------------------------------------------------

    def app(self) -> Any:
        """The aiohttp application (one route)."""
        from aiohttp import web

        app = web.Application(client_max_size=self.limits.max_body_bytes)
        app.router.add_post(PATH, self._handle)
        return app

    def _refuse(self, status: int, reason: str, protobuf: bool) -> Any:
        from aiohttp import web

        self.refused[status] = self.refused.get(status, 0) + 1
        code = _GRPC_CODE.get(status, 2)
        headers = {"Retry-After": "1"} if status == 503 else None
        if protobuf:
            return web.Response(
                status=status,
                body=_status_pb(code, reason),
                content_type="application/x-protobuf",
                headers=headers,
            )
        return web.json_response({"code": code, "message": reason}, status=status, headers=headers)

    async def _handle(self, request: Any) -> Any:
        conn = self.connections.begin(request.transport)
        try:
            assert self._pending is not None
            async with self._pending:  # bodies held at once are bounded
                return await self._handle_one(request)
        finally:
            self.connections.end(conn)

    async def _handle_one(self, request: Any) -> Any:
        from aiohttp import web

        self.requests += 1
        ctype = request.content_type
        protobuf = ctype != "application/json"
        size = request.content_length
        if size is not None and size > self.limits.max_body_bytes:
            return self._refuse(413, f"body over {self.limits.max_body_bytes} bytes", protobuf)
        try:
            async with asyncio.timeout(self.limits.read_timeout or None):
                body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(413, f"body over {self.limits.max_body_bytes} bytes", protobuf)
        except TimeoutError:
            resp = self._refuse(
                408, f"body not received in {self.limits.read_timeout:g} s", protobuf
            )
            resp.force_close()
            return resp
        encoding = request.headers.get("Content-Encoding", "")
        loop = asyncio.get_running_loop()
        try:
            # decoded on its own thread, so a request is decoded while another is written
            spans, stats = await loop.run_in_executor(
                self._decoder, self._decode, body, ctype, encoding
            )
            del body
            await loop.run_in_executor(self._pool, self._write, spans, stats)
        except Rejected as e:
            return self._refuse(e.status, e.reason, protobuf)
        except InvalidBatch:
            return self._refuse(400, "the spans map to an event the trail refuses", protobuf)
        except Unavailable as e:
            return self._refuse(503, str(e), protobuf)
        if protobuf:
            return web.Response(status=200, body=b"", content_type="application/x-protobuf")
        return web.Response(status=200, body=b"{}", content_type="application/json")

    def _decode(
        self, body: bytes, ctype: str, encoding: str
    ) -> tuple[list[tuple[str, Span]], ImportStats]:
        stats = ImportStats()  # this request's own: the writer thread merges it
        spans = decode(
            body,
            ctype,
            encoding,
            max_decoded_bytes=self.limits.max_decoded_bytes,
            max_spans=self.limits.max_spans,
            max_items=self.limits.max_items,
            stats=stats,
        )
        return spans, stats

    def _write(self, spans: list[tuple[str, Span]], stats: ImportStats) -> int:
        mine = self.sink.stats
        mine.records += stats.records
        mine.dropped.update(stats.dropped)
        for note in stats.notes:
            mine.note(note)
        return self.sink.write(spans)

    # -- life --------------------------------------------------------------------------------

    async def start(self) -> tuple[str, int]:
        """Bind and serve; return the bound (host, port) (port 0 picks a free one)."""
        from aiohttp import web

        loop = asyncio.get_running_loop()
        self._saved_logs = self.quiet.install()
        loop.set_exception_handler(self.quiet.loop_handler)
        self._pending = asyncio.Semaphore(max(1, self.limits.max_pending))
        self._runner = web.AppRunner(
            self.app(),
            auto_decompress=False,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=30.0,
            # aiohttp's own keep-alive close, past ours (the sweep closes idle ones first)
            keepalive_timeout=(self.limits.idle_timeout or 3600.0) + 5.0,
        )
        await self._runner.setup()
        try:  # every connection through the guard (no TCPSite: it takes aiohttp's factory)
            self._server = await loop.create_server(
                self.connections.factory(self._runner.server),
                self.host,
                self.port,
                backlog=backlog(),
                reuse_address=True,
            )
        except OSError as e:
            await self._runner.cleanup()
            self.quiet.uninstall(self._saved_logs)
            raise CannotListen(e.errno, e.strerror or str(e)) from None
        addr = self._server.sockets[0].getsockname()
        self.address = (str(addr[0]), int(addr[1]))
        self._tasks.append(asyncio.create_task(self._ticker()))
        self._tasks.append(asyncio.create_task(self._sweeper()))
        return self.address

    async def _sweeper(self) -> None:
        step = min(1.0, max(0.05, (self.limits.idle_timeout or 1.0) / 4))
        while True:
            await asyncio.sleep(step)
            self.connections.sweep()

    async def _ticker(self) -> None:
        loop = asyncio.get_running_loop()
        last_progress = time.monotonic()
        shown = (0, self.sink.seq)
        while True:
            await asyncio.sleep(min(1.0, self.sink.checkpoint_seconds or 1.0))
            await loop.run_in_executor(self._pool, self.sink.tick)
            if self.progress_seconds and time.monotonic() - last_progress >= self.progress_seconds:
                last_progress = time.monotonic()
                now = (self.requests, self.sink.seq)
                if now != shown:
                    shown = now
                    self.log(self.progress())

    def progress(self) -> str:
        """One line of counters."""
        c = self.sink.counters
        elapsed = max(time.monotonic() - c.started, 1e-9)
        refused = ", ".join(f"{n} x {s}" for s, n in sorted(self.refused.items())) or "none"
        m = self.sink.mapper
        line = (
            f"{self.requests:,} requests, {c.spans:,} spans -> {c.events:,} events "
            f"(trail size {self.sink.seq:,}), {c.spans / elapsed:,.0f} spans/s, "
            f"{c.checkpoints:,} checkpoints, refused: {refused}, "
            f"open traces: {len(m.open):,} ({m.open_spans:,} spans)"
        )
        if m.flushed:
            line += ", let go: " + ", ".join(f"{n:,} {why}" for why, n in sorted(m.flushed.items()))
        line += "; " + self.connections.describe()
        if self.sink.error:
            line += f"; {self.sink.error}"
        return line

    async def stop(self) -> None:
        """Stop accepting, finish the requests in flight, sign the final checkpoint."""
        for t in self._tasks:
            t.cancel()
        if self._server is not None:
            self._server.close()  # no new connection; those open finish their request
        if self._runner is not None:
            await self._runner.cleanup()
        if self._server is not None:
            for g in list(self.connections.open):
                if g.transport is not None:
                    g.transport.abort()
        self.quiet.uninstall(self._saved_logs)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, self.sink.close)
        self._pool.shutdown(wait=True)
        self._decoder.shutdown(wait=True)


async def serve(
    receiver: Receiver,
    stop: asyncio.Event,
    on_bound: Callable[[tuple[str, int]], None] | None = None,
) -> None:
    """Run ``receiver`` until ``stop`` is set, then stop it cleanly."""
    address = await receiver.start()
    if on_bound is not None:
        on_bound(address)
    try:
        await stop.wait()
    finally:
        await receiver.stop()
