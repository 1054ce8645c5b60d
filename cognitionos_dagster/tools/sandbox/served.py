"""The worker's side of the fork server: start it once per interpreter, ask it for children.

One server per interpreter per process, started on first use (never by forking this process:
subprocess uses vfork and exec). A reader thread routes the server's replies: the pid of each
child it started, when a child ends, and its wait status and CPU time once reaped. A server
that dies is replaced on the next request; its children die with it and their runs end as
killed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cognitionos_dagster.tools.sandbox import forkserver

SERVER = Path(forkserver.__file__).resolve()
_START_TIMEOUT = 30.0
_KILLED = 9  # the wait status of a process ended by SIGKILL


class ServerError(OSError):
    """The fork server could not start a child."""


@dataclass
class ServedChild:
    """A child of the fork server, as `collect_output` needs a process to be."""

    pid: int
    server: _Server
    _exited: threading.Event = field(default_factory=threading.Event)
    _reaped: threading.Event = field(default_factory=threading.Event)
    _status: int = 0
    _cpu_ms: float = 0.0

    def exited(self) -> bool:
        return self._exited.is_set()

    def wait(self) -> tuple[int, float]:
        """Exit code (negative: the signal that killed it) and CPU milliseconds. The server keeps an
        ended child unreaped until this asks, so its process group id cannot be reused before."""
        self._exited.wait()
        if not self._reaped.is_set():
            with contextlib.suppress(OSError):  # a server that is gone ends this child as killed (`_gone`)
                self.server.send(f"reap {self.pid}".encode())
        self._reaped.wait()
        return os.waitstatus_to_exitcode(self._status), self._cpu_ms

    def ended(self) -> None:
        self._exited.set()

    def end(self, status: int, cpu_ms: float) -> None:
        self._status, self._cpu_ms = status, cpu_ms
        self._exited.set()
        self._reaped.set()


@dataclass
class _Request:
    done: threading.Event = field(default_factory=threading.Event)
    child: ServedChild | None = None
    error: str = ""


class _Server:
    """One server process, the requests it has not answered and the children it has not reaped."""

    def __init__(self, interpreter: Path) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [str(interpreter), "-I", "-S", "-B", str(SERVER), str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, close_fds=True,
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.sock = ours
        self.lock = threading.Lock()
        self.alive = True
        self.requests: dict[str, _Request] = {}
        self.children: dict[int, ServedChild] = {}
        threading.Thread(target=self._read, name="cognitionos-sandbox-forkserver", daemon=True).start()

    @property
    def running(self) -> bool:
        """False as soon as the process is gone, even before the reader has seen the socket close."""
        return self.alive and self.process.poll() is None

    def send(self, message: bytes, fds: list[int] | None = None) -> None:
        with self.lock:
            if not self.alive:
                raise ServerError("the fork server ended")
            if fds:
                socket.send_fds(self.sock, [message], fds)
            else:
                self.sock.send(message)

    def abandon(self) -> None:
        """A request could not be sent: never use this server again, even if its process has not
        ended yet (a SIGKILLed server can still look alive for a moment), and make sure it ends."""
        with self.lock:
            self.alive = False
        with contextlib.suppress(OSError):
            self.process.kill()

    def _read(self) -> None:
        while True:
            try:
                message = self.sock.recv(4096)
            except OSError:
                message = b""
            if not message:
                break
            kind, first, *rest = message.decode().split(" ", 2)
            if kind == "exited":
                if (child := self.children.get(int(first))) is not None:
                    child.ended()
            elif kind == "reaped":
                if (child := self.children.pop(int(first), None)) is not None:
                    status, cpu_ms = rest[0].split()
                    child.end(int(status), float(cpu_ms))
            elif (request := self.requests.pop(first, None)) is not None:
                if kind == "started":
                    request.child = self.children[int(rest[0])] = ServedChild(int(rest[0]), self)
                else:
                    request.error = rest[0] if rest else "the fork server failed"
                request.done.set()
        self._gone()

    def _gone(self) -> None:
        """The server ended: its children were killed with it (parent-death signal); nothing pending waits on."""
        with self.lock:
            self.alive = False
            self.sock.close()
        self.process.wait()
        for request in list(self.requests.values()):
            request.error = "the fork server ended"
            request.done.set()
        for child in list(self.children.values()):
            child.end(_KILLED, 0.0)


class ForkServer:
    """The server for one interpreter, replaced when it has ended."""

    def __init__(self, interpreter: Path) -> None:
        self.interpreter = interpreter
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: _Server | None = None

    def spawn(self, plan: str, workdir: Path, script: str, env: dict[str, str], fds: list[int]) -> ServedChild:
        """Start a child with `fds` as stdin, stdout, stderr, error pipe [, ruleset]; the caller closes its copies.

        A request that meets a server which has just died (its reader has not seen the end yet) is
        asked once more of a new one.
        """
        items = [plan, str(workdir), script, *(f"{key}={value}" for key, value in env.items())]
        child = self._ask(items, fds) or self._ask(items, fds, last_try=True)
        assert child is not None  # the last try raises rather than return None
        return child

    def _ask(self, items: list[str], fds: list[int], *, last_try: bool = False) -> ServedChild | None:
        """The child, or None when the server turned out dead (and this was not the last try)."""
        with self._lock:
            server = self._server
            if server is None or not server.running:
                server = self._server = _Server(self.interpreter)
            ident = str(next(self._ids))
        request = server.requests[ident] = _Request()
        try:
            server.send(forkserver.SEP.join(["spawn", ident, *items]).encode(), fds)
        except OSError:
            server.requests.pop(ident, None)
            server.abandon()
            if last_try:
                raise
            return None
        if request.done.wait(_START_TIMEOUT) and request.child is not None:
            return request.child
        if last_try or server.running:
            raise ServerError(request.error or "the fork server did not answer")
        return None

    def close_inherited(self) -> None:
        """In a forked worker: drop the parent's socket, so the parent's server still ends with the parent."""
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.sock.close()
        self._server = None


_servers: dict[Path, ForkServer] = {}
_servers_lock = threading.Lock()


def server_for(interpreter: Path) -> ForkServer:
    with _servers_lock:
        server = _servers.get(interpreter)
        if server is None:
            server = _servers[interpreter] = ForkServer(interpreter)
        return server


def _forget_inherited() -> None:
    """A forked worker has the parent's sockets but not its reader threads: it starts its own servers."""
    global _servers_lock
    for server in _servers.values():
        server.close_inherited()
    _servers.clear()
    _servers_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_inherited)
