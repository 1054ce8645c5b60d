"""Spec loading speed (parse + validate + lint) and a fuzz run of the loader's one property.

    .venv/bin/python -m bench.bench_dsl [--specs N] [--steps S] [--quick] [--fuzz N]

Generates N specs of S steps each (agent/tool/sub-workflow steps, typed inputs, depends_on,
foreach, when, expressions naming inputs and earlier steps; text varies per spec so caches
see realistic reuse only), then measures in one run: the baseline `yaml.load(CSafeLoader)` of
the same texts, the full `load_spec_text` for N specs and for 2N specs (expression caches
cleared before each). Targets: 1,000 x 20 steps <= 2 s; 2N/N time ratio <= 2.2.
`--fuzz N` runs the property "loading either succeeds or raises a positioned SpecError" on N
hypothesis examples (10,000 for the full run).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import yaml

from cognitionos_dagster.dsl import Catalog, load_spec_text
from cognitionos_dagster.dsl.expressions import analyze

TARGET_SECONDS = 2.0
TARGET_SCALING = 2.2
ROOT = Path(__file__).resolve().parents[1]


def spec_text(n: int, steps: int) -> str:
    """One generated spec: realistic shapes, every step named by a later one's expression or depends_on."""
    lines = [
        f"id: generated_{n}",
        f"version: 1.{n % 7}.{n}",
        f"name: Generated workflow {n}",
        f'schedule: "{n % 60} {n % 24} * * *"',
        "tags: {team: bench, tier: t" + str(n % 3) + "}",
        "inputs:",
        "  target: {type: string, required: true}",
        "  env: {type: string, enum: [staging, prod], default: staging}",
        "  items: {type: array, items: string, default: [a, b, c]}",
        f"  budget: {{type: number, default: {n % 10 + 0.5}}}",
        "defaults:",
        "  retry: {max_attempts: 3, backoff: exponential, delay_seconds: 1}",
        "  timeout_seconds: 120",
        "steps:",
    ]
    for i in range(steps):
        lines += _step_lines(n, i)
    lines += ["outputs:", f"  last: \"{{{{ steps.s{steps - 1}.output }}}}\""]
    return "\n".join(lines) + "\n"


def _step_lines(n: int, i: int) -> list[str]:
    kind = i % 5
    out = [f"  - id: s{i}"]
    if kind == 4:
        out += ["    tool: execute_python", "    input:", f'      code: "print({n} + {i})"']
    elif kind == 3:
        out += ['    foreach: "{{ inputs.items }}"', "    concurrency: 2", "    agent: executor", "    input:",
                f'      task_description: "Step {i} of {n}: {{{{ item }}}} ({{{{ index }}}})"']
    else:
        out += ["    agent: planner", "    input:",
                f'      goal: "Plan {i} for {{{{ inputs.target }}}} in {{{{ inputs.env }}}} (spec {n})"',
                f'      constraints: ["budget {{{{ inputs.budget }}}}", "{n}-{i}"]']
        if kind == 2 and i > 2:
            out += [f'      context: "{{{{ steps.s{i - 3}.output | tojson }}}} #{n}"',
                    "    quality_gate: strict", "    on_failure: reassign",
                    "    reassign_to: {agent: planner, model: fallback}"]
    if i > 0:
        out.append(f"    depends_on: [s{i - 1}]")
    if i > 1 and kind in (0, 1):
        out.append(f"    when: \"{{{{ steps.s{i - 2}.status == 'succeeded' and inputs.env != 'dev{n}' }}}}\"")
    return out


def _timed_load(texts: list[str], catalog: Catalog) -> float:
    analyze.cache_clear()
    started = time.perf_counter()
    for i, text in enumerate(texts):
        load_spec_text(text, path=f"gen_{i}.yaml", catalog=catalog)
    return time.perf_counter() - started


def _timed_yaml(texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        yaml.load(text, Loader=yaml.CSafeLoader)
    return time.perf_counter() - started


def _fuzz(examples: int) -> int:
    spec = importlib.util.spec_from_file_location("fuzz_support", ROOT / "tests" / "dsl" / "fuzz_support.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_support"] = module
    spec.loader.exec_module(module)
    from hypothesis import HealthCheck, given, settings

    outcomes = {"loaded": 0, "spec_error": 0}

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(module.any_spec_text)
    def prop(text: str) -> None:
        outcomes["loaded" if module.load_or_spec_error(text) else "spec_error"] += 1

    started = time.perf_counter()
    prop()
    elapsed = time.perf_counter() - started
    total = sum(outcomes.values())
    print(f"fuzz: {total} examples in {elapsed:.1f} s ({outcomes['loaded']} loaded, {outcomes['spec_error']} "
          "positioned SpecErrors, 0 other exceptions)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 specs, fuzz 200 examples")
    parser.add_argument("--fuzz", type=int, default=None, help="hypothesis examples (default 10,000; quick 200)")
    args = parser.parse_args(argv)
    count = 200 if args.quick else args.specs
    catalog = Catalog.permissive()
    texts = [spec_text(n, args.steps) for n in range(2 * count)]
    size_kb = sum(map(len, texts[:count])) / 1024
    load_spec_text(texts[0], path="warmup.yaml", catalog=catalog)

    base = _timed_yaml(texts[:count])
    one = _timed_load(texts[:count], catalog)
    two = _timed_load(texts, catalog)
    target = TARGET_SECONDS * count / 1000
    print(f"specs: {count} x {args.steps} steps ({size_kb:.0f} KiB of YAML)")
    print(f"baseline yaml.load(CSafeLoader): {base:.3f} s")
    print(f"load_spec_text x {count}: {one:.3f} s = {one / count * 1000:.2f} ms/spec, "
          f"{one / base:.1f}x the bare YAML parse (target <= {target:.2f} s: {'ok' if one <= target else 'MISSED'})")
    print(f"load_spec_text x {2 * count}: {two:.3f} s; ratio 2N/N = {two / one:.2f} "
          f"(target <= {TARGET_SCALING}: {'ok' if two / one <= TARGET_SCALING else 'MISSED'})")
    fuzz = args.fuzz if args.fuzz is not None else (200 if args.quick else 10_000)
    if fuzz:
        _fuzz(fuzz)
    return 0 if one <= target and two / one <= TARGET_SCALING else 1


if __name__ == "__main__":
    raise SystemExit(main())
