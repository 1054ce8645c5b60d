"""The deployment topology against an external PostgreSQL, and the two faults a deployment meets.

A second embedded server stands in for the managed database: only `COGNITIONOS_DATABASE_URL` names
it, and nothing under the stack's COGNITIONOS_HOME is embedded. One gRPC code server, the webserver
and the daemon load the location through a `grpc_server` entry (tests/support/stack.py); runs are
launched through GraphQL.
- A code-server roll-out: the server is stopped while runs wait in the queue, the daemon fails to
  reach it, and it is started again; every run still succeeds. The daemon starts only once the
  server is down: a run it launched before would run in the server's process group (the default
  launcher's run worker is the server's child) and die with it, which is the next fault, not this one.
- A lost run worker: SIGKILLed mid-run, its run is marked failed, and a run tagged
  `dagster/max_retries` is retried by the daemon, and the retry succeeds.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from cognitionos_dagster.cli.dev import prepare_instance
from cognitionos_dagster.db import embedded
from cognitionos_dagster.db.urls import with_database
from tests.foundation.conftest import server_home
from tests.support.stack import Stack

RUNS = """query($f: RunsFilter) { runsOrError(filter: $f) { ... on Runs { results { runId status
  tags { key value } } } } }"""


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with server_home() as managed:  # the "managed" PostgreSQL
        external = with_database(embedded.ensure_running(managed / "pg").url(), "cognitionos")
        home = tmp_path / "home"
        dagster_home, started = prepare_instance({"home": home, "database_url": external})
        assert not started and not (home / "pg").exists()  # nothing of ours is embedded
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(COGNITIONOS_HOME=str(home), COGNITIONOS_DATABASE_URL=external)
        stack = Stack(dagster_home, env, tmp_path / "logs", daemon=False)
        try:
            yield stack.start()
        finally:
            stack.close()


def launch(stack: Stack, tags: dict[str, str] | None = None) -> str:
    return stack.launch("platform_health", tags=tags)  # jobs run in process by default


def run_worker(stack: Stack, known: set[int], timeout: float = 60) -> psutil.Process:
    """The code server's new child: with the default launcher, a run worker is a process it starts."""
    server = psutil.Process(stack.procs["code_server"].pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = [p for p in server.children(recursive=False)
                 if p.pid not in known and "resource_tracker" not in " ".join(p.cmdline())]  # multiprocessing's helper
        if fresh:
            return fresh[0]
        time.sleep(0.05)
    raise AssertionError("no run worker appeared\n" + stack.tail("code_server") + stack.tail("daemon"))


@pytest.mark.slow
def test_queued_runs_survive_a_code_server_restart_and_a_killed_worker_is_retried(stack: Stack) -> None:
    # (a) A roll-out: stop the code server while runs wait in the queue, start it again on its port.
    queued = [launch(stack) for _ in range(3)]
    assert {stack.run_status(run_id) for run_id in queued} == {"QUEUED"}
    stack.stop_code_server()
    stack.start_daemon()
    stack.wait_for("the daemon to fail a dequeue against the missing code server",
                   lambda: "Caught an error dequeuing run" in stack.log("daemon"), 60)
    stack.start_code_server()
    for run_id in queued:
        stack.wait_for_run(run_id, 120)

    # (b) A run worker SIGKILLed mid-run: the run fails, and the daemon retries a run that asks for it.
    known = {p.pid for p in psutil.Process(stack.procs["code_server"].pid).children()}
    run_id = launch(stack, {"dagster/max_retries": "1"})
    worker = run_worker(stack, known)
    worker.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    stack.wait_for_run(run_id, 60, want="FAILURE")
    detected = time.monotonic() - killed

    def retry() -> list[dict[str, Any]]:
        runs = stack.gql(RUNS, {"f": {"tags": [{"key": "dagster/parent_run_id", "value": run_id}]}})
        return list(runs["runsOrError"]["results"])

    stack.wait_for("the daemon's retry of the killed run", lambda: bool(retry()), 90)
    (child,) = retry()
    stack.wait_for_run(child["runId"], 120)
    assert {"key": "dagster/retry_number", "value": "1"} in child["tags"]
    assert detected < 30, f"the lost worker was noticed after {detected:.1f} s"
