"""What the child is told to do, planned entirely in the parent, and the command that starts it.

The child is the sandbox's interpreter running `launcher.py`, which applies this plan to itself
(see there for the order and why) and then runs the user's script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cognitionos_dagster.tools.sandbox import launcher

LAUNCHER = Path(launcher.__file__).resolve()


@dataclass(frozen=True)
class ChildPlan:
    unshare_flags: int
    uid: int | None
    gid: int | None
    ruleset_fd: int | None
    seccomp: bytes | None
    err_fd: int
    strict: bool  # False only with the explicit opt-out: a failing layer is skipped
    rlimits: dict[int, tuple[int, int]] = field(default_factory=dict)
    address_space: int | None = None

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self.err_fd,) if self.ruleset_fd is None else (self.err_fd, self.ruleset_fd)

    def command(self, interpreter: Path, script: str) -> list[str]:
        plan = launcher.encode_plan({
            "err_fd": self.err_fd,
            "strict": int(self.strict),
            "unshare": self.unshare_flags,
            "uid": self.uid,
            "gid": self.gid,
            "ruleset_fd": self.ruleset_fd,
            "seccomp": self.seccomp.hex() if self.seccomp else None,
            "rlimits": ",".join(f"{which}:{soft}:{hard}" for which, (soft, hard) in self.rlimits.items()),
            "address_space": self.address_space,
        })
        return [str(interpreter), "-I", "-S", "-B", str(LAUNCHER), plan, script]
