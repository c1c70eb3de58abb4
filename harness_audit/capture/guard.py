"""The receiver's connections, bounded: a cap below the descriptor limit, an idle timeout
that is also the header timeout, and quiet logs.

Idle connections held up to the file-descriptor limit used to wedge ``collect``: every
``accept`` then failed with EMFILE, asyncio logged a traceback for each (many a second) and
retried, and no request got in. Here every connection goes through a :class:`Guard`
(a protocol around aiohttp's own), counted by :class:`Connections`:

- at most :attr:`Connections.cap` connections (by default below the descriptor limit, so
  ``accept`` never runs out); at the cap, a new connection closes the one idle for the
  longest (no request in progress), or is itself closed when every one is busy;
- a connection with no request in progress is closed ``idle_timeout`` seconds after it
  opened or after its last response, whatever it sent meanwhile: a client that connects and
  says nothing, or trickles a header, holds its descriptor that long at most;
- what asyncio and aiohttp would log (tracebacks that can quote request bytes) becomes one
  short line per kind of event and minute, with no request byte and no traceback
  (:class:`QuietLog`); everything is counted.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from typing import Any

RESERVED_FDS = 64
"""Descriptors kept for the trail (segments, checkpoints, the lock) and the process."""


def _soft_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 20 if soft == resource.RLIM_INFINITY else soft


def backlog() -> int:
    """The listen backlog, which is also how many connections asyncio accepts at once before
    any is admitted: at most 128, and an eighth of the descriptor limit."""
    return min(128, max(8, _soft_limit() // 8))


def default_cap(wanted: int = 1024) -> int:
    """``wanted``, lowered so that the cap, one burst of accepts (:func:`backlog`) and
    :data:`RESERVED_FDS` stay under the descriptor limit: ``accept`` never runs out."""
    room = _soft_limit() - backlog() - RESERVED_FDS
    return max(1, min(wanted, room if room > 0 else _soft_limit() // 4))


class Guard(asyncio.Protocol):
    """One connection: aiohttp's protocol, counted, and closed when idle too long."""

    def __init__(self, owner: Connections, inner: Any) -> None:
        self.owner = owner
        self.inner: Any = inner
        self.transport: Any = None
        self.since = time.monotonic()  # when it last became idle
        self.busy = 0  # requests in progress

    def connection_made(self, transport: Any) -> None:
        """Admit the connection (or close it at the cap), then hand it to aiohttp."""
        self.transport = transport
        if not self.owner.admit(self):
            self.inner = None
            transport.abort()
            return
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        """To aiohttp."""
        if self.inner is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        """To aiohttp."""
        if self.inner is not None:
            result: bool | None = self.inner.eof_received()
            return result
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        """Uncount it, then to aiohttp."""
        self.owner.lost(self)
        inner, self.inner = self.inner, None
        if inner is not None:
            inner.connection_lost(exc)

    def pause_writing(self) -> None:
        """To aiohttp."""
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        """To aiohttp."""
        if self.inner is not None:
            self.inner.resume_writing()


