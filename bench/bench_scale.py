"""Start-up against the number of workflows: 4 shipped specs vs the same plus 1,000 generated ones.

    .venv/bin/python -m bench.bench_scale [--quick] [--extra N]

Targets (issue "Scale"; ratios against the 4-spec baseline measured in the same run):
1. a run worker's code-location load (a fresh process rebuilding the location as Dagster's run worker
   does, then the job it runs) with N extra specs <= 1.3x the load with 4 specs;
2. `cognos run` wall time (a fresh process, a real run stored in PostgreSQL) <= 1.3x;
3. the specs of a code-location reload with one changed file (parse + validate + cross-file checks, the
   rest from the spec cache) <= 1.5 s. The whole reload (compile and repository) is printed beside it;
4. the idle CPU of the whole stack (gRPC code server, webserver, daemon, their children) over
   `--idle` seconds once the location is loaded, with N extra specs <= 1.5x the idle CPU with 4 specs.
Also reported, no target: the stack's start until the webserver shows the location, and runs launched
through GraphQL on it (one alone, then a burst of 10): queued -> started, and the burst's time until done.
Every process shares one COGNITIONOS_HOME whose spec cache a first full load warms, as the code server does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench._common import BENCH_HOME, Verdicts, table, temp_database
from bench.bench_dsl import spec_text
from cognitionos_dagster.compiler.catalog import build_catalog
from cognitionos_dagster.dsl.loader import load_specs
from cognitionos_dagster.dsl.spec_cache import SpecCache
from cognitionos_dagster.settings import PROJECT_ROOT, load_settings

if TYPE_CHECKING:
    from support.stack import Stack

LOAD_RATIO, RUN_RATIO, RELOAD_SECONDS, IDLE_RATIO = 1.3, 1.3, 1.5, 1.5
SETTLE_SECONDS = 10  # after the webserver shows the location: the daemon's first ticks are start-up, not idle
STEPS = 5  # the shipped specs have 3-8 steps
BURST = 10  # runs launched at once (the queue starts 8 at a time)
JOB = "deploy_web_app"
RUN_CONFIG = {"repo_url": "git@example.com:a/b.git", "environment": "prod"}

_WORKER = """
import time
started = time.perf_counter()
from dagster._core.definitions.reconstruct import reconstruct_repository_def_from_pointer
from dagster._core.code_pointer import ModuleCodePointer
repo = reconstruct_repository_def_from_pointer(ModuleCodePointer("cognitionos_dagster.definitions", "defs", None))
repo.get_job("{job}")
print(time.perf_counter() - started)
"""


def _folder(root: Path, extra: int) -> Path:
    folder = root / f"specs_{extra}"
    shutil.copytree(PROJECT_ROOT / "workflow_specs", folder)
    for n in range(extra):
        (folder / f"generated_{n}.yaml").write_text(spec_text(n, STEPS))
    return folder


def _env(specs: Path, home: Path, database_url: str | None = None) -> dict[str, str]:
    env = {**os.environ, "COGNITIONOS_WORKFLOW_SPECS": str(specs), "COGNITIONOS_HOME": str(home)}
    if database_url:
        env["COGNITIONOS_DATABASE_URL"] = database_url
    return env


def _worker_load(env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-c", _WORKER.format(job=JOB)], env=env, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _cognos_run(env: dict[str, str]) -> float:
    cmd = [str(Path(sys.executable).parent / "cognos"), "run", JOB,
           *(arg for k, v in RUN_CONFIG.items() for arg in ("-i", f"{k}={v}")), "--json"]
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"cognos run failed: {done.stderr[-2000:]}")
    return elapsed


def _reload(specs: Path, home: Path) -> tuple[float, float]:
    """Seconds to reload the specs after one file changed, and the whole location's reload."""
    from cognitionos_dagster.defs.assembly import build_definitions
    from cognitionos_dagster.defs.workflows import load_workflows
    from cognitionos_dagster.settings import load_settings

    os.environ.update(COGNITIONOS_WORKFLOW_SPECS=str(specs), COGNITIONOS_HOME=str(home))
    settings = load_settings()
    load_workflows(settings, sync_registry=False)
    changed = specs / "generated_7.yaml"
    changed.write_text(changed.read_text().replace("name: Generated workflow 7", "name: Changed workflow 7"))
    started = time.perf_counter()
    loaded = load_workflows(settings, sync_registry=False)
    spec_stage = time.perf_counter() - started
    assert any(s.name == "Changed workflow 7" for s in loaded.specs)
    changed.write_text(changed.read_text().replace("Changed", "Again changed"))
    started = time.perf_counter()
    build_definitions().get_repository_def()
    return spec_stage, time.perf_counter() - started


def _cpu_seconds(pids: list[int]) -> float:
    """utime + stime of each process and its live descendants, plus what reaped children used
    (cutime + cstime): a process that exits inside the window still counts, once."""
    import psutil

    ticks = os.sysconf("SC_CLK_TCK")
    seen: set[int] = set()
    total = 0
    for root in pids:
        try:
            tree = [root, *(c.pid for c in psutil.Process(root).children(recursive=True))]
        except psutil.NoSuchProcess:
            continue
        for pid in tree:
            if pid in seen:
                continue
            seen.add(pid)
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / ticks


@dataclass
class StackFigures:
    up: float  # seconds from starting the three processes until the webserver shows the location
    idle_cpu: float  # CPU seconds of the whole stack over the idle window
    queued_to_started: float  # one run alone, launched through GraphQL
    burst_done: float  # BURST runs launched at once: seconds until the last one ended
    burst_queued_to_started: float  # their median


