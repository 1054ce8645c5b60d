"""What the child is told to do, planned entirely in the parent.

The fork server's child applies the plan to itself (`isolation.isolate`, which says in what
order and why) and then runs the user's script. Descriptors travel beside the plan: the error
pipe and the Landlock ruleset are filled in by the server with their numbers in the child.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cognitionos_dagster.tools.sandbox import isolation


@dataclass(frozen=True)
class ChildPlan:
    unshare_flags: int
    uid: int | None
    gid: int | None
    ruleset_fd: int | None  # the parent's descriptor, sent to the server with the request
    seccomp: bytes | None
    strict: bool  # False only with the explicit opt-out: a failing layer is skipped
    rlimits: dict[int, tuple[int, int]] = field(default_factory=dict)
    address_space: int | None = None

    def encode(self) -> str:
        return isolation.encode_plan({
            "strict": int(self.strict),
            "unshare": self.unshare_flags,
            "uid": self.uid,
            "gid": self.gid,
            "seccomp": self.seccomp.hex() if self.seccomp else None,
            "rlimits": ",".join(f"{which}:{soft}:{hard}" for which, (soft, hard) in self.rlimits.items()),
            "address_space": self.address_space,
        })
