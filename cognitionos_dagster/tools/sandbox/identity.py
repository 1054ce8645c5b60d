"""Who the sandboxed child runs as, which interpreter it runs, and how its processes die.

As root, each run gets its own unprivileged uid (no passwd entry needed): RLIMIT_NPROC
then counts only that run's processes, and every process the run leaves behind, even
one that escaped its process group with setsid(), is found by uid and killed.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import stat
import sys
import threading
import time
from functools import cache
from pathlib import Path

EPHEMERAL_UID_BASE = 1 << 31  # far above any system or login account
_counter = itertools.count()
_counter_lock = threading.Lock()


def is_root() -> bool:
    return os.geteuid() == 0


def ephemeral_uid() -> int:
    """A uid unique to this run among live runs on the host: (pid, per-process counter)."""
    with _counter_lock:
        n = next(_counter)
    return EPHEMERAL_UID_BASE + (os.getpid() % (1 << 20)) * 256 + n % 256


def usable_by_other(path: Path) -> bool:
    """Whether a uid that is neither owner nor group member can reach and execute `path`."""
    try:
        real = path.resolve(strict=True)
    except OSError:
        return False
    for ancestor in real.parents:
        if not os.stat(ancestor).st_mode & stat.S_IXOTH:
            return False
    return bool(os.stat(real).st_mode & stat.S_IXOTH)


@cache
def default_interpreter(drop_privileges: bool) -> Path | None:
    """This process's Python when the sandbox uid can run it, else the system's python3."""
    candidates = [Path(sys.executable)]
    if drop_privileges:
        candidates += [Path(p) for p in ("/usr/bin/python3", "/usr/local/bin/python3") if Path(p).exists()]
        found = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
        if found:
            candidates.append(Path(found))
    for candidate in candidates:
        if not drop_privileges or usable_by_other(candidate):
            return candidate.resolve()
    return None


@cache  # resolved on every run otherwise: a realpath walk for a path that does not move
def interpreter_prefix(interpreter: Path) -> Path:
    """The installation the interpreter reads its standard library from (…/bin/python → …)."""
    return interpreter.resolve().parent.parent


def processes_of(uid: int) -> list[int]:
    """Live (non-zombie) processes owned by `uid`."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in (b"Z", b"X"):
            found.append(int(entry.name))
    return found


def kill_all_of(uid: int, *, rounds: int = 50) -> int:
    """SIGKILL every process of `uid` until none is left (a fork bomb refills between scans)."""
    killed = 0
    for _ in range(rounds):
        pids = processes_of(uid)
        if not pids:
            return killed
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.002)
    return killed

