"""Workflow assets against the same workflow without `assets:`, on the PostgreSQL instance.

    .venv/bin/python -m bench.bench_assets [--quick]

Target (ratio in one run, see docs/benchmarks.md): a workflow of 10 `echo` steps with 3 assets and
4 checks (expect) runs in <= 1.3x the wall time of the same workflow without `assets:`, both executed
in this process on a PostgreSQL-backed instance (the ops and the events they store, nothing else).

Also printed, no target of their own:
- the time Dagster's event log spends storing the events only the asset job has (materialisations,
  check evaluations and their planned events), timed around the instance's `store_event` in the same
  runs: the part of the difference no change in how the assets are compiled can remove;
- the same two workflows through `cognos run`, a fresh process per run as a user runs them (start-up,
  compile, the run stored in PostgreSQL), interleaved.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from bench._common import BENCH_HOME, Verdicts, medians, postgres_instance, quiet, table, temp_database
from cognitionos_dagster.dsl import Catalog, load_spec_text

ASSETS_RATIO = 1.3
STEPS = 10

ASSETS = """
assets:
  first:
    value: "{{ steps.s3.output.result }}"
    checks:
      - name: is_mapping
        expect: "{{ value is mapping }}"
      - name: has_n
        expect: "{{ 'n' in value }}"
  middle:
    value: "{{ steps.s6.output.result }}"
    checks:
      - name: n_is_zero
        expect: "{{ value.n == 0 }}"
  last:
    value: "{{ steps.s9.output.result }}"
    checks:
      - name: not_empty
        expect: "{{ value | length > 0 }}"
        blocking: true
"""


def spec_text(name: str, *, with_assets: bool) -> str:
    lines = [f"id: {name}", "version: 1.0.0", "inputs:", "  value: {type: object, default: {n: 0}}", "steps:"]
    prev = "inputs.value"
    for i in range(STEPS):
        lines += [f"  - id: s{i}", "    tool: echo", f'    input: {{value: "{{{{ {prev} }}}}"}}']
        prev = f"steps.s{i}.output.result"
    text = "\n".join([*lines, "outputs:", f'  last: "{{{{ {prev} }}}}"']) + "\n"
    return text + (ASSETS if with_assets else "")


def definitions() -> dg.Definitions:
    from cognitionos_dagster.compiler.jobs import compile_workflows
    from cognitionos_dagster.compiler.resource import WorkflowServicesResource
    from cognitionos_dagster.integrations.database import DatabaseResource
    from cognitionos_dagster.integrations.workflow_assets import IO_MANAGER_KEY, WorkflowAssetIOManager

    catalog = Catalog.permissive()
    specs = [load_spec_text(spec_text("with_assets", with_assets=True), path="with_assets.yaml", catalog=catalog),
             load_spec_text(spec_text("plain", with_assets=False), path="plain.yaml", catalog=catalog)]
    compiled = compile_workflows(specs)
    return dg.Definitions(jobs=compiled.jobs, assets=compiled.assets, resources={
        "cognitionos": WorkflowServicesResource(db=DatabaseResource()),
        IO_MANAGER_KEY: WorkflowAssetIOManager(db=DatabaseResource()),
        # Both jobs hand step results on as a deployed run does (pickles on disk). Left to Dagster,
        # `execute_in_process` would keep the plain job's results in memory but not the asset job's.
        "io_manager": dg.FilesystemIOManager(base_dir=str(BENCH_HOME / "storage")),
    })


# The events an asset job stores and the same job without `assets:` does not (by kind, not count).
ASSET_EVENTS = frozenset({"ASSET_MATERIALIZATION", "ASSET_MATERIALIZATION_PLANNED", "ASSET_CHECK_EVALUATION",
                          "ASSET_CHECK_EVALUATION_PLANNED"})


@contextmanager
def store_times(instance: dg.DagsterInstance) -> Iterator[dict[str, list[float]]]:
    """Seconds spent in the event log's `store_event`, per event type, while the block runs."""
    storage = instance.event_log_storage
    original = storage.store_event
    spent: dict[str, list[float]] = defaultdict(list)

    def store_event(event: dg.EventLogEntry) -> None:
        start = time.perf_counter()
        try:
            original(event)
        finally:
            spent[event.dagster_event.event_type_value if event.dagster_event else "log"].append(
                time.perf_counter() - start)

    storage.store_event = store_event  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        del storage.store_event


