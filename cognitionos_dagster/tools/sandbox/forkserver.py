"""A warm interpreter that forks one sandboxed child per run; a worker process starts it once.

Why: a child that was a fresh interpreter spent most of its CPU before the user's first line
(the interpreter's start, importing ctypes), and a worker that forked itself to start one paid
more on top. Forked from this small, single-threaded process, which has done all that once, a
child only isolates itself (`isolation.isolate`) and runs the code (`isolation.run_script`), so
a `foreach` of sandboxed items spends its CPU on the items (figures in docs/benchmarks.md,
"Measurements behind the code").

Protocol, on a SOCK_SEQPACKET socket (one message per datagram, descriptors as SCM_RIGHTS):
  worker -> server: spawn, request id, plan, working directory, script, then the environment as
                    KEY=VALUE items; fields separated by \\x1f. Descriptors: stdin, stdout, stderr,
                    the error pipe and, when there is one, the Landlock ruleset.
                    Or "reap <pid>", once the worker is done with an ended child.
  server -> worker: "started <id> <pid>", "failed <id> <reason>", "exited <pid>" (ended, not
                    reaped yet), "reaped <pid> <wait status> <cpu ms>".
The server exits when the worker's end closes (the worker is gone), killing its children first;
each child also dies with it (parent-death signal). Standard library only, like `isolation.py`.
"""

from __future__ import annotations

import array
import contextlib
import os
import select
import signal
import socket
import sys

try:
    from cognitionos_dagster.tools.sandbox.isolation import decode_plan, isolate, run_script
except ImportError:  # run as the server, by an interpreter started with -I -S: the package is not on its path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from isolation import decode_plan, isolate, run_script  # type: ignore[import-not-found,no-redef]  # same module by path

    del sys.path[0]  # the children's code must not find this directory's modules

SEP = "\x1f"  # between a request's fields
_MAX_MESSAGE = 1 << 20
_MAX_FDS = 8


def _receive(sock: socket.socket) -> tuple[bytes, list[int]]:
    fds = array.array("i")
    message, ancillary, _flags, _addr = sock.recvmsg(_MAX_MESSAGE, socket.CMSG_LEN(_MAX_FDS * fds.itemsize))
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    return message, list(fds)


def _exit_code(code: object) -> int:
    """What the interpreter makes of `sys.exit(code)`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _child(own_fds: list[int], fds: list[int], workdir: str, script: str, env: dict[str, str],
           plan: dict[str, str]) -> None:
    """In the forked child: become the run's process, isolate it, run the code, exit. Never returns."""
    err_fd = fds[3]
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in own_fds:
            os.close(fd)
        os.setsid()
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(workdir)
        os.environ.clear()
        os.environ.update(env)
        isolate(plan)
    except BaseException as exc:  # a bug here must not let the code run half-isolated
        try:
            os.write(err_fd, f"fork server: {exc!r}".encode())
        finally:
            os._exit(126)
    code = 1
    try:
        run_script(script)
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    finally:
        _exit(code)


def _exit(code: int) -> None:
    """What the interpreter does on the way out (wait for threads, run atexit, flush), then leave
    without running the server's own cleanup."""
    import atexit

    with contextlib.suppress(BaseException):
        if "threading" in sys.modules:
            sys.modules["threading"]._shutdown()
    atexit._run_exitfuncs()  # reports a failing callback itself, as at a normal exit
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(code)


def _spawn(sock: socket.socket, own_fds: list[int], message: bytes, fds: list[int]) -> int:
    _kind, request, plan_text, workdir, script, *items = message.decode().split(SEP)
    plan = decode_plan(plan_text)
    plan["err_fd"] = str(fds[3])
    plan["ruleset_fd"] = str(fds[4]) if len(fds) > 4 else ""
    env = dict(item.split("=", 1) for item in items)
    try:
        pid = os.fork()
    except OSError as exc:
        sock.send(f"failed {request} fork: {exc.strerror}".encode())
        pid = -1
    if pid == 0:
        _child(own_fds, fds, workdir, script, env, plan)
    for fd in fds:
        os.close(fd)
    if pid > 0:
        sock.send(f"started {request} {pid}".encode())
    return pid


def _observe(sock: socket.socket, running: set[int]) -> None:
    """Report children that ended, without reaping them: until the worker asks, an ended child's pid
    stays its own, so the worker's last kill of its process group cannot reach a stranger."""
    for pid in list(running):
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            running.discard(pid)
            sock.send(f"exited {pid}".encode())


def _reap(sock: socket.socket, pid: int, children: set[int]) -> None:
    if pid not in children:  # asked of a server started after the child's own one ended
        return
    _, status, usage = os.wait4(pid, 0)
    children.discard(pid)
    sock.send(f"reaped {pid} {status} {(usage.ru_utime + usage.ru_stime) * 1000:.3f}".encode())


def serve(sock: socket.socket) -> None:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the select through wake_w
    own_fds = [sock.fileno(), wake_r, wake_w]
    children: set[int] = set()  # not reaped yet
    running: set[int] = set()  # not reported ended yet
    watched: list[socket.socket | int] = [sock, wake_r]
    try:
        while True:
            ready, _, _ = select.select(watched, [], [])
            if wake_r in ready:
                os.read(wake_r, 4096)
            _observe(sock, running)
            if sock in ready:
                message, fds = _receive(sock)
                if not message:
                    return  # the worker closed its end
                if message.startswith(b"reap "):
                    _reap(sock, int(message.split()[1]), children)
                    continue
                pid = _spawn(sock, own_fds, message, fds)
                if pid > 0:
                    children.add(pid)
                    running.add(pid)
    finally:
        for pid in children:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the worker went away mid-reply
        serve(socket.socket(fileno=int(sys.argv[1])))
