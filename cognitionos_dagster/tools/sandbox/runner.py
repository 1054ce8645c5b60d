"""Run untrusted Python in a child process that cannot reach the network, the parent's
secrets or any file outside its private working directory, within CPU, memory, process,
file-size and wall-clock limits.

Layers (each one fails closed unless `require_isolation` is switched off):
network namespace (no interfaces up) · unprivileged uid (root: one fresh uid per run) ·
Landlock (writes only in the working directory, reads only in system and interpreter
directories, no TCP, no signals out) · seccomp (no socket(2), no io_uring) · rlimits ·
a clean environment.
"""

from __future__ import annotations

import os
import resource
import select
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cognitionos_dagster.errors import ToolError
from cognitionos_dagster.tools.sandbox import identity, isolation, linux, served
from cognitionos_dagster.tools.sandbox.child import ChildPlan
from cognitionos_dagster.tools.sandbox.collect import Collected, collect_output
from cognitionos_dagster.tools.sandbox.config import SandboxConfig

_SYSTEM_READ = [Path(p) for p in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")]
_DEVICES_READ = [Path("/dev/null"), Path("/dev/zero"), Path("/dev/urandom"), Path("/dev/random")]
_OPT_OUT_HINT = (
    "fix the kernel feature named above, or set COGNITIONOS_SANDBOX_REQUIRE_ISOLATION=false on a machine where "
    "running code without that isolation layer is acceptable"
)


@dataclass(frozen=True)
class Program:
    """Another interpreter run in the same sandbox (Node for `execute_javascript`).

    The sandboxed Python child, once isolated, execs `path args... filename` in place of running
    the code itself: every layer (namespace, uid, Landlock, seccomp, rlimits, clean environment)
    is in place before the program starts, and the program's own directory is readable.
    """

    path: Path
    filename: str  # the code is written here, in the working directory
    args: tuple[str, ...] = ()
    address_space_mb: int | None = None  # a runtime that reserves address space up front (V8) needs more


@dataclass(frozen=True)
class SandboxResult:
    exit_code: int  # negative: killed by that signal
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    limit: str | None  # wall_clock | cpu_time | memory | file_size | None
    duration_ms: float
    cpu_ms: float
    uid: int | None


class PythonSandbox:
    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.drop_privileges = identity.is_root()

    def interpreter(self) -> Path:
        chosen = self.config.python or identity.default_interpreter(self.drop_privileges)
        if chosen is None or (self.drop_privileges and not identity.usable_by_other(chosen)):
            raise ToolError(
                f"no Python interpreter the sandbox user can execute (tried {chosen or 'this one and python3'})",
                hint="install a system python3 (e.g. /usr/bin/python3) or point COGNITIONOS_SANDBOX_PYTHON at an "
                "interpreter whose directories are world-executable",
            )
        return Path(chosen)

    def run(self, code: str, *, timeout_seconds: float, stdin: str | None = None,
            program: Program | None = None) -> SandboxResult:
        if len(code.encode()) > self.config.max_code_bytes:
            raise ToolError(f"code is larger than {self.config.max_code_bytes} bytes",
                            hint="send less code or raise COGNITIONOS_SANDBOX_MAX_CODE_BYTES")
        interpreter = self.interpreter()
        if program is not None and self.drop_privileges and not identity.usable_by_other(program.path):
            raise ToolError(f"the sandbox user cannot execute {program.path}",
                            hint="make its directories world-executable (chmod o+x)")
        uid = (self.config.uid or identity.ephemeral_uid()) if self.drop_privileges else None
        gid = (self.config.gid or uid) if uid is not None else None
        workdir = Path(tempfile.mkdtemp(prefix="cognos-sandbox-", dir=self.config.workdir_root))
        try:
            self._prepare_workdir(workdir, code, stdin, uid, gid, program)
            # A run that returns has had every process of its uid killed by the output collection;
            # one that fails on the way may have left some.
            return self._execute(interpreter, workdir, timeout_seconds, uid, gid, program)
        except BaseException:
            if uid is not None:
                identity.kill_all_of(uid)
            raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _prepare_workdir(self, workdir: Path, code: str, stdin: str | None, uid: int | None, gid: int | None,
                         program: Program | None = None) -> None:
        files = [workdir / "main.py"]
        if program is None:
            files[0].write_text(code, encoding="utf-8")
        else:
            argv = [str(program.path), *program.args, program.filename]
            files[0].write_text(f"import os\nos.execv({str(program.path)!r}, {argv!r})\n", encoding="utf-8")
            files.append(workdir / program.filename)
            files[1].write_text(code, encoding="utf-8")
        (workdir / ".stdin").write_text(stdin or "", encoding="utf-8")
        if uid is not None and gid is not None:
            for path in (workdir, *files):
                os.chown(path, uid, gid)
        if self.drop_privileges and not all(
            os.stat(parent).st_mode & 0o001 for parent in workdir.resolve().parents
        ):
            raise ToolError(f"the sandbox user cannot reach {workdir}",
                            hint="point COGNITIONOS_SANDBOX_WORKDIR_ROOT at a world-traversable directory")

    def _plan(self, interpreter: Path, workdir: Path, timeout: float, uid: int | None, gid: int | None,
              program: Program | None = None) -> ChildPlan:
        cfg = self.config
        strict = cfg.require_isolation
        missing = []
        ruleset_fd = None
        try:
            read_only = [identity.interpreter_prefix(interpreter), *_SYSTEM_READ, *_DEVICES_READ]
            if program is not None:
                read_only.append(identity.interpreter_prefix(program.path))
            ruleset_fd = linux.landlock_ruleset([workdir], read_only, [Path("/dev/null")])
        except OSError as exc:
            missing.append(f"Landlock ({exc.strerror or exc})")
        seccomp = linux.seccomp_program()
        if seccomp is None:
            missing.append("seccomp (unsupported machine)")
        if missing and strict:
            if ruleset_fd is not None:
                os.close(ruleset_fd)
            tool = "execute_python" if program is None else f"the sandbox ({program.path.name})"
            raise ToolError(f"{tool} refuses to run without isolation: missing {', '.join(missing)}",
                            hint=_OPT_OUT_HINT)
        cpu = max(1, min(cfg.cpu_seconds, int(timeout) + 1))
        nproc = cfg.max_processes if uid is not None else len(_own_processes()) + cfg.max_processes
        return ChildPlan(
            unshare_flags=isolation.CLONE_NEWNET | (0 if self.drop_privileges else isolation.CLONE_NEWUSER),
            uid=uid, gid=gid, ruleset_fd=ruleset_fd, seccomp=seccomp, strict=strict,
            rlimits={
                resource.RLIMIT_CPU: (cpu, cpu + 1),
                resource.RLIMIT_NPROC: (nproc, nproc),
                resource.RLIMIT_FSIZE: (cfg.max_file_mb << 20, cfg.max_file_mb << 20),
                resource.RLIMIT_NOFILE: (cfg.max_open_files, cfg.max_open_files),
                resource.RLIMIT_CORE: (0, 0),
            },
            address_space=(program.address_space_mb if program and program.address_space_mb else cfg.memory_mb) << 20,
        )

    def _execute(self, interpreter: Path, workdir: Path, timeout: float, uid: int | None,
                 gid: int | None, program: Program | None = None) -> SandboxResult:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(workdir), "TMPDIR": str(workdir),
               "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        started = time.perf_counter()
        plan = self._plan(interpreter, workdir, timeout, uid, gid, program)
        reap = (lambda: identity.kill_all_of(uid)) if uid is not None else None
        err_r, err_w = os.pipe()
        out_r, out_w = os.pipe()
        errout_r, errout_w = os.pipe()
        try:
            with open(workdir / ".stdin", "rb") as stdin_file:
                fds = [stdin_file.fileno(), out_w, errout_w, err_w]
                if plan.ruleset_fd is not None:
                    fds.append(plan.ruleset_fd)
                child = served.server_for(interpreter).spawn(plan.encode(), workdir, "main.py", env, fds)
        except OSError as exc:  # ServerError included
            for fd in (err_r, err_w, out_r, out_w, errout_r, errout_w, plan.ruleset_fd):
                if fd is not None:
                    os.close(fd)
            raise ToolError(f"the sandbox could not start a process with {interpreter}: {exc}",
                            hint="set COGNITIONOS_SANDBOX_PYTHON to a working, world-executable interpreter") from None
        for fd in (err_w, out_w, errout_w, plan.ruleset_fd):  # the child has its own copies now
            if fd is not None:
                os.close(fd)
        reason = "interrupted"  # what stays if waiting for the child's setup raises
        try:
            reason = _setup_outcome(err_r, started + timeout)
        finally:
            os.close(err_r)
            if reason:  # a child that is not isolated is killed and reaped before anything else
                collect_output(child, out_r, errout_r, time.perf_counter(), 0, reap)
        if reason:
            raise ToolError(f"the sandbox could not be set up: {reason}", hint=_OPT_OUT_HINT)
        out = collect_output(child, out_r, errout_r, started + timeout, self.config.max_output_bytes, reap)
        return _result(out, started, uid, plan.rlimits[resource.RLIMIT_CPU][0])


def _setup_outcome(err_r: int, deadline: float) -> str:
    """Wait until the child has isolated itself: it closes the pipe when every layer is in place,
    or writes why one failed. Empty means isolated (or still starting at the deadline, which the
    output collection then enforces)."""
    reason = b""
    while True:
        ready, _, _ = select.select([err_r], [], [], max(0.0, deadline - time.perf_counter()))
        if not ready:
            return ""
        chunk = os.read(err_r, 4096)
        if not chunk:
            return reason.decode(errors="replace")
        reason += chunk


def _own_processes() -> list[int]:
    return identity.processes_of(os.getuid())


def _result(out: Collected, started: float, uid: int | None, cpu_limit: int) -> SandboxResult:
    limit = None
    if out.timed_out:
        limit = "wall_clock"
    elif out.exit_code == -signal.SIGXCPU or (out.exit_code == -signal.SIGKILL and out.cpu_ms >= cpu_limit * 1000):
        limit = "cpu_time"
    elif out.exit_code == -signal.SIGXFSZ:
        limit = "file_size"
    elif out.exit_code != 0 and "MemoryError" in out.stderr[-2000:]:
        limit = "memory"
    return SandboxResult(
        exit_code=out.exit_code, stdout=out.stdout, stderr=out.stderr, stdout_truncated=out.stdout_truncated,
        stderr_truncated=out.stderr_truncated, limit=limit, duration_ms=(time.perf_counter() - started) * 1000,
        cpu_ms=out.cpu_ms, uid=uid,
    )