def cognos_run_times(runs: int) -> dict[str, float]:
    """Median wall seconds of `cognos run <id> --json` per workflow, each run a fresh process."""
    cognos = str(Path(sys.executable).parent / "cognos")
    with tempfile.TemporaryDirectory(dir=BENCH_HOME) as tmp, temp_database(migrated=True) as url:
        specs = Path(tmp) / "specs"
        specs.mkdir()
        for name, with_assets in (("with_assets", True), ("plain", False)):
            (specs / f"{name}.yaml").write_text(spec_text(name, with_assets=with_assets))
        env = {**os.environ, "COGNITIONOS_WORKFLOW_SPECS": str(specs), "COGNITIONOS_HOME": str(Path(tmp) / "home"),
               "COGNITIONOS_DATABASE_URL": url}

        def runner(name: str) -> Callable[[], None]:
            def run() -> None:
                done = subprocess.run([cognos, "run", name, "--json"], env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    raise RuntimeError(f"cognos run {name} failed: {done.stderr[-2000:]}")

            return run

        return medians({name: runner(name) for name in ("plain", "with_assets")}, runs=runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 runs instead of 9")
    args = parser.parse_args(argv)
    os.environ["COGNITIONOS_HOME"] = str(BENCH_HOME / "home")
    verdicts = Verdicts()
    with temp_database(migrated=True) as app_url, postgres_instance() as instance:
        os.environ["COGNITIONOS_DATABASE_URL"] = app_url
        defs = definitions()
        jobs = {name: defs.resolve_job_def(name) for name in ("with_assets", "plain")}

        def runner(job: dg.JobDefinition) -> Callable[[], None]:
            def run() -> None:
                with quiet():
                    assert job.execute_in_process(instance=instance, raise_on_error=True).success

            return run

        runs = 3 if args.quick else 9
        times = medians({name: runner(job) for name, job in jobs.items()}, runs=runs)
        ratio = times["with_assets"] / times["plain"]
        table("10 echo steps, PostgreSQL instance (median s per run)", ("case", "seconds"),
              [("without assets:", times["plain"]), ("3 assets, 4 checks", times["with_assets"])])
        with store_times(instance) as spent:
            for _ in range(runs):
                runner(jobs["with_assets"])()
        asset_events = sum(sum(spent[kind]) for kind in ASSET_EVENTS) / runs
        count = sum(len(spent[kind]) for kind in ASSET_EVENTS) // runs
        table("Dagster's event log, asset job (mean per run)", ("what", "value"), [
            (f"storing the {count} asset and check events, s", asset_events),
            ("of the plain run's wall time", f"{asset_events / times['plain']:.0%}"),
            ("of the 1.3x target's allowance", f"{asset_events / ((ASSETS_RATIO - 1) * times['plain']):.0%}"),
        ])
        verdicts.check(f"3 assets + 4 checks <= {ASSETS_RATIO}x without (wall)", ratio <= ASSETS_RATIO,
                       f"{ratio:.2f}x")
    cli = cognos_run_times(3 if args.quick else 5)
    table("The same two workflows through `cognos run`, a fresh process each (median s per run)",
          ("case", "seconds"), [("without assets:", cli["plain"]), ("3 assets, 4 checks", cli["with_assets"]),
                                ("ratio", f"{cli['with_assets'] / cli['plain']:.2f}x")])
    return 0 if verdicts.print() else 1


if __name__ == "__main__":
    raise SystemExit(main())
