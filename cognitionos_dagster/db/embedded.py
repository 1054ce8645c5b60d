"""The embedded PostgreSQL (with pgvector) from the `pgserver` wheel.

Used when no `COGNITIONOS_DATABASE_URL` is set. Every process (CLI, webserver, daemon,
code server, run workers) calls `ensure_running`; the first starts the server, the
others find it through `postmaster.pid` and reuse it. The server outlives the process
that started it; `stop` (used by `cognos db down` and `cognos dev` on exit) ends it.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from cognitionos_dagster.errors import DatabaseError

log = logging.getLogger(__name__)

APP_DATABASE = "cognitionos"
RECOVERY_TIMEOUT = 300.0  # seconds a starting server (crash recovery included) gets to become ready
DAGSTER_DATABASE = "dagster"


@dataclass(frozen=True)
class ServerStatus:
    """What `postmaster.pid` says about the server in a data folder."""

    data_dir: Path
    pid: int | None
    socket_dir: Path | None
    port: int | None
    running: bool  # ready for connections
    starting: bool = False  # our postmaster is alive but not ready yet: starting, or recovering after a crash

    def url(self, database: str = "postgres") -> str:
        if not self.running or self.socket_dir is None:
            raise DatabaseError(
                f"the embedded PostgreSQL in {self.data_dir} is not running",
                hint="start it with `cognos db up` (or `make run`)",
            )
        port = f"&port={self.port}" if self.port and self.port != 5432 else ""
        return f"postgresql://postgres:@/{database}?host={self.socket_dir}{port}"


def _pid_alive(pid: int) -> bool:
    """A zombie counts as dead: the postmaster is re-parented to init, which may reap it
    only seconds after it exited, and `stop` must not wait for that."""
    import psutil  # a dependency of pgserver

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _is_our_postgres(pid: int, data_dir: Path) -> bool:
    """Is `pid` the postmaster of *this* folder? After a crash the PID in a stale
    `postmaster.pid` may have been reused, possibly by another PostgreSQL."""
    import psutil  # a dependency of pgserver

    try:
        cmdline = psutil.Process(pid).cmdline()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return _pid_alive(pid)
    if not cmdline or "postgres" not in Path(cmdline[0]).name:
        return False
    args = " ".join(cmdline)
    return str(data_dir.resolve()) in args or str(data_dir) in args


def status(data_dir: Path) -> ServerStatus:
    """Read the server's state without starting anything."""
    pidfile = data_dir / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
    except OSError:  # missing, unreadable, or `data_dir` is a file
        return ServerStatus(data_dir, None, None, None, False)
    try:
        pid = int(lines[0])
        port = int(lines[3]) if len(lines) > 3 and lines[3].strip() else None
        socket_dir = Path(lines[4]) if len(lines) > 4 and lines[4].strip() else None
    except (IndexError, ValueError):
        return ServerStatus(data_dir, None, None, None, False)
    running = _pid_alive(pid) and _is_our_postgres(pid, data_dir)
    ready = running and (len(lines) < 8 or lines[7].strip() in ("ready", ""))
    return ServerStatus(data_dir, pid, socket_dir, port, ready, starting=running and not ready)


def _await_start(data_dir: Path, timeout: float) -> ServerStatus | None:
    """Wait for a postmaster that is starting and tune it; None when it died or `timeout` passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = status(data_dir)
        if current.running:
            _tune_once(current)
            return current
        if not current.starting:
            return None
        time.sleep(0.1)
    return None


def _check_data_dir(data_dir: Path) -> None:
    """Refuse a folder that holds something other than a PostgreSQL cluster."""
    if data_dir.exists() and not data_dir.is_dir():
        raise DatabaseError(
            f"{data_dir} exists and is not a folder",
            hint="move it away or set COGNITIONOS_HOME to another folder",
        )
    if data_dir.is_dir() and any(data_dir.iterdir()) and not (data_dir / "PG_VERSION").exists():
        entries = {p.name for p in data_dir.iterdir()}
        if entries - {".handle_pids.json", "log"}:
            raise DatabaseError(
                f"{data_dir} is not empty and holds no PostgreSQL cluster (no PG_VERSION)",
                hint="point COGNITIONOS_HOME at another folder; nothing in this one was touched",
            )


def _clear_stale_pidfile(data_dir: Path) -> None:
    """After a crash `postmaster.pid` may name a dead or reused PID: PostgreSQL then refuses
    to start. The cluster's data is intact; only the lock file is stale."""
    pidfile = data_dir / "postmaster.pid"
    if not pidfile.exists():
        return
    st = status(data_dir)
    if st.pid is not None and _pid_alive(st.pid) and _is_our_postgres(st.pid, data_dir):
        return
    log.warning("removing stale %s (PID %s is not a running PostgreSQL)", pidfile, st.pid)
    # The socket's lock file names the same PID. PostgreSQL trusts any PID that `kill(pid, 0)`
    # reaches, and a crashed postmaster stays a zombie where PID 1 does not reap (a container
    # without an init): the server would then refuse to start until the zombie is gone.
    for lock in (st.socket_dir or data_dir).glob(".s.PGSQL.*.lock"):
        try:
            named = int(lock.read_text().splitlines()[0])
        except (OSError, IndexError, ValueError):
            continue
        if named == st.pid:
            lock.unlink(missing_ok=True)
    pidfile.unlink(missing_ok=True)


