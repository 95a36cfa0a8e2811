"""`manage.py serve --workers N`: N server processes sharing one listening socket.

The parent (`Supervisor`) binds the socket, then starts N children, each
`manage.py serve --fd <fileno> --parent-pid <pid>` with the socket inherited: each
runs daphne on it (`config.serve.RestServer(adopt=...)`), and the kernel hands every
new connection to one of them. Only the first child runs the embedded queue
consumers (unless `--no-consumers`).

- A child that dies is started again, after 0.5 s, doubling (to 30 s) while
  children of that slot keep dying within 10 s of their start; each exit is logged.
- SIGTERM or SIGINT to the parent: every child gets SIGTERM (daphne closes its
  connections, the consumers finish their message), the parent waits for them (up to
  `STOP_TIMEOUT` seconds, then SIGKILL) and exits. A second signal kills at once.
- The children share the work evenly: a listening socket readable in several
  processes is accepted by whichever wakes first, and one process took all 8
  keep-alive connections of a benchmark while the other idled. Each child writes how
  many connections it holds on a `Board` (a small shared file the parent made); a
  child holding more than another living child leaves a new connection to it, for
  up to `MAX_DEFER` seconds (so a stuck or busy child never stalls accepting), and
  takes one connection per wake-up (`balance_accepts`).
- A child stops when its parent is gone: PR_SET_PDEATHSIG on Linux (SIGTERM at the
  parent's death), and on every system a look at `getppid()` once a second.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import mmap
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, cast

logger = logging.getLogger(__name__)

FIRST_BACKOFF = 0.5  # seconds before a dead child is started again
MAX_BACKOFF = 30.0
QUICK_EXIT = 10.0  # a child dying within this many seconds of its start doubles the backoff
STOP_TIMEOUT = 30.0  # seconds children get to stop before they are killed
PARENT_CHECK_INTERVAL = 1.0
MAX_DEFER = 0.05  # seconds a child leaves a new connection to a less loaded one
DEFER_STEP = 0.002
_PR_SET_PDEATHSIG = 1
_SLOT = struct.Struct("q")


class Board:
    """Connections held by each child, in a file shared by the parent and its children.

    A slot is -1 while its child is not running (written by the parent). Aligned
    8-byte writes: a reader sees an old or a new count, both fine for balancing.
    """

    def __init__(self, fileno: int, workers: int) -> None:
        self.fileno = fileno
        self.workers = workers
        self._map = mmap.mmap(fileno, _SLOT.size * workers)

    @classmethod
    def create(cls, workers: int) -> Board:
        with tempfile.TemporaryFile() as file:
            file.truncate(_SLOT.size * workers)
            fileno = os.dup(file.fileno())
        os.set_inheritable(fileno, True)
        board = cls(fileno, workers)
        for index in range(workers):
            board.set(index, -1)
        return board

    def set(self, index: int, connections: int) -> None:
        _SLOT.pack_into(self._map, index * _SLOT.size, connections)

    def get(self, index: int) -> int:
        return int(_SLOT.unpack_from(self._map, index * _SLOT.size)[0])

    def least_of_others(self, index: int) -> int | None:
        """The fewest connections another running child holds (None: no other runs)."""
        counts = [self.get(i) for i in range(self.workers) if i != index]
        running = [c for c in counts if c >= 0]
        return min(running) if running else None


def balance_accepts(port: Any, count: Callable[[], int], board: Board, index: int) -> None:
    """Make the listening `port` (Twisted's) of child `index` take its share (see module)."""
    from twisted.internet import reactor, task

    accept = port.doRead
    deferred_since: list[float] = []

    def resume() -> None:
        if port.connected:
            port.startReading()

    def do_read() -> None:
        mine = count()
        board.set(index, mine)
        least = board.least_of_others(index)
        if least is not None and mine > least:
            now = time.monotonic()
            if not deferred_since:
                deferred_since.append(now)
            if now - deferred_since[0] < MAX_DEFER:
                port.stopReading()
                cast(Any, reactor).callLater(DEFER_STEP, resume)
                return
        deferred_since.clear()
        port.numberAccepts = 1  # Twisted raises it to take a burst at once
        accept()
        board.set(index, count())

    port.doRead = do_read
    board.set(index, count())

    def refresh() -> None:  # connections closed since the last accept
        board.set(index, count())

    task.LoopingCall(refresh).start(0.5, now=False)


def family_of(host: str) -> socket.AddressFamily:
    """AF_INET6 for an IPv6 address (`::`, `[::1]`), AF_INET otherwise."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """Bind and listen on (host, port), inheritable by child processes."""
    family = family_of(host)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


@dataclass
class _Slot:
    index: int
    process: subprocess.Popen | None = None
    started: float = 0.0
    quick_exits: int = 0
    restart_at: float | None = None


class Supervisor:
    """Run `workers` children built by `command(index)`, sharing `sock`, until a signal."""

    def __init__(
        self,
        sock: socket.socket,
        workers: int,
        command: Callable[[int], list[str]],
        board: Board | None = None,
        stop_timeout: float = STOP_TIMEOUT,
    ) -> None:
        self.sock = sock
        self.board = board
        self.command = command
        self.stop_timeout = stop_timeout
        self.slots = [_Slot(index) for index in range(workers)]
        self._stopping = threading.Event()
        self._signals = 0

    def run(self) -> None:
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for slot in self.slots:
                self._spawn(slot)
            while not self._stopping.is_set():
                self._tend()
                self._stopping.wait(0.1)
        finally:
            self._stop_children()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def pids(self) -> list[int]:
        return [s.process.pid for s in self.slots if s.process is not None]

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:  # asked twice: do not wait for the children
            for slot in self.slots:
                if slot.process is not None and slot.process.poll() is None:
                    slot.process.kill()
        self._stopping.set()

    def _spawn(self, slot: _Slot) -> None:
        fds = [self.sock.fileno()] + ([self.board.fileno] if self.board else [])
        slot.process = subprocess.Popen(self.command(slot.index), pass_fds=fds)
        slot.started = time.monotonic()
        slot.restart_at = None
        logger.info("serve: worker %d started (pid %d)", slot.index, slot.process.pid)

    def _tend(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.process is not None:
                code = slot.process.poll()
                if code is None:
                    continue
                lived = now - slot.started
                slot.quick_exits = slot.quick_exits + 1 if lived < QUICK_EXIT else 0
                delay = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** max(0, slot.quick_exits - 1))
                how = f"signal {-code}" if code < 0 else f"code {code}"
                logger.warning(
                    "serve: worker %d (pid %d) exited with %s after %.1f s; restarting in %.1f s",
                    slot.index,
                    slot.process.pid,
                    how,
                    lived,
                    delay,
                )
                slot.process = None
                slot.restart_at = now + delay
                if self.board is not None:
                    self.board.set(slot.index, -1)
            elif slot.restart_at is not None and now >= slot.restart_at:
                self._spawn(slot)

    def _stop_children(self) -> None:
        running = [s.process for s in self.slots if s.process is not None]
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("serve: worker pid %d did not stop in time: killed", process.pid)
                process.kill()
                process.wait()
        self.sock.close()


def die_with_parent(parent_pid: int, stop: Callable[[], None]) -> None:
    """In a child: call `stop` (in the reactor) when the parent `parent_pid` is gone.

    The caller runs a Twisted reactor (daphne's); SIGTERM at the parent's death (Linux)
    stops it through daphne's own signal handlers, the once-a-second look covers the rest.
    """
    from twisted.internet import task

    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the look below suffices
            pass

    def check() -> None:
        if os.getppid() != parent_pid:
            logger.warning("serve: the parent process %d is gone: stopping", parent_pid)
            looking.stop()
            stop()

    looking = task.LoopingCall(check)
    looking.start(PARENT_CHECK_INTERVAL, now=True)
