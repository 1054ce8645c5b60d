"""The workflow compiler against plain Dagster: parse, compile, run a chain, fan out with foreach.

    .venv/bin/python -m bench.bench_compiler [--quick] [--only parse,compile,chain,foreach]

Every ratio compares with a baseline measured in the same run (see docs/benchmarks.md):
1. parse + validate 1,000 specs x 20 steps <= 2 s; 2,000 specs <= 2.2x the time of 1,000;
2. compile to Definitions (+ repository validation) <= 1.3x hand-built Dagster jobs of the same graphs;
3. a chain of N `echo` steps <= 1.2x the same graph of plain ops (N = 50, 200; ephemeral and PostgreSQL
   instances), and <= 8 step-level events per step;
4. foreach of 100 items sleeping 200 ms at concurrency 16 <= 2 s and >= 10x faster than concurrency 1.
"""

import argparse
import gc
import os
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any

import dagster as dg

from bench._common import (
    BENCH_HOME,
    Clock,
    Verdicts,
    clocked,
    delayed_model_server,
    medians,
    postgres_instance,
    quiet,
    table,
    temp_database,
    timed,
)
from bench.bench_dsl import spec_text
from cognitionos_dagster.dsl import Catalog, load_spec_text
from cognitionos_dagster.dsl.expressions import analyze
from cognitionos_dagster.dsl.models import WorkflowSpec

PARSE_SECONDS, PARSE_SCALING = 2.0, 2.2
COMPILE_RATIO = 1.3
RUN_RATIO, EVENTS_PER_STEP = 1.2, 8.0
FOREACH_SECONDS, FOREACH_SPEEDUP, ITEM_SLEEP = 2.0, 10.0, 0.2


def compiled_definitions(specs: list[WorkflowSpec]) -> dg.Definitions:
    """The compiler's jobs and schedules with the services resource they need (what the code location
    adds besides, one asset, check and sensor, does not grow with the specs)."""
    from cognitionos_dagster.compiler.jobs import compile_workflows
    from cognitionos_dagster.compiler.resource import WorkflowServicesResource
    from cognitionos_dagster.integrations.database import DatabaseResource

    compiled = compile_workflows(specs)
    return dg.Definitions(jobs=compiled.jobs, schedules=compiled.schedules,
                          resources={"cognitionos": WorkflowServicesResource(db=DatabaseResource())})


# ------------------------------------------------------------------------------------------- baselines
class HandServices(dg.ConfigurableResource):
    """The hand-built jobs' stand-in for the `cognitionos` resource, so both sides bind one resource."""

    label: str = "hand"


