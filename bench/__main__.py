"""`python -m bench [--quick] [NAME ...]`: every benchmark, each in its own process, one after another.

Each benchmark measures its own baseline in the same run and prints ratios against its targets;
this runner only sequences them (they share the machine's two cores, so never in parallel) and
sums up which targets passed.
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHES = ("bench_dsl", "bench_compiler", "bench_agent_pipeline", "bench_execute_python", "bench_memory",
           "bench_assets", "bench_metrics", "bench_quality", "bench_tool_agents", "bench_scale")


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("-")] or list(BENCHES)
    unknown = sorted(set(names) - set(BENCHES))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    failed: list[str] = []
    for name in names:
        print(f"\n=== {name}{' (quick)' if quick else ''} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}", *(["--quick"] if quick else [])])
        print(f"=== {name}: exit {code} in {time.perf_counter() - started:.1f} s ===", flush=True)
        if code != 0:
            failed.append(name)
    print(f"\n{len(names) - len(failed)} passed, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