class Connections:
    """The open connections (see the module doc): ``cap``, ``idle_timeout`` in seconds."""

    def __init__(self, cap: int, idle_timeout: float) -> None:
        self.cap = cap
        self.idle_timeout = idle_timeout
        self.open: dict[Guard, None] = {}  # in the order they were admitted
        self.by_transport: dict[Any, Guard] = {}
        self.refused = 0  # closed at once: the cap was reached and none was idle
        self.evicted = 0  # closed, idle, to make room for a new one
        self.timed_out = 0  # closed, idle past idle_timeout
        self.peak = 0

    def factory(self, inner: Callable[[], Any]) -> Callable[[], Guard]:
        """The protocol factory for ``loop.create_server``, around aiohttp's."""
        return lambda: Guard(self, inner())

    def admit(self, g: Guard) -> bool:
        """Count ``g`` in; at the cap, close the longest idle first (False: none is idle)."""
        if len(self.open) >= self.cap:
            idle = [c for c in self.open if not c.busy]
            if not idle:
                self.refused += 1
                return False
            victim = min(idle, key=lambda c: c.since)
            self.evicted += 1
            self._close(victim)
        self.open[g] = None
        self.by_transport[g.transport] = g
        self.peak = max(self.peak, len(self.open))
        return True

    def lost(self, g: Guard) -> None:
        """Count ``g`` out."""
        if self.open.pop(g, 0) is None:
            self.by_transport.pop(g.transport, None)

    def _close(self, g: Guard) -> None:
        self.lost(g)
        if g.transport is not None:
            g.transport.abort()

    def begin(self, transport: Any) -> Guard | None:
        """A request started on ``transport``: its connection is busy."""
        g = self.by_transport.get(transport)
        if g is not None:
            g.busy += 1
        return g

    @staticmethod
    def end(g: Guard | None) -> None:
        """The request on ``g`` ended: idle from now."""
        if g is not None:
            g.busy -= 1
            g.since = time.monotonic()

    def sweep(self) -> None:
        """Close every connection idle past ``idle_timeout``."""
        if not self.idle_timeout:
            return
        limit = time.monotonic() - self.idle_timeout
        for g in [c for c in self.open if not c.busy and c.since < limit]:
            self.timed_out += 1
            self._close(g)

    def describe(self) -> str:
        """One line of counts."""
        return (
            f"connections: {len(self.open):,} open (cap {self.cap:,}, peak {self.peak:,}), "
            f"{self.timed_out:,} closed idle, {self.evicted:,} closed for room, "
            f"{self.refused:,} refused"
        )


class QuietLog(logging.Handler):
    """What asyncio and aiohttp log, as one short line per kind of event a minute: the
    logger, its fixed message and the exception's type (an OSError's strerror), never the
    message's arguments or the exception's text (they can quote request bytes) and never a
    traceback; the rest is counted."""

    def __init__(self, say: Callable[[str], None], every: float = 60.0) -> None:
        super().__init__(logging.WARNING)
        self.say = say
        self.every = every
        self.last: dict[str, float] = {}
        self.suppressed: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        """Say it, or count it."""
        template = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
        exc = record.exc_info[1] if record.exc_info else None
        self.note(record.name, template, exc)

    def note(self, source: str, message: str, exc: BaseException | None) -> None:
        """One event: said at most once a minute for each kind, else counted."""
        first = message.strip().splitlines()[0][:120] if message.strip() else "event"
        what = f"{source}: {first}"
        if exc is not None:
            what += f" ({type(exc).__name__}"
            if isinstance(exc, OSError) and exc.strerror:
                what += f": {exc.strerror}"
            what += ")"
        now = time.monotonic()
        if now - self.last.get(what, -self.every) < self.every:
            self.suppressed[what] = self.suppressed.get(what, 0) + 1
            return
        self.last[what] = now
        more = self.suppressed.pop(what, 0)
        self.say(what + (f" (and {more:,} more like it)" if more else ""))

    def loop_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """An event loop exception handler that says it as :meth:`note` does."""
        message = context.get("message")
        exc = context.get("exception")
        self.note(
            "asyncio",
            message if isinstance(message, str) else "error",
            exc if isinstance(exc, BaseException) else None,
        )

    def install(self) -> list[tuple[logging.Logger, list[logging.Handler], bool]]:
        """Route the asyncio and aiohttp loggers here; returns what :meth:`uninstall` puts
        back."""
        saved = []
        for name in ("asyncio", "aiohttp"):
            lg = logging.getLogger(name)
            saved.append((lg, list(lg.handlers), lg.propagate))
            lg.handlers = [self]
            lg.propagate = False
        return saved

    @staticmethod
    def uninstall(saved: list[tuple[logging.Logger, list[logging.Handler], bool]]) -> None:
        """Put the loggers back as they were."""
        for lg, handlers, propagate in saved:
            lg.handlers = handlers
            lg.propagate = propagate
