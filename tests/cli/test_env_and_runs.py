"""`cognos env` and `cognos runs`: Dagster's CLI finds the instance, and launched runs can be found."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import cognos

HELLO = """
    id: hello_runs
    version: 1.0.0
    steps:
      - id: say
        tool: execute_python
        input: {code: "print('hi')"}
"""


def test_env_prints_exports_for_dagster(project: Path) -> None:
    code, out, _ = cognos("env", "--no-prepare")
    assert code == 0
    exports = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
    assert exports["DAGSTER_HOME"] == str(project / "home" / "dagster")
    assert exports["PATH"].endswith(':$PATH"')
    assert "COGNITIONOS_DATABASE_URL" not in exports  # may hold a password; the shell has it already


def test_env_writes_the_instance_config(project: Path) -> None:
    code, _, _ = cognos("env")
    assert code == 0
    assert "postgres" in (project / "home" / "dagster" / "dagster.yaml").read_text()


def test_runs_lists_a_run_with_id_job_status_and_duration(write_spec: Callable[[str, str], Path]) -> None:
    write_spec("hello_runs", HELLO)
    code, out, _ = cognos("run", "hello_runs", "--json")
    assert code == 0, out
    run_id = json.loads(out)["run_id"]

    code, out, _ = cognos("runs", "--json")
    assert code == 0
    row = next(r for r in json.loads(out) if r["run_id"] == run_id)
    # the newest version runs as the `<id>` job, the one that materialises its assets
    assert row["job"] == "hello_runs" and row["workflow"] == "hello_runs@1.0.0"
    assert row["status"] == "SUCCESS" and row["duration_seconds"] > 0

    code, out, _ = cognos("runs", "--limit", "5")
    assert code == 0
    line = next(line for line in out.splitlines() if run_id in line)  # the whole id on one line, not folded
    assert "hello_runs" in line.split() and "success" in line

    code, out, _ = cognos("runs", "--status", "failure", "--json")
    assert code == 0 and json.loads(out) == []
    code, _, err = cognos("runs", "--status", "nonsense")
    assert code == 1 and "unknown run status" in err
