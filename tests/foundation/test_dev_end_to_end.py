"""`cognos dev` for real: UI up, code location loaded, a run queued and finished by the daemon,
SIGTERM stops every process it started (PostgreSQL included), and a restart finds the run again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from typer.testing import CliRunner

from cognitionos_dagster.cli.main import app
from cognitionos_dagster.db import embedded

COGNOS = str(Path(sys.executable).parent / "cognos")

LOCATION = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on RepositoryLocation { repositories { name jobs { name } } }
  ... on PythonError { message } } } } } }"""
LAUNCH = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
  ... on LaunchRunSuccess { run { runId status } } ... on PythonError { message } } }"""
RUN = """query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"""
RUNS = """{ runsOrError { ... on Runs { results { runId status jobName } } } }"""


def _terminate_with_parent() -> None:
    """Linux: SIGTERM `cognos dev` if pytest itself is killed, so no server outlives the suite."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Dev:
    """One `cognos dev` process in its own process group, with its log in a file."""

    def __init__(self, home: Path, port: int, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "COGNITIONOS_DATABASE_URL"}
        env["COGNITIONOS_HOME"] = str(home)
        self.log = log
        self.started = time.monotonic()
        self.base = f"http://127.0.0.1:{port}"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [COGNOS, "dev", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_terminate_with_parent,
            )
        self.client = httpx.Client(base_url=self.base, timeout=10, trust_env=False)

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": query, "variables": variables or {}})
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"cognos dev exited while waiting for {what}:\n{self.tail()}"
            try:
                if check():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}:\n{self.tail()}")

    def wait_until_loaded(self) -> None:
        self.wait_for("/server_info", lambda: self.client.get("/server_info").status_code == 200, 90)

        def loaded() -> bool:
            entries = self.gql(LOCATION)["workspaceOrError"]["locationEntries"]
            entry = next(e for e in entries if e["name"] == "cognitionos_dagster")
            location = entry["locationOrLoadError"]
            assert location is None or location["__typename"] != "PythonError", location
            return entry["loadStatus"] == "LOADED" and any(
                job["name"] == "platform_health" for repo in location["repositories"] for job in repo["jobs"]
            )

        self.wait_for("the code location", loaded, 60)

    def processes(self) -> list[psutil.Process]:
        return [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]

    def terminate_group(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


def _gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _stop_and_check_everything_is_gone(dev: Dev, postmaster: psutil.Process) -> None:
    started = [*dev.processes(), postmaster]
    assert len(started) >= 5, [p.cmdline()[:3] for p in started]  # cognos, webserver, daemon, code servers, pg
    dev.terminate_group()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(_gone(p) for p in started):
        time.sleep(0.2)
    left = [(p.pid, " ".join(p.cmdline())[:120]) for p in started if not _gone(p)]
    assert not left, f"still running 30 s after SIGTERM: {left}\n{dev.tail()}"
    assert dev.proc.wait(5) == 0, dev.tail()


@pytest.mark.slow
def test_cognos_dev_runs_a_job_stops_cleanly_and_keeps_runs(fresh_home: Path, tmp_path: Path) -> None:
    dev_home = fresh_home
    port = free_port()
    dev = Dev(dev_home, port, tmp_path / "dev.log")
    try:
        dev.wait_until_loaded()
        assert "grpc_server" in (dev_home / "dagster" / "workspace.yaml").read_text()  # one code server, shared
        postmaster = psutil.Process(embedded.status(dev_home / "pg").pid or -1)
        selector = {"repositoryLocationName": "cognitionos_dagster", "repositoryName": "__repository__",
                    "jobName": "platform_health"}
        launched = dev.gql(LAUNCH, {"p": {"selector": selector, "runConfigData": {}}})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        assert launched["run"]["status"] == "QUEUED"  # the queued coordinator; the daemon dequeues it

        def finished() -> bool:
            status = dev.gql(RUN, {"id": run_id})["runOrError"]["status"]
            assert status not in ("FAILURE", "CANCELED"), f"run {status}:\n{dev.tail()}"
            return bool(status == "SUCCESS")

        dev.wait_for("the run to succeed", finished, 90)

        # A compiled workflow through the same path as the Launchpad: typed inputs as run config,
        # the queue, the daemon, a run worker that rebuilds the job from the code location.
        workflow = {**selector, "jobName": "health_check"}
        launched = dev.gql(LAUNCH, {"p": {"selector": workflow, "runConfigData": {"require_daemon": True}}})
        assert launched["launchRun"]["__typename"] == "LaunchRunSuccess", launched
        run_id_wf = launched["launchRun"]["run"]["runId"]

        def workflow_finished() -> bool:
            status = dev.gql(RUN, {"id": run_id_wf})["runOrError"]["status"]
            assert status not in ("FAILURE", "CANCELED"), f"workflow run {status}:\n{dev.tail()}"
            return bool(status == "SUCCESS")

        dev.wait_for("the workflow run to succeed", workflow_finished, 120)
        # One code server for both the webserver and the daemon: the daemon's workspace reload
        # (every 60 s) reconnects to it instead of replacing its own, so none times out.
        time.sleep(max(0.0, 95 - (time.monotonic() - dev.started)))
        log = dev.log.read_text(errors="replace")
        assert "No heartbeat received" not in log, dev.tail()
        assert log.count("Started Dagster code proxy server") == 1, dev.tail()
        _stop_and_check_everything_is_gone(dev, postmaster)
        assert not embedded.status(dev_home / "pg").running

        dev = Dev(dev_home, port, tmp_path / "dev.log")
        dev.wait_until_loaded()
        runs = dev.gql(RUNS)["runsOrError"]["results"]
        assert {"runId": run_id, "status": "SUCCESS", "jobName": "platform_health"} in runs
        _stop_and_check_everything_is_gone(dev, psutil.Process(embedded.status(dev_home / "pg").pid or -1))
    finally:
        if dev.proc.poll() is None:
            os.killpg(dev.proc.pid, signal.SIGKILL)
            for child in psutil.Process(dev.proc.pid).children(recursive=True):
                child.kill()


def test_a_taken_port_fails_before_anything_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITIONOS_HOME", str(tmp_path / "home"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["dev", "--port", str(port)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert f"error: cannot serve the Dagster UI on 127.0.0.1:{port}: Address already in use" in text
    assert "cognos dev --port N" in text
    assert not (tmp_path / "home").exists()  # no PostgreSQL, no dagster.yaml
