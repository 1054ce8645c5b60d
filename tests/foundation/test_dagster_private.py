"""The private Dagster names in `defs/dagster_private.py` still exist and still behave as used.

Fails loudly after a Dagster upgrade that moved or changed one of them; then find the new home
(or a public replacement) and update the module and CHECKED_DAGSTER_VERSION.
"""

from __future__ import annotations

import socket
from importlib.metadata import version

import dagster as dg

from cognitionos_dagster.defs import dagster_private as private
from cognitionos_dagster.defs.reconstruct import reconstructable_workflow_job
from cognitionos_dagster.defs.run_launcher import MonitoredRunLauncher


def test_the_checked_version_is_the_installed_minor() -> None:
    installed = version("dagster").split(".")[:2]
    checked = private.CHECKED_DAGSTER_VERSION.split(".")[:2]
    assert installed == checked, (
        f"dagster {version('dagster')} is installed, defs/dagster_private.py was checked against "
        f"{private.CHECKED_DAGSTER_VERSION}: re-check its names and update CHECKED_DAGSTER_VERSION"
    )


def test_reconstructable_job_is_what_build_reconstructable_job_returns() -> None:
    job = reconstructable_workflow_job("health_check", None)
    assert isinstance(job, private.ReconstructableJob)
    assert job.get_python_origin().get_id()  # still a full reconstructable origin


def test_run_health_result_and_worker_status_are_what_the_launcher_returns() -> None:
    assert issubclass(MonitoredRunLauncher, dg.DefaultRunLauncher)
    result = private.CheckRunHealthResult(private.WorkerStatus.FAILED, "gone")
    assert (result.status, result.msg) == (private.WorkerStatus.FAILED, "gone")
    assert {"RUNNING", "FAILED"} <= {s.name for s in private.WorkerStatus}


def test_a_port_nobody_serves_is_not_a_code_server() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert private.code_server_answers("127.0.0.1", port) is False


def test_load_context_and_repository_data_are_what_per_job_builds_on() -> None:
    from cognitionos_dagster.defs.per_job import PerJobRepositoryData, reconstructing

    assert issubclass(PerJobRepositoryData, private.RepositoryData)
    assert isinstance(reconstructing(), bool)  # the load context still answers (its value is process state)
    assert {"INITIALIZATION", "RECONSTRUCTION"} <= {t.name for t in private.DefinitionsLoadType}
