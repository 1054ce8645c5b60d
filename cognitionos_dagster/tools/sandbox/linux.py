"""What the parent prepares for a sandboxed child, through ctypes: the Landlock ruleset and the
seccomp program. The child applies them itself (`isolation.py`), with the other layers.

Preparing them here keeps the child's own start short, and a ruleset that cannot be built (no
Landlock in this kernel) is known before any process starts.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
from functools import cache
from pathlib import Path

from cognitionos_dagster.tools.sandbox.isolation import check, libc

# Landlock filesystem rights by ABI version (linux/landlock.h).
_FS_V1 = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
_FS_BY_ABI = {1: _FS_V1, 2: _FS_V1 | 1 << 13, 3: _FS_V1 | 1 << 13 | 1 << 14}
_FS_V5 = _FS_BY_ABI[3] | 1 << 15  # + IOCTL_DEV
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
FS_TRUNCATE = 1 << 14
_FILE_ONLY_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2
_SYS_LANDLOCK_CREATE, _SYS_LANDLOCK_ADD_RULE = 444, 445
_RULE_PATH_BENEATH = 1

# seccomp: (audit arch, socket(2) number, io_uring_setup number) per machine.
_SECCOMP_ARCH = {"x86_64": (0xC000003E, 41, 425), "aarch64": (0xC00000B7, 198, 425)}
_X32_SYSCALL_BIT = 0x40000000
_RET_ALLOW, _RET_KILL_PROCESS, _RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000

@cache
def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is missing or disabled."""
    if platform.system() != "Linux":
        return 0
    version = libc.syscall(_SYS_LANDLOCK_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_ruleset(read_write: list[Path], read_only: list[Path], write_files: list[Path]) -> int:
    """A Landlock ruleset fd: full access under `read_write`, read/execute under `read_only`,
    plain writes to `write_files` (e.g. /dev/null); no TCP, no abstract sockets, no signals out.

    Paths that do not exist are skipped. The caller passes the fd to the child and closes it.
    """
    abi = landlock_abi()
    if abi < 1:
        raise OSError(errno.ENOSYS, "Landlock is not available in this kernel")
    handled_fs = _FS_V5 if abi >= 5 else _FS_BY_ABI[min(abi, 3)]
    attr = _RulesetAttr(handled_fs, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    fd = check(libc.syscall(_SYS_LANDLOCK_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)),
                "landlock_create_ruleset")
    try:
        read = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
        for paths, rights in ((read_write, handled_fs), (read_only, read), (write_files, FS_WRITE_FILE)):
            for path in paths:
                _add_rule(fd, path, rights & handled_fs)
    except BaseException:
        os.close(fd)
        raise
    return int(fd)


def _add_rule(ruleset_fd: int, path: Path, rights: int) -> None:
    try:
        path_fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        if not path.is_dir():
            rights &= _FILE_ONLY_RIGHTS
        rule = _PathBeneath(rights, path_fd)
        check(libc.syscall(_SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset_fd), ctypes.c_int(_RULE_PATH_BENEATH),
                             ctypes.byref(rule), ctypes.c_uint32(0)), f"landlock_add_rule({path})")
    finally:
        os.close(path_fd)


@cache
def seccomp_program() -> bytes | None:
    """A filter refusing socket(2) and io_uring_setup(2) with EACCES (None on unknown machines).

    The network namespace already has no route out; this closes Unix-domain sockets on
    the shared filesystem (a database socket in /tmp, a Docker socket) and io_uring's
    way around seccomp. socketpair(2) stays allowed (asyncio needs it).
    """
    arch = _SECCOMP_ARCH.get(platform.machine())
    if arch is None:
        return None
    audit_arch, nr_socket, nr_io_uring = arch

    def op(code: int, jt: int, jf: int, k: int) -> bytes:
        return struct.pack("HBBI", code, jt, jf, k)

    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    deny = _RET_ERRNO | errno.EACCES
    insns = [
        op(ld, 0, 0, 4),                      # 0: arch
        op(jeq, 1, 0, audit_arch),            # 1: right arch -> 3
        op(ret, 0, 0, _RET_KILL_PROCESS),     # 2
        op(ld, 0, 0, 0),                      # 3: syscall number
        op(jge, 4, 0, _X32_SYSCALL_BIT),      # 4: x32 ABI -> kill (9)
        op(jeq, 2, 0, nr_socket),             # 5: -> deny (8)
        op(jeq, 1, 0, nr_io_uring),           # 6: -> deny (8)
        op(ret, 0, 0, _RET_ALLOW),            # 7
        op(ret, 0, 0, deny),                  # 8
        op(ret, 0, 0, _RET_KILL_PROCESS),     # 9
    ]
    return b"".join(insns)
