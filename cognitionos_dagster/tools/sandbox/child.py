"""What the forked child does between fork and exec, planned entirely in the parent.

Order matters: the network namespace needs root's CAP_SYS_ADMIN, so it comes before the
uid drop; no_new_privs before Landlock and seccomp; the address-space limit last, because
the forked copy of a big parent may already exceed it and Python must not allocate after.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from dataclasses import dataclass, field

from cognitionos_dagster.tools.sandbox import linux


@dataclass(frozen=True)
class ChildPlan:
    unshare_flags: int
    uid: int | None
    gid: int | None
    ruleset_fd: int | None
    seccomp: linux.SeccompProgram | None
    err_fd: int
    strict: bool  # False only with the explicit opt-out: a failing layer is skipped
    rlimits: dict[int, tuple[int, int]] = field(default_factory=dict)
    address_space: int | None = None

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self.err_fd,) if self.ruleset_fd is None else (self.err_fd, self.ruleset_fd)


def child_setup(plan: ChildPlan) -> Callable[[], None]:
    """The preexec function; on failure it writes the reason to `err_fd` for the parent."""

    def layer(name: str, action: Callable[[], None], required: bool) -> None:
        try:
            action()
        except OSError as exc:
            if required:
                os.write(plan.err_fd, f"{name}: {exc.strerror or exc}".encode())
                raise

    def drop_privileges() -> None:
        assert plan.uid is not None and plan.gid is not None
        os.setgroups([])
        os.setgid(plan.gid)
        os.setuid(plan.uid)

    def setup() -> None:
        if plan.unshare_flags:
            layer("network namespace", lambda: linux.unshare(plan.unshare_flags), plan.strict)
        for which, limits in plan.rlimits.items():
            layer("resource limits", lambda w=which, lim=limits: resource.setrlimit(w, lim), True)
        if plan.uid is not None:
            layer("unprivileged uid", drop_privileges, True)
        layer("no_new_privs", linux.set_no_new_privs, True)
        layer("parent-death signal", linux.set_parent_death_signal, True)
        if plan.ruleset_fd is not None:
            layer("Landlock", lambda: linux.landlock_restrict_self(plan.ruleset_fd or 0), plan.strict)
            os.close(plan.ruleset_fd)
        if plan.seccomp is not None:
            layer("seccomp", lambda: linux.install_seccomp(plan.seccomp), plan.strict)  # type: ignore[arg-type]
        os.close(plan.err_fd)
        if plan.address_space is not None:
            resource.setrlimit(resource.RLIMIT_AS, (plan.address_space, plan.address_space))

    return setup
