"""Every name this project takes from Dagster's private modules (`dagster._...`), in one place.

Dagster's public API (`import dagster as dg`) has no equivalent for these; a Dagster upgrade may
move or change them without notice. Checked against dagster 1.13.27. After an upgrade,
`tests/foundation/test_dagster_private.py` imports and exercises each one and fails loudly if one
moved; `cognos arch` refuses a `dagster._` import anywhere else.

- `ReconstructableJob`: the type `dg.build_reconstructable_job` returns (annotations only).
- `CheckRunHealthResult`, `WorkerStatus`: what a run launcher's `check_run_worker_health`
  returns; run monitoring calls it (`MonitoredRunLauncher`).
- `DagsterGrpcClient`, `DagsterUserCodeUnreachableError`: a ping of a code server
  (`cognos dev` waits until its code server answers).
- `DefinitionsLoadContext`, `DefinitionsLoadType`: whether this process rebuilds a location a
  code server loaded (a run or step worker), so it can compile only its own job (`per_job`).
- `RepositoryData`: the interface of a repository's contents; `per_job` answers `get_job` itself.
"""

from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext, DefinitionsLoadType
from dagster._core.definitions.reconstruct import ReconstructableJob
from dagster._core.definitions.repository_definition import RepositoryData
from dagster._core.errors import DagsterUserCodeUnreachableError
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._grpc.client import DagsterGrpcClient

CHECKED_DAGSTER_VERSION = "1.13.27"

__all__ = [
    "CHECKED_DAGSTER_VERSION", "CheckRunHealthResult", "DagsterGrpcClient", "DagsterUserCodeUnreachableError",
    "DefinitionsLoadContext", "DefinitionsLoadType", "ReconstructableJob", "RepositoryData", "WorkerStatus",
    "code_server_answers",
]


def code_server_answers(host: str, port: int) -> bool:
    """The code server at host:port answers a gRPC ping (it listens only once its location loaded)."""
    try:
        DagsterGrpcClient(port=port, host=host).ping("")
    except DagsterUserCodeUnreachableError:
        return False
    return True
