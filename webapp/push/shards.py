"""Sender processes: forked children that encrypt and send the chunks their parent hands them.

Each runs its own event loop and connections, reads chunks of messages from
a socket pair and answers with their results. The parent keeps the
database; its threads never wait for one another's turn at the GIL to read
an answer (bench/README.md). A child also says when it has encrypted a
chunk, so that the parent hands each chunk to the process that is ready
for it (webapp.push.sender.Fanout) rather than sharing them out in
advance."""
from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import threading
import time
from typing import Callable

from webapp.push.message import warm_up

log = logging.getLogger(__name__)

_LENGTH = struct.Struct("!I")


class Died(Exception):
    """The sender process ended (killed, out of memory) before it answered."""


def _frame(obj) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


async def _read(reader: asyncio.StreamReader):
    (size,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    return pickle.loads(await reader.readexactly(size))


class Shard:
    """One sender process, as its parent's event loop sees it. ``deliverer``
    (webapp.push.sender.Deliverer, not yet used) is what the child runs;
    ``others``: sockets of the parent's other shards, which the child closes
    so that each child sees its parent go."""

    def __init__(self, deliverer, others=()):
        parent_end, child_end = socket.socketpair()
        self.process = multiprocessing.get_context("fork").Process(
            target=_serve, args=(child_end, deliverer, [parent_end, *others], os.getpid()),
            name="push-sender", daemon=True)
        self.process.start()
        child_end.close()
        self.sock = parent_end
        self.outstanding = 0  # messages handed over, not yet answered
        self.alive = True
        self._ids = itertools.count()
        self._pending: dict[int, asyncio.Future] = {}
        self._encrypting: dict[int, Callable[[], None]] = {}  # chunks not yet encrypted: whom to tell
        self._writer = None
        self._opening = None

    @property
    def unencrypted(self) -> int:
        """Chunks handed over that the child has not yet encrypted."""
        return len(self._encrypting)

    async def send(self, messages, until, encrypted: Callable[[], None] = lambda: None) -> list:
        """The child's results for ``messages`` (Died if it ends first);
        ``encrypted()`` once it has encrypted them all, or, at the latest,
        when the chunk ends. They count as outstanding and unencrypted from
        the start: chunks handed out while the socket is still being opened
        must see this shard's share grow, or the first pass gives every
        chunk to the first shard."""
        ident = next(self._ids)
        self.outstanding += len(messages)
        self._encrypting[ident] = encrypted
        try:
            if self._writer is None:
                if self._opening is None:
                    self._opening = asyncio.ensure_future(self._open())
                await asyncio.shield(self._opening)
            if not self.alive:
                raise Died("sender process died")
            future = self._pending[ident] = asyncio.get_running_loop().create_future()
            try:
                self._writer.write(_frame(("send", ident, messages, until)))
                return await future
            finally:
                self._pending.pop(ident, None)
        finally:
            self.outstanding -= len(messages)
            self._encrypted(ident)

    def _encrypted(self, ident: int) -> None:
        tell = self._encrypting.pop(ident, None)
        if tell is not None:
            tell()

    def sweep(self) -> None:
        if self._writer is not None and self.alive:
            self._writer.write(_frame(("sweep",)))

    async def _open(self):
        reader, self._writer = await asyncio.open_unix_connection(sock=self.sock)
        asyncio.get_running_loop().create_task(self._read_results(reader))

    async def _read_results(self, reader):
        try:
            while True:
                frame = await _read(reader)
                if frame[0] == "encrypted":
                    self._encrypted(frame[1])
                    continue
                _, ident, results = frame
                future = self._pending.get(ident)
                if future is not None and not future.done():
                    if results is None:
                        future.set_exception(Died("sender process failed"))
                    else:
                        future.set_result(results)
        except (asyncio.IncompleteReadError, OSError):
            pass
        self.alive = False
        for future in self._pending.values():
            if not future.done():
                future.set_exception(Died("sender process died"))
        if self.process.is_alive():  # it could not be heard any more
            self.process.kill()

    def close(self) -> None:
        """Hang up (from the loop, or once it has stopped): the child closes
        its connections and ends."""
        if self._writer is not None:
            self._writer.close()
        else:
            self.sock.close()
        self.alive = False

    def join(self, timeout: float) -> None:
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)


# -- in the child ------------------------------------------------------------------

def _serve(sock, deliverer, inherited, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which then hangs up
    for s in inherited:
        s.close()
    _watch_parent(parent)
    try:
        warm_up()
    except Exception:  # only a head start: the messages themselves say what is wrong
        log.exception("sender process: the warm-up encryption failed")
    asyncio.run(_serve_chunks(sock, deliverer))


async def _serve_chunks(sock, deliverer) -> None:
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    running = set()

    async def send(ident, messages, until):
        try:
            results = await deliverer.send(messages, until,
                                           encrypted=lambda: writer.write(_frame(("encrypted", ident))))
        except Exception:  # a bug, not a push service's doing: the parent retries the chunk
            log.exception("sender process: a chunk failed")
            results = None
        writer.write(_frame(("results", ident, results)))

    try:
        while True:
            try:
                kind, *args = await _read(reader)
            except (asyncio.IncompleteReadError, OSError):
                return  # the parent hung up
            if kind == "sweep":
                deliverer.client.sweep()
            else:
                task = asyncio.create_task(send(*args))
                running.add(task)
                task.add_done_callback(running.discard)
    finally:
        deliverer.client.close()
        await asyncio.sleep(0)  # the transports close their sockets on the next turn


def _watch_parent(parent: int) -> None:
    """A sender process ends when its parent does, even by SIGKILL."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
