"""The embedded PostgreSQL: start, reuse, stop, restart with data, crash leftovers, a wrong folder."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from cognitionos_dagster.cli.main import app
from cognitionos_dagster.db import embedded, migrate
from cognitionos_dagster.db.connection import connect
from cognitionos_dagster.errors import DatabaseError


def _write_row(pg: Path, value: str) -> None:
    with connect(embedded.status(pg).url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS kept (v text)")
        conn.execute("INSERT INTO kept VALUES (%s)", (value,))


def _rows(pg: Path) -> list[str]:
    with connect(embedded.status(pg).url(), autocommit=True) as conn:
        return [r["v"] for r in conn.execute("SELECT v FROM kept ORDER BY v").fetchall()]


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie init has not reaped yet."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    assert not psutil.pid_exists(proc.pid)
    return proc.pid


def _fake_pidfile(pg: Path, pid: int) -> None:
    """The file a crashed postmaster leaves behind, naming `pid`."""
    (pg / "postmaster.pid").write_text(f"{pid}\n{pg}\n1700000000\n5432\n{pg}\n\n  5390437        22\nready   \n")


def test_start_reuse_stop_and_restart_keep_the_data(stopped_cluster: Path) -> None:
    pg = stopped_cluster
    assert not embedded.status(pg).running

    first = embedded.ensure_running(pg)
    assert first.running and first.pid is not None
    assert embedded.status(pg).pid == first.pid
    assert embedded.ensure_running(pg).pid == first.pid  # reused, not a second server
    assert len([p for p in psutil.process_iter(["cmdline"]) if f"-D {pg}" in " ".join(p.info["cmdline"] or [])]) == 1

    _write_row(pg, "before-stop")
    assert embedded.stop(pg) is True
    assert _gone(first.pid)
    assert not embedded.status(pg).running
    assert embedded.stop(pg) is False  # nothing left to stop

    second = embedded.ensure_running(pg)
    assert second.pid != first.pid
    assert _rows(pg) == ["before-stop"]


def _settings(pg: Path) -> dict[str, str]:
    with connect(embedded.status(pg).url(), autocommit=True) as conn:
        return {key: conn.execute(f"SELECT current_setting('{key}') AS v").fetchone()["v"]
                for key in embedded.tuning()}


def _in_mb(value: str) -> int:
    number, unit = int(value[:-2]), value[-2:]
    return number * {"kB": 1, "MB": 1024, "GB": 1024 * 1024}[unit] // 1024


def test_a_started_server_runs_with_the_tuning_and_gets_it_back_when_it_changed(stopped_cluster: Path) -> None:
    pg = stopped_cluster
    wanted = embedded.tuning()
    embedded.ensure_running(pg)
    running = _settings(pg)
    assert _in_mb(running["shared_buffers"]) == _in_mb(wanted["shared_buffers"]) >= 256
    assert running["max_connections"] == wanted["max_connections"]
    assert running["synchronous_commit"] == "off"

    # A folder tuned by an earlier version (other values, the old marker): the next start re-tunes it.
    with connect(embedded.status(pg).url(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_buffers = '128MB'")
    (pg / embedded.TUNING_MARKER).write_text("tuned\n")
    embedded.stop(pg)
    embedded.ensure_running(pg)
    assert _in_mb(_settings(pg)["shared_buffers"]) == _in_mb(wanted["shared_buffers"])

    # Tuned and unchanged: a restart keeps what an operator set by hand.
    with connect(embedded.status(pg).url(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_buffers = '200MB'")
    embedded.stop(pg)
    embedded.ensure_running(pg)
    assert _settings(pg)["shared_buffers"] == "200MB"
    with connect(embedded.status(pg).url(), autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET shared_buffers = '{wanted['shared_buffers']}'")


def test_a_stale_pidfile_naming_a_dead_process_is_cleared(stopped_cluster: Path) -> None:
    pg = stopped_cluster
    embedded.ensure_running(pg)
    _write_row(pg, "stale-dead")
    embedded.stop(pg)
    _fake_pidfile(pg, _dead_pid())
    assert not embedded.status(pg).running

    st = embedded.ensure_running(pg)
    assert st.running and not _gone(st.pid or -1)
    assert "stale-dead" in _rows(pg)


def test_a_stale_pidfile_naming_another_postgres_is_not_trusted(stopped_cluster: Path) -> None:
    """After a crash the PID may belong to some other PostgreSQL (here: the suite's own server).

    Trusting it would point connections at a socket nobody listens on, and `stop` would
    signal a server that is not ours.
    """
    pg = stopped_cluster
    other = next(  # a postmaster (started with -D), not one of its backends, which come and go
        p for p in psutil.process_iter(["name", "cmdline"])
        if p.info["name"] == "postgres" and "-D" in (p.info["cmdline"] or [])
        and str(pg) not in " ".join(p.info["cmdline"] or [])
    )
    embedded.ensure_running(pg)
    _write_row(pg, "stale-other")
    embedded.stop(pg)
    _fake_pidfile(pg, other.pid)

    assert not embedded.status(pg).running
    assert embedded.stop(pg) is False and other.is_running()
    st = embedded.ensure_running(pg)
    assert st.pid != other.pid
    assert "stale-other" in _rows(pg)


def test_a_stale_pidfile_naming_a_live_non_postgres_process_is_cleared(stopped_cluster: Path) -> None:
    pg = stopped_cluster
    _fake_pidfile(pg, os.getpid())
    st = embedded.ensure_running(pg)
    assert st.running and st.pid != os.getpid()


def test_a_folder_holding_something_else_is_refused_and_left_alone(tmp_path: Path) -> None:
    pg = tmp_path / "pg"
    pg.mkdir()
    (pg / "notes.txt").write_text("my notes")
    with pytest.raises(DatabaseError) as info:
        embedded.ensure_running(pg)
    assert "holds no PostgreSQL cluster" in str(info.value)
    assert "COGNITIONOS_HOME" in (info.value.hint or "")
    assert sorted(p.name for p in pg.iterdir()) == ["notes.txt"]
    assert (pg / "notes.txt").read_text() == "my notes"


def test_a_file_where_the_folder_should_be_is_refused(tmp_path: Path) -> None:
    pg = tmp_path / "pg"
    pg.write_text("not a folder")
    with pytest.raises(DatabaseError, match="is not a folder"):
        embedded.ensure_running(pg)
    assert pg.read_text() == "not a folder"


def test_status_of_a_folder_that_never_held_a_server(tmp_path: Path) -> None:
    st = embedded.status(tmp_path / "nothing")
    assert (st.running, st.pid) == (False, None)
    with pytest.raises(DatabaseError, match="not running") as info:
        st.url()
    assert "cognos db up" in (info.value.hint or "")


def test_cognos_db_up_status_down_manage_the_embedded_server(stopped_cluster: Path) -> None:
    """`COGNITIONOS_HOME` points at the cluster's parent (set by the fixture); no URL is set."""
    head = migrate.head_revision()
    runner = CliRunner()

    up = runner.invoke(app, ["db", "up"])
    assert up.exit_code == 0, up.output
    assert " ".join(up.output.split()).endswith(f"schema at revision {head}")
    assert "PostgreSQL (embedded) at postgresql://postgres:@/cognitionos?host=" in " ".join(up.output.split())

    info = json.loads(runner.invoke(app, ["db", "status", "--json"]).stdout)
    assert info["embedded"] is True and info["running"] is True
    assert info["revision"] == head and info["pid"] == embedded.status(stopped_cluster).pid
    assert info["data_dir"] == str(stopped_cluster)

    up_again = runner.invoke(app, ["db", "up"])
    assert up_again.exit_code == 0 and embedded.status(stopped_cluster).pid == info["pid"]

    assert runner.invoke(app, ["db", "down"]).output.strip() == "stopped"
    after = json.loads(runner.invoke(app, ["db", "status", "--json"]).stdout)
    assert after["running"] is False and "revision" not in after
    assert runner.invoke(app, ["db", "down"]).output.strip().startswith("not running")


def test_a_killed_server_recovers_on_the_next_start(stopped_cluster: Path) -> None:
    """SIGKILL leaves the pid file and un-checkpointed WAL behind: the next start replays it."""
    pg = stopped_cluster
    first = embedded.ensure_running(pg)
    _write_row(pg, "before-crash")
    with connect(first.url(), autocommit=True) as conn:  # commits are asynchronous: wait for the WAL writer
        written = conn.execute("SELECT pg_current_wal_insert_lsn() AS lsn").fetchone()["lsn"]
        while not conn.execute("SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn AS ok", (written,)).fetchone()["ok"]:
            time.sleep(0.05)
    os.kill(first.pid or -1, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while not _gone(first.pid or -1) and time.monotonic() < deadline:
        time.sleep(0.05)
    st = embedded.ensure_running(pg)
    assert st.running and st.pid != first.pid
    assert "before-crash" in _rows(pg)
    assert "automatic recovery in progress" in (pg / "log").read_text()


def _start_frozen_while_starting(pg: Path) -> subprocess.Popen[bytes] | None:
    """Start a postmaster by hand and SIGSTOP it while its pid file still says "starting"."""
    # The wheel's path without importing it: the import warns on hosts without XDG_RUNTIME_DIR.
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None and spec.origin is not None
    postgres = Path(spec.origin).parent / "pginstall" / "bin" / "postgres"
    proc = subprocess.Popen([str(postgres), "-D", str(pg), "-h", "", "-k", str(pg)], user=pg.stat().st_uid,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            lines = (pg / "postmaster.pid").read_text().splitlines()
        except OSError:
            lines = []
        if len(lines) >= 8 and lines[7].strip() == "starting":
            os.kill(proc.pid, signal.SIGSTOP)
            if (pg / "postmaster.pid").read_text().splitlines()[7].strip() == "starting":
                return proc
            os.kill(proc.pid, signal.SIGCONT)
            break
        if len(lines) >= 8 and lines[7].strip() == "ready":
            break
        time.sleep(0.0005)
    embedded.stop(pg)
    return None


def test_a_server_another_process_is_starting_is_awaited(stopped_cluster: Path) -> None:
    """A second process must wait for the starting server (e.g. one replaying WAL after a crash,
    which may take longer than pgserver's 10 s `pg_ctl` timeout), not report a failed start."""
    pg = stopped_cluster
    proc = None
    for _ in range(10):  # the "starting" window lasts ~0.1 s; catch it
        if (proc := _start_frozen_while_starting(pg)) is not None:
            break
    assert proc is not None, "could not catch the postmaster while it was starting"
    assert not embedded.status(pg).running
    threading.Timer(1.5, os.kill, (proc.pid, signal.SIGCONT)).start()
    started = time.monotonic()
    st = embedded.ensure_running(pg)
    assert st.running and st.pid == proc.pid  # the same server, not a second one
    assert time.monotonic() - started >= 1.4