def _passthrough(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[dg.Output]:
    yield dg.Output({"status": "succeeded", "output": None, "attempts": 1})


def _hand_op(name: str, ins: list[str], **kwargs: Any) -> dg.OpDefinition:
    return dg.OpDefinition(compute_fn=_passthrough, name=name, ins={i: dg.In() for i in ins},
                           outs={"result": dg.Out()}, required_resource_keys={"services"}, **kwargs)


Node = tuple[str, str, tuple[tuple[str, str], ...], bool]
"""(alias, op definition name, ((input, upstream alias), ...), takes config)"""


def job_shapes(jobs: list[dg.JobDefinition]) -> dict[str, list[Node]]:
    """The nodes and edges of compiled jobs, so the hand-built baseline has exactly the same graphs."""
    shapes: dict[str, list[Node]] = {}
    for job in jobs:
        defs = {d.name: d for d in job.graph.node_defs}
        nodes: list[Node] = []
        for invocation, edges in job.graph.dependencies.items():
            assert isinstance(invocation, dg.NodeInvocation), "the compiler names every node by alias"
            op = defs[invocation.name]
            assert isinstance(op, dg.OpDefinition), "bench specs have no sub-workflows"
            ins = tuple((name, dep.node) for name, dep in edges.items() if isinstance(dep, dg.DependencyDefinition))
            nodes.append((invocation.alias or invocation.name, op.name, ins, op.config_schema is not None))
        shapes[job.name] = nodes
    return shapes


def hand_definitions(shapes: dict[str, list[Node]], schedules: list[tuple[str, str, str]]) -> dg.Definitions:
    """The same jobs and schedules written with plain Dagster ops, as a user would: each op once, each
    distinct graph once (a spec's versioned and `<id>` jobs are one graph, `to_job` twice)."""
    ops: dict[str, dg.OpDefinition] = {}
    graphs: dict[tuple[Node, ...], dg.GraphDefinition] = {}
    jobs: dict[str, dg.JobDefinition] = {}
    for name, nodes in shapes.items():
        graph = graphs.get(tuple(nodes))
        if graph is None:
            deps: dict[Any, Any] = {}
            for alias, op_name, ins, configured in nodes:
                if op_name not in ops:
                    config = dg.Permissive() if configured else None
                    ops[op_name] = _hand_op(op_name, [i for i, _ in ins], config_schema=config)
                deps[dg.NodeInvocation(op_name, alias=alias)] = {i: dg.DependencyDefinition(up) for i, up in ins}
            graph = dg.GraphDefinition(name=name, node_defs=[ops[n[1]] for n in nodes], dependencies=deps)
            graphs[tuple(nodes)] = graph
        jobs[name] = graph.to_job(name=name, executor_def=dg.in_process_executor)
    return dg.Definitions(
        jobs=list(jobs.values()),
        schedules=[dg.ScheduleDefinition(name=n, job=jobs[j], cron_schedule=c) for n, j, c in schedules],
        resources={"services": HandServices()},
    )


def chain_spec_text(n: int) -> str:
    """N `echo` steps, each echoing the previous step's result."""
    lines = [f"id: chain_{n}", "version: 1.0.0", "inputs:", "  value: {type: object, default: {n: 0}}", "steps:"]
    prev = "inputs.value"
    for i in range(n):
        lines += [f"  - id: s{i}", "    tool: echo", f'    input: {{value: "{{{{ {prev} }}}}"}}']
        prev = f"steps.s{i}.output.result"
    return "\n".join([*lines, "outputs:", f'  last: "{{{{ {prev} }}}}"']) + "\n"


def hand_chain_job(shape: list[Node], name: str) -> dg.JobDefinition:
    """The chain's graph (read off the compiled job) as plain ops: each takes the previous op's small dict
    and returns one; the first reads `_inputs`, as the compiled `s0` does."""

    def make(upstream: str | None) -> Callable[..., Iterator[dg.Output]]:
        def compute(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[dg.Output]:
            if upstream is None:
                yield dg.Output({"value": {"n": 0}})
                return
            given = inputs[upstream]
            value = given["value"] if upstream == "_inputs" else given["output"]["result"]
            yield dg.Output({"status": "succeeded", "output": {"result": value}, "attempts": 1})

        return compute

    ops: list[dg.OpDefinition] = []
    deps: dict[Any, Any] = {}
    for alias, _, ins, _ in shape:
        names = [i for i, _ in ins]
        candidates = [n for n in names if n != "_inputs"] or names
        upstream = candidates[-1] if candidates else None
        ops.append(dg.OpDefinition(compute_fn=make(upstream), name=f"{name}__{alias}",
                                   ins={i: dg.In() for i in names}, outs={"result": dg.Out()}))
        deps[dg.NodeInvocation(ops[-1].name, alias=alias)] = {i: dg.DependencyDefinition(up) for i, up in ins}
    graph = dg.GraphDefinition(name=name, node_defs=ops, dependencies=deps)
    return graph.to_job(name=name, executor_def=dg.in_process_executor)


def foreach_spec_text(concurrency: int, work: str) -> str:
    """One `foreach` step over `inputs.items`; each item sleeps ITEM_SLEEP in a sandbox or waits on the model."""
    if work == "agent":
        body = ["    agent: executor", "    input:", '      task_description: "item {{ item }}"']
    else:
        body = ["    tool: execute_python", "    input:", f'      code: "import time; time.sleep({ITEM_SLEEP})"']
    return "\n".join([
        f"id: fan_{work}_c{concurrency}", "version: 1.0.0", "inputs:",
        "  items: {type: array, items: integer, required: true}", "steps:", "  - id: work",
        '    foreach: "{{ inputs.items }}"', f"    concurrency: {concurrency}", *body,
    ]) + "\n"


# ---------------------------------------------------------------------------------------------- 1. parse
def _load_all(texts: list[str], catalog: Catalog) -> Clock:
    analyze.cache_clear()  # each size parses its expressions afresh
    return clocked(lambda: [load_spec_text(t, path=f"gen_{i}.yaml", catalog=catalog) for i, t in enumerate(texts)])


def bench_parse(count: int, verdicts: Verdicts) -> list[WorkflowSpec]:
    catalog = Catalog.permissive()
    texts = [spec_text(n, 20) for n in range(2 * count)]
    _load_all(texts[:20], catalog)  # warm-up: first-use caches of pydantic and the loader
    gc.collect()
    one = _load_all(texts[:count], catalog)
    gc.collect()
    two = _load_all(texts, catalog)
    table("1. parse + validate (load_spec_text, permissive catalog, 20 steps/spec)",
          ("specs", "wall s", "cpu s", "cpu ms/spec"),
          [(count, one.wall, one.cpu, f"{one.cpu / count * 1000:.2f}"),
           (2 * count, two.wall, two.cpu, f"{two.cpu / count / 2 * 1000:.2f}")])
    limit = PARSE_SECONDS * count / 1000
    verdicts.check(f"parse {count} specs <= {limit:.2f} s (cpu)", one.cpu <= limit, f"{one.cpu:.2f} s")
    verdicts.check(f"parse 2N/N <= {PARSE_SCALING} (cpu)", two.cpu / one.cpu <= PARSE_SCALING,
                   f"{two.cpu / one.cpu:.2f}")
    return [load_spec_text(t, path=f"gen_{i}.yaml", catalog=catalog) for i, t in enumerate(texts[:count])]


# -------------------------------------------------------------------------------------------- 2. compile
def _build_and_validate(build: Callable[[], dg.Definitions]) -> tuple[Clock, Clock, int, dg.Definitions]:
    gc.collect()
    made: list[dg.Definitions] = []
    build_t = clocked(lambda: made.append(build()))
    jobs: list[Any] = []
    validate_t = clocked(lambda: jobs.extend(made[0].get_repository_def().get_all_jobs()))
    return build_t, validate_t, len(jobs), made[0]


def _hand_twin(defs: dg.Definitions) -> Callable[[], dg.Definitions]:
    jobs = [j for j in defs.jobs or [] if isinstance(j, dg.JobDefinition)]
    schedules = [(s.name, s.job_name, str(s.cron_schedule)) for s in defs.schedules or []
                 if isinstance(s, dg.ScheduleDefinition)]
    shapes = job_shapes(jobs)
    return lambda: hand_definitions(shapes, schedules)


def bench_compile(specs: list[WorkflowSpec], rounds: int, verdicts: Verdicts) -> None:
    """Interleaved rounds, the fastest of each side kept: CPU cost is what is compared, and the minimum is
    the run least disturbed by the other processes on the machine."""
    warm = _build_and_validate(lambda: compiled_definitions(specs[:10]))  # imports, first-use caches
    _build_and_validate(_hand_twin(warm[3]))
    hand_build: Callable[[], dg.Definitions] | None = None
    results: dict[str, list[tuple[Clock, Clock, int]]] = {"hand": [], "compiled": []}
    for _ in range(rounds):
        build, validate, count, compiled_defs = _build_and_validate(lambda: compiled_definitions(specs))
        results["compiled"].append((build, validate, count))
        hand_build = hand_build or _hand_twin(compiled_defs)  # graphs read off the compiled jobs, untimed
        del compiled_defs
        build, validate, count, _ = _build_and_validate(hand_build)
        results["hand"].append((build, validate, count))
    best = {k: min(v, key=lambda r: r[0].cpu + r[1].cpu) for k, v in results.items()}
    hand_cpu = best["hand"][0].cpu + best["hand"][1].cpu
    rows = [(name, b.cpu, v.cpu, b.cpu + v.cpu, b.wall + v.wall, n, f"{(b.cpu + v.cpu) / hand_cpu:.2f}x")
            for name, (b, v, n) in (("hand-built dagster ops", best["hand"]), ("compile_workflows", best["compiled"]))]
    table(f"2. {len(specs)} specs -> Definitions + repository validation (same jobs, nodes, edges, schedules; "
          f"best of {rounds})", ("variant", "build cpu s", "validate cpu s", "total cpu s", "total wall s", "jobs",
                                 "vs hand"), rows)
    ratio = (best["compiled"][0].cpu + best["compiled"][1].cpu) / hand_cpu
    verdicts.check(f"compile <= {COMPILE_RATIO}x hand-built (cpu)", ratio <= COMPILE_RATIO, f"{ratio:.2f}x")


# ---------------------------------------------------------------------------------------------- 3. chain
def _step_events(instance: dg.DagsterInstance, run_id: str, n: int) -> tuple[float, float]:
    """Step-level events per step: all of them (the `_inputs`/`_outputs` ends included) and those of the N
    step ops alone (the difference is `_outputs` loading every step's result: 2 events per input)."""
    keys = [entry.step_key for entry in instance.all_logs(run_id) if entry.step_key is not None]
    return len(keys) / n, sum(1 for k in keys if k not in ("_inputs", "_outputs")) / n


def _runner(job: dg.JobDefinition, instance: dg.DagsterInstance, last: list[str]) -> Callable[[], None]:
    def run() -> None:
        with quiet():
            result = job.execute_in_process(instance=instance, raise_on_error=True)
        last[:] = [result.run_id]

    return run


def bench_chain(sizes: list[int], runs: int, verdicts: Verdicts) -> None:
    catalog = Catalog.permissive()
    rows: list[tuple[object, ...]] = []
    for label, make_instance in (("ephemeral", dg.DagsterInstance.ephemeral), ("postgres", postgres_instance)):
        with make_instance() as instance:
            for n in sizes:
                spec = load_spec_text(chain_spec_text(n), path=f"chain_{n}.yaml", catalog=catalog)
                compiled_job = compiled_definitions([spec]).resolve_job_def(spec.id)
                hand_job = hand_chain_job(job_shapes([compiled_job])[spec.id], f"hand_chain_{n}")
                last_compiled: list[str] = []
                last_hand: list[str] = []
                times = medians({"compiled": _runner(compiled_job, instance, last_compiled),
                                 "hand": _runner(hand_job, instance, last_hand)},
                                runs=runs if n <= 50 else max(2, runs // 2))
                ratio = times["compiled"] / times["hand"]
                ev_c, op_c = _step_events(instance, last_compiled[0], n)
                ev_h, op_h = _step_events(instance, last_hand[0], n)
                rows.append((f"{label} N={n}", times["hand"], times["compiled"], f"{ratio:.2f}x",
                             f"{(times['compiled'] - times['hand']) / n * 1000:.1f}",
                             f"{ev_h:.1f} / {op_h:.1f}", f"{ev_c:.1f} / {op_c:.1f}"))
                verdicts.check(f"chain {label} N={n} <= {RUN_RATIO}x hand", ratio <= RUN_RATIO, f"{ratio:.2f}x")
                verdicts.check(f"chain {label} N={n} <= {EVENTS_PER_STEP:g} events/step",
                               ev_c <= EVENTS_PER_STEP, f"{ev_c:.1f} (hand {ev_h:.1f}; step ops alone {op_c:.1f})")
    table("3. chain of N echo steps, in_process executor, median wall time per run",
          ("instance", "hand s", "compiled s", "ratio", "extra ms/step", "events/step hand (all / ops)",
           "compiled"), rows)


# -------------------------------------------------------------------------------------------- 4. foreach
def _foreach_seconds(items: int, concurrency: int, work: str) -> float:
    spec = load_spec_text(foreach_spec_text(concurrency, work), path=f"fan_{concurrency}.yaml",
                          catalog=Catalog.permissive())
    job = compiled_definitions([spec]).resolve_job_def(spec.id)
    instance = dg.DagsterInstance.ephemeral()
    try:
        with quiet():
            job.execute_in_process(instance=instance, run_config={"items": [0]})  # warm-up: resource, imports
            return timed(lambda: job.execute_in_process(instance=instance, run_config={"items": list(range(items))}))
    finally:
        instance.dispose()


def bench_foreach(items: int, verdicts: Verdicts) -> None:
    rows: list[tuple[object, ...]] = []
    waves = -(-items // 16)
    limit = FOREACH_SECONDS if items == 100 else waves * ITEM_SLEEP + (FOREACH_SECONDS - 7 * ITEM_SLEEP)
    for work in ("execute_python", "agent"):
        with delayed_model_server(ITEM_SLEEP) if work == "agent" else nullcontext():
            fast, slow = _foreach_seconds(items, 16, work), _foreach_seconds(items, 1, work)
        rows.append((work, fast, slow, f"{slow / fast:.1f}x", f"{waves * ITEM_SLEEP:.1f}"))
        verdicts.check(f"foreach {work} {items} items c=16 <= {limit:.1f} s", fast <= limit, f"{fast:.2f} s")
        verdicts.check(f"foreach {work} c=16 >= {FOREACH_SPEEDUP:g}x c=1", slow / fast >= FOREACH_SPEEDUP,
                       f"{slow / fast:.1f}x")
    table(f"4. foreach over {items} items of {ITEM_SLEEP * 1000:.0f} ms work (ephemeral instance)",
          ("work", "c=16 s", "c=1 s", "speed-up", "ideal c=16 s"), rows)


# ------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 specs, N=50, foreach of 24 items")
    parser.add_argument("--only", default="parse,compile,chain,foreach", help="comma-separated stages to run")
    args = parser.parse_args(argv)
    stages = set(args.only.split(","))
    os.environ["COGNITIONOS_HOME"] = str(BENCH_HOME / "home")
    verdicts = Verdicts()
    with temp_database(migrated=True) as app_url:
        os.environ["COGNITIONOS_DATABASE_URL"] = app_url  # what the compiled jobs' resource connects to
        specs = bench_parse(200 if args.quick else 1000, verdicts) if stages & {"parse", "compile"} else []
        if "compile" in stages:
            bench_compile(specs, 1 if args.quick else 3, verdicts)
        del specs
        if "chain" in stages:
            bench_chain([50] if args.quick else [50, 200], 2 if args.quick else 5, verdicts)
        if "foreach" in stages:
            bench_foreach(24 if args.quick else 100, verdicts)
    return 0 if verdicts.print() else 1


if __name__ == "__main__":
    raise SystemExit(main())