def _launched(stack: Stack, count: int) -> tuple[list[dict[str, Any]], float]:
    """Launch `count` runs of the workflow at once through GraphQL, wait for all; their times and the
    seconds from the first launch until the last one ended."""
    first = time.time()
    ids = [stack.launch(JOB, RUN_CONFIG) for _ in range(count)]
    for run_id in ids:
        stack.wait_for_run(run_id, 600)
    times = [stack.run_times(run_id) for run_id in ids]
    return times, max(t["endTime"] for t in times) - first


def _stack(specs: Path, home: Path, seconds: float) -> StackFigures:
    """The deployment topology on this folder: start-up, idle CPU over `seconds`, then launched runs."""
    from cognitionos_dagster.defs.instance_config import write_instance_config
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))  # the stack the topology tests start lives with them
    from support.stack import Stack

    with temp_database(migrated=True) as app, temp_database(migrated=False) as storage:
        write_instance_config(home / "dagster", storage)
        stack = Stack(home / "dagster", _env(specs, home, app), home / "logs", timeout=900)
        try:
            started = time.perf_counter()
            stack.start()
            up = time.perf_counter() - started
            time.sleep(SETTLE_SECONDS)
            pids = [p.pid for p in stack.procs.values()]
            before = _cpu_seconds(pids)
            time.sleep(seconds)
            idle = _cpu_seconds(pids) - before
            (alone,), _ = _launched(stack, 1)
            burst, done = _launched(stack, BURST)
            return StackFigures(
                up=up, idle_cpu=idle, queued_to_started=alone["startTime"] - alone["creationTime"],
                burst_done=done,
                burst_queued_to_started=statistics.median(t["startTime"] - t["creationTime"] for t in burst))
        finally:
            stack.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="200 extra specs, one sample each")
    parser.add_argument("--idle", type=float, default=20,
                        help="seconds of idle CPU to measure (0: skip the stack: idle CPU and launched runs)")
    args = parser.parse_args(argv)
    extra, runs = (200, 1) if args.quick else (args.extra, args.runs)
    BENCH_HOME.mkdir(parents=True, exist_ok=True)
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory(dir=BENCH_HOME) as tmp, temp_database(migrated=True) as url:
        root = Path(tmp)
        folders = {4: _folder(root, 0), 4 + extra: _folder(root, extra)}
        homes = {n: root / f"home_{n}" for n in folders}
        loads: dict[int, list[float]] = {n: [] for n in folders}
        wall: dict[int, list[float]] = {n: [] for n in folders}
        catalog = build_catalog(load_settings())
        for n, specs in folders.items():  # the code server's first load warms the cache
            load_specs([specs], catalog=catalog, cache=SpecCache.under(homes[n], catalog))
        for _ in range(runs):  # interleaved, so both sizes see the same machine load
            for n, specs in folders.items():
                loads[n].append(_worker_load(_env(specs, homes[n])))
                wall[n].append(_cognos_run(_env(specs, homes[n], url)))
        spec_reload, whole_reload = _reload(folders[4 + extra], homes[4 + extra])
        stacks = {n: _stack(specs, homes[n], args.idle) for n, specs in folders.items()} if args.idle else {}
    med = {n: (statistics.median(loads[n]), statistics.median(wall[n])) for n in folders}
    small, big = med[4], med[4 + extra]
    table(f"start-up, {extra} extra specs of {STEPS} steps (median of {runs}, seconds)",
          ("", "4 specs", f"{4 + extra} specs", "ratio"),
          [("run-worker load", small[0], big[0], f"{big[0] / small[0]:.2f}"),
           ("cognos run wall", small[1], big[1], f"{big[1] / small[1]:.2f}")])
    print(f"\nreload after one changed file: specs {spec_reload:.3f} s; whole location {whole_reload:.3f} s")
    if stacks:
        small_stack, big_stack = stacks[4], stacks[4 + extra]
        idle_ratio = big_stack.idle_cpu / max(small_stack.idle_cpu, 0.01)
        rows = [("start until loaded (s)", "up"), ("idle CPU (s)", "idle_cpu"),
                ("one run: queued -> started (s)", "queued_to_started"),
                (f"{BURST}-run burst: all done (s)", "burst_done"),
                (f"{BURST}-run burst: queued -> started, median (s)", "burst_queued_to_started")]
        table(f"the stack (code server + webserver + daemon); idle CPU over {args.idle:.0f} s; runs of {JOB} "
              "launched through GraphQL", ("", "4 specs", f"{4 + extra} specs", "ratio"),
              [(label, getattr(small_stack, f), getattr(big_stack, f),
                f"{getattr(big_stack, f) / max(getattr(small_stack, f), 0.01):.2f}") for label, f in rows]
              + [("idle CPU (% of a core)", 100 * small_stack.idle_cpu / args.idle,
                  100 * big_stack.idle_cpu / args.idle, "")])
        verdicts.check(f"idle CPU of the stack <= {IDLE_RATIO}x", idle_ratio <= IDLE_RATIO, f"{idle_ratio:.2f}x")
    verdicts.check(f"run-worker load <= {LOAD_RATIO}x", big[0] / small[0] <= LOAD_RATIO, f"{big[0] / small[0]:.2f}x")
    verdicts.check(f"cognos run wall <= {RUN_RATIO}x", big[1] / small[1] <= RUN_RATIO, f"{big[1] / small[1]:.2f}x")
    verdicts.check(f"spec reload, one file changed <= {RELOAD_SECONDS} s", spec_reload <= RELOAD_SECONDS,
                   f"{spec_reload:.3f} s")
    return 0 if verdicts.print() else 1


if __name__ == "__main__":
    raise SystemExit(main())
