"""Whether PostgreSQL's shared memory sits on huge pages, and how many it would need.

Why it matters here: a vector search walks the HNSW graph across the whole index in shared
memory, hundreds of buffers scattered over an index far larger than a TLB covers on 4 kB pages,
so most of those reads first walk the page tables (in a VM, two levels). Two servers on the same
memories, queried in the same turns on this machine: the bare index query took less time on huge
pages at p50 and p95 (docs/benchmarks.md has the figures).

PostgreSQL asks for huge pages itself (`huge_pages = try`, its default), but only the kernel's
reserved pool can serve them (`vm.nr_hugepages`), which an administrator sets; nothing here
changes the machine. This reports what the server needs and whether it got it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import tuple_row


@dataclass(frozen=True)
class HugePages:
    setting: str  # the server's `huge_pages`: try, on or off
    needed: int | None  # pages of the kernel's huge page size the server's shared memory takes
    in_use: bool | None  # None: the server's process is not visible from here
    reserved: int | None  # the kernel's pool (`vm.nr_hugepages`); None off Linux
    page_kb: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def advice(self) -> str:
        """One line for `cognos db status`."""
        if self.in_use:
            return "in use"
        if self.setting == "off":
            return "off (huge_pages = off in the server's settings)"
        if self.needed is None or self.reserved is None:
            return "unknown on this platform"
        size = f"{self.page_kb // 1024} MB" if self.page_kb else "huge"
        if self.in_use is None:
            return (f"unknown: only a server reached through a Unix socket can be inspected from here; it needs "
                    f"{self.needed} pages of {size}")
        return (f"not in use: the server needs {self.needed} pages of {size}, the kernel reserves {self.reserved};"
                " see docs/operations.md, 'Huge pages'")


def probe(conn: psycopg.Connection[Any]) -> HugePages:
    """Ask the server for its setting and need; read the rest from /proc (Linux).

    A backend maps the shared memory its postmaster created, so the connection's own backend
    shows whether it is on huge pages, when the server is on this machine (a Unix socket).
    """
    setting = str(_show(conn, "huge_pages") or "unknown")
    needed = _show(conn, "shared_memory_size_in_huge_pages")  # PostgreSQL 15+; -1 when unsupported
    meminfo = _meminfo()
    return HugePages(
        setting=setting,
        needed=int(needed) if needed is not None and int(needed) >= 0 else None,
        in_use=_maps_huge_memory(conn.info.backend_pid) if conn.info.host.startswith("/") else None,
        reserved=meminfo.get("HugePages_Total"),
        page_kb=meminfo.get("Hugepagesize"),
    )


def _show(conn: psycopg.Connection[Any], name: str) -> str | None:
    with conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute("SELECT current_setting(%s, true)", (name,)).fetchone()
    return row[0] if row and row[0] else None


def _meminfo() -> dict[str, int]:
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return {}
    out: dict[str, int] = {}
    for line in lines:
        key, _, rest = line.partition(":")
        if key.startswith("Huge") and rest.split():
            out[key] = int(rest.split()[0])
    return out


def _maps_huge_memory(pid: int) -> bool | None:
    """Shared memory on huge pages is mapped as `/anon_hugepage`. None when the process is not a
    PostgreSQL backend we can read (a socket shared from another container, say)."""
    proc = Path(f"/proc/{pid}")
    try:
        if b"postgres" not in (proc / "cmdline").read_bytes():
            return None
        return "/anon_hugepage" in (proc / "maps").read_text()
    except OSError:
        return None