def ensure_running(data_dir: Path) -> ServerStatus:
    """Start the embedded server unless it already runs; return its status."""
    current = status(data_dir)
    if current.running:
        return current
    _check_data_dir(data_dir)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale_pidfile(data_dir)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import pgserver
            from pgserver.postgres_server import PostgresServer
    except ImportError as exc:  # no wheel for this Python (e.g. 3.13)
        raise DatabaseError(
            "the embedded PostgreSQL needs the `pgserver` wheel, which is not installed",
            hint="use Python 3.11 or 3.12 (`make install`), or set COGNITIONOS_DATABASE_URL",
        ) from exc
    if status(data_dir).starting and (started := _await_start(data_dir, RECOVERY_TIMEOUT)):
        return started  # another process started it a moment ago
    # pgserver caches a handle per folder; after a stop it would hand back the dead one.
    PostgresServer._instances.pop(data_dir.resolve(), None)
    try:
        pgserver.get_server(data_dir, cleanup_mode=None)
    except Exception as exc:
        # pgserver gives `pg_ctl start` 10 s. After an unclean shutdown PostgreSQL first syncs
        # the data folder and replays its WAL, which can take longer; it keeps starting.
        if status(data_dir).starting:
            log.warning("the embedded PostgreSQL in %s is recovering after an unclean shutdown; waiting up to"
                        " %.0f s", data_dir, RECOVERY_TIMEOUT)
            if started := _await_start(data_dir, RECOVERY_TIMEOUT):
                return started
        logfile = data_dir / "log"
        tail = ""
        if logfile.exists():
            tail = "\n".join(logfile.read_text(errors="replace").splitlines()[-8:])
        raise DatabaseError(
            f"the embedded PostgreSQL in {data_dir} did not start: {exc}\n{tail}",
            hint=f"read {logfile}; if another server uses this folder, stop it (`cognos db down`)",
        ) from exc
    if started := _await_start(data_dir, 5.0):
        return started
    raise DatabaseError(f"the embedded PostgreSQL in {data_dir} did not become ready")


def _shared_buffers() -> str:
    """An eighth of the machine's memory, kept between 256 MB and 512 MB.

    Why: the vector index and the rows a search reads should stay in PostgreSQL's own cache; with
    too little, every search reads pages back from the OS. Not more: without huge pages, a new
    backend faults in every 4 KB of shared memory it touches for the first time, which slowed
    lifecycle passes on fresh connections (sizes and figures in docs/benchmarks.md,
    "Measurements behind the code").
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # not reported on this platform
        return "256MB"
    return f"{min(512, max(256, total // 8 // 2**20))}MB"


def tuning() -> dict[str, str]:
    """The settings the embedded server runs with (applied by `_tune_once`)."""
    return {
        "max_connections": "300",
        "shared_buffers": _shared_buffers(),
        "maintenance_work_mem": "1GB",
        "max_parallel_maintenance_workers": "2",
        "synchronous_commit": "off",
    }


TUNING_MARKER = ".cognitionos_tuned"


def _tune_once(st: ServerStatus) -> None:
    """Raise limits suited to Dagster's connection pools, vector searches and index builds.

    `max_connections` and `shared_buffers` need a restart, done right after the server starts
    whenever the settings differ from those its folder was last tuned with (a new cluster, or
    a project version that changed them). `synchronous_commit=off` trades the last few hundred
    ms of commits on an OS crash for speed: this is a developer's embedded server.
    """
    marker = st.data_dir / TUNING_MARKER
    settings = tuning()
    wanted = "".join(f"{key}={value}\n" for key, value in settings.items())
    try:
        if marker.read_text() == wanted:
            return
    except OSError:  # not tuned yet
        pass
    import psycopg

    with psycopg.connect(st.url(), autocommit=True) as conn:
        for key, value in settings.items():
            conn.execute(f"ALTER SYSTEM SET {key} = '{value}'")
    try:
        marker.write_text(wanted)
    except PermissionError:
        return
    log.info("restarting the embedded PostgreSQL in %s to apply its settings", st.data_dir)
    stop(st.data_dir)
    ensure_running(st.data_dir)


def stop(data_dir: Path, timeout: float = 20.0) -> bool:
    """Fast shutdown (SIGINT): open transactions roll back, committed data stays.

    Returns False when no server was running.
    """
    st = status(data_dir)
    if not st.running or st.pid is None:
        return False
    os.kill(st.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(st.pid):
            return True
        time.sleep(0.05)
    os.kill(st.pid, signal.SIGQUIT)
    return True
