"""execute_python start-to-result for `print(1)` against a bare `subprocess.run` baseline.

    .venv/bin/python -m bench.bench_execute_python [--runs N] [--quick]

Measures, in one run and interleaved so both see the same machine load: the bare
baseline `subprocess.run([python, "-c", "print(1)"])` with this interpreter, the same
with the sandbox's interpreter and flags (`-I -S`, no isolation), and the full tool call
through the registry (namespace, uid drop, Landlock, seccomp, rlimits, temp dir, cleanup).
Target: median ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cognitionos_dagster.settings import load_settings
from cognitionos_dagster.tools import ToolContext, ToolRegistry
from cognitionos_dagster.tools.builtin import ExecutePythonTool

TARGET_MS = 150.0


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="smoke run: 15 runs")
    args = parser.parse_args(argv)
    runs = 15 if args.quick else args.runs

    tool = ExecutePythonTool()
    registry = ToolRegistry([tool])
    ctx = ToolContext(settings=load_settings())
    sandbox_python = str(tool.sandbox.interpreter())

    def sandboxed() -> None:
        out = registry.run("execute_python", {"code": "print(1)"}, ctx)
        if not out.success or out.result != "1\n":
            raise SystemExit(f"execute_python failed: {out.error}")

    cases: dict[str, Callable[[], object]] = {
        f"bare subprocess.run({Path(sys.executable).name} -c)": lambda: subprocess.run(
            [sys.executable, "-c", "print(1)"], capture_output=True, check=True),
        f"bare subprocess.run({sandbox_python} -I -S -c)": lambda: subprocess.run(
            [sandbox_python, "-I", "-S", "-c", "print(1)"], capture_output=True, check=True),
        "execute_python via registry": sandboxed,
    }
    for fn in cases.values():  # warm up: page cache, first Landlock/seccomp preparation
        fn()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, fn in cases.items():
            samples[name].append(_timed(fn))

    baseline = statistics.median(next(iter(samples.values())))
    print(f"execute_python start-to-result, print(1), {runs} runs each (interleaved)")
    print(f"{'case':<60} {'median ms':>10} {'p95 ms':>10} {'vs baseline':>12}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<60} {median:>10.1f} {_p95(values):>10.1f} {median / baseline:>11.2f}x")
    tool_median = statistics.median(samples["execute_python via registry"])
    verdict = "OK" if tool_median <= TARGET_MS else "OVER TARGET"
    print(f"target median <= {TARGET_MS:.0f} ms: {tool_median:.1f} ms -> {verdict}")
    return 0 if tool_median <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
