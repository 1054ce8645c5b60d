"""What a sandboxed child does to itself before the user's code runs, and how it runs it.

The child is forked from the fork server (`forkserver.py`), never from the worker: forking a
run worker (for a `preexec_fn`) ran Python in a copy of a process with a thread per `foreach`
item, which Python's documentation warns can deadlock, and cost the worker CPU on every run.

Order matters: the network namespace needs root's CAP_SYS_ADMIN, so it comes before the uid
drop; no_new_privs before Landlock and seccomp; the address-space limit last. Nothing of the
user's is read before every layer is in place. A layer that fails writes its reason to the
error pipe and the process exits 126; the worker reads the pipe to its end (closed here once
isolated) before it collects any output.

Standard library only, importable from Python 3.8: the sandbox's interpreter may be the
system's, started with -I -S, without this project on its path.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys
from collections.abc import Callable
from functools import partial

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
_PR_SET_NO_NEW_PRIVS, _PR_SET_PDEATHSIG, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 1, 22, 2
_SYS_LANDLOCK_RESTRICT_SELF = 446  # the same number on x86_64 and aarch64
_SIGKILL = 9
_SETUP_FAILED = 126

libc = ctypes.CDLL(None, use_errno=True)  # shared with the parent's side (`linux.py`)
libc.syscall.restype = ctypes.c_long
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
libc.unshare.argtypes = [ctypes.c_int]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def check(result: int, what: str) -> int:
    """`result`, or the OSError that errno names."""
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def unshare(flags: int) -> None:
    check(libc.unshare(flags), "unshare")


def set_no_new_privs() -> None:
    check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")


def set_parent_death_signal() -> None:
    """SIGKILL this process when the fork server dies (and the server ends with its worker)."""
    check(libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")


def landlock_restrict_self(ruleset_fd: int) -> None:
    check(libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset_fd), ctypes.c_uint32(0)),
           "landlock_restrict_self")


def install_seccomp(program: bytes) -> None:
    """Install a BPF filter (8-byte instructions, built by the parent); needs no_new_privs."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.addressof(buffer))
    check(libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0), "prctl(SECCOMP)")


def encode_plan(plan: dict[str, object]) -> str:
    """`key=value;...` with ints, `w:soft:hard,...` for rlimits and hex for the seccomp program."""
    return ";".join(f"{key}={'' if value is None else value}" for key, value in plan.items())


def decode_plan(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split(";") if item)


def _optional_int(value: str) -> int | None:
    return int(value) if value else None


def isolate(plan: dict[str, str]) -> None:
    err_fd = int(plan["err_fd"])
    strict = plan["strict"] == "1"

    def layer(name: str, action: Callable[[], object], required: bool) -> None:
        try:
            action()
        except OSError as exc:
            if required:
                os.write(err_fd, f"{name}: {exc.strerror or exc}".encode())
                os._exit(_SETUP_FAILED)

    def drop_privileges() -> None:
        os.setgroups([])
        os.setgid(int(plan["gid"]))
        os.setuid(int(plan["uid"]))

    flags, ruleset_fd, program = int(plan["unshare"]), _optional_int(plan["ruleset_fd"]), plan["seccomp"]
    if flags:
        layer("network namespace", lambda: unshare(flags), strict)
    for limit in filter(None, plan["rlimits"].split(",")):
        which, soft, hard = (int(part) for part in limit.split(":"))
        layer("resource limits", partial(resource.setrlimit, which, (soft, hard)), True)
    if plan["uid"]:
        layer("unprivileged uid", drop_privileges, True)
    layer("no_new_privs", set_no_new_privs, True)
    layer("parent-death signal", set_parent_death_signal, True)
    if ruleset_fd is not None:
        layer("Landlock", lambda: landlock_restrict_self(ruleset_fd), strict)
        os.close(ruleset_fd)
    if program:
        layer("seccomp", lambda: install_seccomp(bytes.fromhex(program)), strict)
    address_space = _optional_int(plan["address_space"])
    if address_space is not None:
        layer("memory limit", lambda: resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space)), True)
    os.close(err_fd)  # the parent reads the end of the pipe: every layer is in place


def run_script(path: str) -> None:
    """Run `path` as `python -I -S -B path` would: as `__main__`, with its own traceback on error."""
    module = type(sys)("__main__")
    module.__file__ = path
    module.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = module
    sys.argv[:] = [path]
    try:
        with open(path, "rb") as file:
            source = file.read()
        exec(compile(source, path, "exec"), module.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:  # the traceback starts in the user's code, as a script's does
        traceback = exc.__traceback__
        if traceback is not None and traceback.tb_frame.f_code is run_script.__code__:
            traceback = traceback.tb_next
        sys.excepthook(type(exc), exc.with_traceback(traceback), traceback)  # prints the exception's own
        sys.exit(1)
