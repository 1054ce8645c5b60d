"""The deployment topology as separate processes: one gRPC code server, the webserver and the daemon.

The same three processes Dagster's Helm chart runs (user code in its own deployment, loaded through a
`grpc_server` workspace entry), started directly so a test can restart or kill any one of them. Each
process gets its own session; `close()` kills every process group it started, run workers included.
"""

from __future__ import annotations

import contextlib
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
import yaml

from cognitionos_dagster.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent
LOCATION = "cognitionos_dagster"
REPOSITORY = "__repository__"

_LOADED = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on RepositoryLocation { repositories { jobs { name } } }
  ... on PythonError { message } } } } } }"""


_LAUNCH = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
  ... on LaunchRunSuccess { run { runId status } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""
_TIMES = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status creationTime startTime endTime } } }"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as conn:
        conn.settimeout(0.5)
        return conn.connect_ex(("127.0.0.1", port)) == 0


def _die_with_parent() -> None:
    """Linux: SIGKILL the child if pytest (or the bench) dies first, so no server outlives it."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Stack:
    """Code server, webserver and daemon on `dagster_home` (which holds dagster.yaml); logs under `logs`."""

    def __init__(self, dagster_home: Path, env: dict[str, str], logs: Path, daemon: bool = True,
                 timeout: float = 120) -> None:
        self.home = dagster_home
        self.env = {**env, "DAGSTER_HOME": str(dagster_home)}
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self.grpc_port, self.port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.workspace = dagster_home / "workspace.yaml"
        entry = {"grpc_server": {"host": "127.0.0.1", "port": self.grpc_port, "location_name": LOCATION}}
        self.workspace.write_text(yaml.safe_dump({"load_from": [entry]}))
        self.client = httpx.Client(base_url=self.base, timeout=30, trust_env=False)
        self.with_daemon = daemon
        self.timeout = timeout  # for the code location to load (it grows with the number of specs)

    # ------------------------------------------------------------------ processes
    def _start(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(cmd, env=self.env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, preexec_fn=_die_with_parent)
        self.procs[name] = proc
        return proc

    def start_code_server(self) -> None:
        self._start("code_server", [str(BIN / "dagster"), "api", "grpc", "-m", "cognitionos_dagster.definitions",
                                           "-h", "127.0.0.1", "-p", str(self.grpc_port), "--location-name", LOCATION])
        self._wait("the code server", lambda: _listening(self.grpc_port), self.timeout)

    def start(self) -> Stack:
        self.start_code_server()
        self._start("webserver", [str(BIN / "dagster-webserver"), "-w", str(self.workspace),
                                  "-h", "127.0.0.1", "-p", str(self.port)])
        if self.with_daemon:
            self.start_daemon()
        self.wait_until_loaded()
        return self

    def start_daemon(self) -> None:
        """Without the daemon, launched runs stay QUEUED: a test starts it when the queue is as it wants."""
        self._start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(self.workspace)])

    def stop_code_server(self, sig: signal.Signals = signal.SIGTERM) -> None:
        proc = self.procs["code_server"]
        _signal_group(proc, sig)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(10)
        del self.procs["code_server"]  # stopped on purpose: waits no longer expect it alive

    def close(self) -> None:
        self.client.close()
        for proc in self.procs.values():
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
            _signal_group(proc, signal.SIGKILL)  # the group: run workers the code server spawned too
            proc.wait(10)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ GraphQL
    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": query, "variables": variables or {}})
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body
        return dict(body["data"])

    def _wait(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                assert p.poll() is None, f"{name} exited while waiting for {what}:\n{self.tail(name)}"
            try:
                if check():
                    return
            except (httpx.HTTPError, AssertionError):
                pass
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}:\n" + "\n".join(self.tail(n) for n in self.procs))

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        self._wait(what, check, timeout)

    def wait_until_loaded(self) -> None:
        def loaded() -> bool:
            entries = self.gql(_LOADED)["workspaceOrError"]["locationEntries"]
            entry = next(e for e in entries if e["name"] == LOCATION)
            location = entry["locationOrLoadError"]
            return bool(entry["loadStatus"] == "LOADED" and location
                        and location["__typename"] == "RepositoryLocation")

        self._wait("the code location in the webserver", loaded, self.timeout)

    def launch(self, job: str, run_config: dict[str, Any] | None = None, tags: dict[str, str] | None = None) -> str:
        """Launch `job` through GraphQL (the webserver queues it; the daemon starts it); its run id."""
        params: dict[str, Any] = {"selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                                               "jobName": job}, "runConfigData": run_config or {}}
        if tags:
            params["executionMetadata"] = {"tags": [{"key": k, "value": v} for k, v in tags.items()]}
        answer = self.gql(_LAUNCH, {"p": params})["launchRun"]
        assert answer["__typename"] == "LaunchRunSuccess", answer
        return str(answer["run"]["runId"])

    def run_times(self, run_id: str) -> dict[str, Any]:
        """status, creationTime (queued), startTime and endTime (epoch seconds) of a run."""
        return dict(self.gql(_TIMES, {"id": run_id})["runOrError"])

    def run_status(self, run_id: str) -> str:
        query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
        return str(self.gql(query, {"id": run_id})["runOrError"]["status"])

    def wait_for_run(self, run_id: str, timeout: float, want: str = "SUCCESS") -> None:
        def done() -> bool:
            status = self.run_status(run_id)
            if status in ("SUCCESS", "FAILURE", "CANCELED") and status != want:
                raise RuntimeError(f"run {run_id} ended {status}, expected {want}")
            return status == want

        try:
            self._wait(f"run {run_id} to reach {want}", done, timeout)
        except RuntimeError as exc:
            raise AssertionError(f"{exc}\n" + "\n".join(self.tail(n) for n in self.procs)) from None

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def tail(self, name: str, lines: int = 25) -> str:
        return f"--- {name}\n" + "\n".join(self.log(name).splitlines()[-lines:])


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
