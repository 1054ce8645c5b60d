"""Workflow assets against the same workflow without `assets:`, on the PostgreSQL instance.

    .venv/bin/python -m bench.bench_assets [--quick]

Target (ratio in one run, see docs/benchmarks.md): a workflow of 10 `echo` steps with 3 assets and
4 checks (expect) runs in <= 1.3x the wall time of the same workflow without `assets:`.
"""

import argparse
import os
from collections.abc import Callable

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

        times = medians({name: runner(job) for name, job in jobs.items()}, runs=3 if args.quick else 9)
        ratio = times["with_assets"] / times["plain"]
        table("10 echo steps, PostgreSQL instance (median s per run)", ("case", "seconds"),
              [("without assets:", times["plain"]), ("3 assets, 4 checks", times["with_assets"])])
        verdicts.check(f"3 assets + 4 checks <= {ASSETS_RATIO}x without (wall)", ratio <= ASSETS_RATIO,
                       f"{ratio:.2f}x")
    return 0 if verdicts.print() else 1


if __name__ == "__main__":
    raise SystemExit(main())
