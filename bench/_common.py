"""What the benchmarks share: a PostgreSQL of their own, throw-away databases, timing and a verdict table.

The server is the embedded one under `.cognitionos/bench/pg` (not the tests' server, so a benchmark
never competes with a test run for its databases); a process that started it stops it at exit when no
other client is connected.
"""

from __future__ import annotations

import atexit
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cognitionos_dagster.settings import PROJECT_ROOT

if TYPE_CHECKING:  # dagster is imported only by the benchmarks that run jobs
    import dagster as dg

BENCH_HOME = PROJECT_ROOT / ".cognitionos" / "bench"
_PG_DIR = BENCH_HOME / "pg"


def server_url(database: str = "postgres") -> str:
    """The bench server's URL for `database`; starts the server on first use (and stops it at exit)."""
    from cognitionos_dagster.db import embedded

    if not embedded.status(_PG_DIR).running:
        BENCH_HOME.mkdir(parents=True, exist_ok=True)
        embedded.ensure_running(_PG_DIR)
        atexit.register(_stop_server)
    return embedded.status(_PG_DIR).url(database)


def _stop_server() -> None:
    from cognitionos_dagster.db import embedded
    from cognitionos_dagster.db.connection import close_all_pools

    close_all_pools()
    # Another benchmark may have found the server running and still use it: stop only an idle server.
    import psycopg

    try:
        with psycopg.connect(embedded.status(_PG_DIR).url(), autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity "
                               "WHERE datname IS NOT NULL AND pid <> pg_backend_pid()").fetchone()
    except Exception:  # stopped by someone else already, or unreachable: nothing to do at exit
        return
    if row and row[0] == 0:
        embedded.stop(_PG_DIR)


@contextmanager
def temp_database(*, migrated: bool) -> Iterator[str]:
    """A fresh database on the bench server (migrated to head when asked), dropped afterwards with the
    Dagster storage database a `cognos` process run against it created."""
    from cognitionos_dagster.db import migrate
    from cognitionos_dagster.db.connection import close_all_pools, connect

    name = f"bench_{uuid.uuid4().hex[:12]}"
    with connect(server_url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = server_url(name)
    try:
        if migrated:
            migrate.upgrade(url)
        yield url
    finally:
        close_all_pools()
        with connect(server_url(), autocommit=True) as admin:
            # `cognos` pointed at this database keeps Dagster's storage in `<name>_dagster` beside it.
            for database in (name, f"{name}_dagster"):
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@contextmanager
def postgres_instance() -> Iterator[dg.DagsterInstance]:
    """A Dagster instance whose runs and events live in a fresh database on the bench server."""
    import dagster as dg

    from cognitionos_dagster.defs.instance_config import write_instance_config

    with temp_database(migrated=False) as url, tempfile.TemporaryDirectory(dir=BENCH_HOME) as home:
        write_instance_config(Path(home), url)
        instance = dg.DagsterInstance.from_config(home)
        try:
            yield instance
        finally:
            instance.dispose()


@contextmanager
def quiet() -> Iterator[None]:
    """Dagster's console logger echoes every event at DEBUG and a compiled job's config mapping owns its whole
    run config (no `loggers:` key), so both sides write the echo to /dev/null; events are still stored."""
    with open(os.devnull, "w") as sink, redirect_stderr(sink):
        yield


_MODEL_SERVER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("bench_openai_server", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
delay = float(sys.argv[2])

def slow(request):
    reply = module.auto_reply(request)
    reply.delay = delay if request.route.endswith("/chat/completions") else 0.0
    return reply

server = module.OpenAIServer(default=slow).start()
print(server.base_url, flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
"""


@contextmanager
def delayed_model_server(delay: float) -> Iterator[None]:
    """The tests' local OpenAI-compatible server (the real `openai` client over real HTTP) answering every chat
    call after `delay` seconds, in its own process as a real endpoint would be (in-process, its JSON work
    would compete for the benchmark's GIL); OPENAI_BASE_URL/OPENAI_API_KEY point at it meanwhile."""
    path = PROJECT_ROOT / "tests" / "support" / "openai_server.py"
    proc = subprocess.Popen([sys.executable, "-c", _MODEL_SERVER, str(path), str(delay)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    saved = {k: os.environ.get(k) for k in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    try:
        assert proc.stdout is not None
        os.environ.update(OPENAI_BASE_URL=proc.stdout.readline().strip(), OPENAI_API_KEY="sk-bench")
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of `fn` takes."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@dataclass(frozen=True)
class Clock:
    """Wall and CPU seconds of one call. For single-threaded work CPU time is what wall time would be
    on an idle machine, so ratios stay meaningful while other processes share the cores."""

    wall: float
    cpu: float


def clocked(fn: Callable[[], object]) -> Clock:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return Clock(time.perf_counter() - wall, time.process_time() - cpu)


def medians(cases: dict[str, Callable[[], object]], runs: int, *, warmup: int = 1) -> dict[str, float]:
    """Median seconds per case; the cases are interleaved run by run so they see the same machine load."""
    for _ in range(warmup):
        for fn in cases.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, fn in cases.items():
            samples[name].append(timed(fn))
    return {name: statistics.median(values) for name, values in samples.items()}


@dataclass
class Verdicts:
    """Each target once, with the figure that decides it; printed last so a reader sees them together."""

    rows: list[tuple[str, bool, str]] = field(default_factory=list)

    def check(self, target: str, ok: bool, figure: str) -> bool:
        self.rows.append((target, ok, figure))
        return ok

    def print(self) -> bool:
        width = max((len(t) for t, _, _ in self.rows), default=10)
        print("\nTargets")
        for target, ok, figure in self.rows:
            print(f"  {'PASS' if ok else 'FAIL'}  {target:<{width}}  {figure}")
        return all(ok for _, ok, _ in self.rows)

    def exit(self, *, quick: bool) -> None:
        """Print the targets and exit 1 when one failed, except for a `--quick` run, whose smaller data
        the targets are not stated for."""
        ok = self.print()
        if quick:
            print("\n(--quick: smaller data; the targets are stated for the full run)")
        raise SystemExit(0 if ok or quick else 1)


def table(title: str, header: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> None:
    """A plain fixed-width table: first column left-aligned, the figures right-aligned."""
    cells = [tuple(str(c) for c in header)] + [tuple(_cell(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for row in cells:
        first, *rest = row
        print("  " + first.ljust(widths[0]) + "".join(f"  {c:>{w}}" for c, w in zip(rest, widths[1:], strict=True)))


def _cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
