"""Quality gate costs: the gate's own overhead, and a self-critique loop against its model calls.

    .venv/bin/python -m bench.bench_quality [--iterations N] [--quick]

1. gate overhead: `quality.evaluate` with every built-in scorer that applies (quality,
   confidence, critic, verifier, grounding over a memory context), model latency excluded
   (the scores are given). Target: median <= 5 ms.
2. self-critique: a `self_critique: {max_rounds: 3}` gate whose critic never approves, against
   the local OpenAI-compatible test server answering every call after 200 ms: 1 answer,
   4 reviews, 3 revisions = 8 model calls. Baseline, measured in the same run: a bare `openai`
   call to the same server with the same delay. Target: the whole step <= 1.1x eight baselines.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the shared local server lives with the tests

import openai  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from support.openai_server import OpenAIServer, RecordedRequest, Reply, chat_reply  # noqa: E402

from cognitionos_dagster.agents.runtime import AgentRequest, AgentRuntime  # noqa: E402
from cognitionos_dagster.llm.client import ModelClient  # noqa: E402
from cognitionos_dagster.llm.endpoints import Endpoint  # noqa: E402
from cognitionos_dagster.quality import QualityPolicy, evaluate  # noqa: E402
from cognitionos_dagster.settings import load_settings  # noqa: E402

GATE_TARGET_MS = 5.0
LOOP_TARGET = 1.1
DELAY = 0.2
OUTPUT = {"summary": "The web service deploy finished in three minutes. Rollback was tested on staging. "
                     "The database schema was migrated before the switch.",
          "key_points": ["deploy in three minutes", "rollback tested", "schema migrated"], "confidence": 0.9}
CONTEXT = ["The deploy of the web service finished in three minutes.", "Rollback was tested on staging first.",
           "Operators migrated the database schema before switching traffic."] * 3


def _route(request: RecordedRequest) -> Reply:
    schema = ((request.json or {}).get("response_format") or {}).get("json_schema", {}).get("name", "")
    if schema.startswith("Critic"):
        body = {"issues": ["too vague"], "suggestions": ["name the services"], "confidence": 0.9,
                "overall_quality": 0.2}
    else:
        body = OUTPUT
    return chat_reply(body, delay=DELAY)


def gate_overhead(iterations: int) -> float:
    policy = QualityPolicy(name="bench", require_self_critique=True, require_cross_verification=True, blocking=False)
    for _ in range(20):
        evaluate(policy, OUTPUT, 0.9, self_critique=0.8, cross_verification=0.85, context=CONTEXT)
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        evaluate(policy, OUTPUT, 0.9, self_critique=0.8, cross_verification=0.85, context=CONTEXT,
                 verifier_spread=0.1, critique_rounds=2, score_trajectory=[0.5, 0.8])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def critique_loop(runs: int, tmp: Path) -> tuple[float, float, int]:
    import shutil

    settings = load_settings()
    resources = tmp / "resources"
    shutil.copytree(settings.resources_dir, resources)
    (resources / "policies" / "quality" / "loop3.yaml").write_text(
        "min_quality_score: 0.7\nmin_confidence_score: 0.5\nself_critique: {max_rounds: 3}\nblocking: false\n")
    settings = load_settings(resources_dir=resources)
    with OpenAIServer(default=_route) as server:
        endpoint = Endpoint(base_url=server.base_url, api_key=SecretStr("sk-bench"))
        runtime = AgentRuntime(settings, client=ModelClient(default_model=settings.llm_model, endpoint=endpoint))
        bare = openai.OpenAI(base_url=server.base_url, api_key="sk-bench", max_retries=0)
        request = AgentRequest(role="summarizer", input={"content": "deploy notes"}, step_id="s", quality_gate="loop3")
        runtime.run(request)  # warm up
        baseline, loop, calls = [], [], 0
        for _ in range(runs):
            for _ in range(2):
                started = time.perf_counter()
                bare.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
                baseline.append(time.perf_counter() - started)
            before = len(server.chat_requests())
            started = time.perf_counter()
            runtime.run(request)
            loop.append(time.perf_counter() - started)
            calls = len(server.chat_requests()) - before
    return statistics.median(loop) * 1000, statistics.median(baseline) * 1000, calls


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    logging.getLogger("cognitionos.audit").setLevel(logging.WARNING)
    iterations = 50 if args.quick else args.iterations
    gate_ms = gate_overhead(iterations)
    with tempfile.TemporaryDirectory() as tmp:
        loop_ms, call_ms, calls = critique_loop(2 if args.quick else 5, Path(tmp))
    ratio = loop_ms / (calls * call_ms)
    print(f"quality benchmark: {iterations} gate evaluations; self-critique loop, {calls} calls of "
          f"{DELAY * 1000:.0f} ms")
    print(f"  gate overhead            median {gate_ms:7.3f} ms   / target {gate_ms / GATE_TARGET_MS:5.2f} "
          f"(<= {GATE_TARGET_MS} ms): {'OK' if gate_ms <= GATE_TARGET_MS else 'OVER TARGET'}")
    print(f"  one bare model call      median {call_ms:7.1f} ms")
    print(f"  3-round self-critique    median {loop_ms:7.1f} ms = {ratio:5.3f}x the sum of its {calls} calls "
          f"(<= {LOOP_TARGET}x): {'OK' if ratio <= LOOP_TARGET else 'OVER TARGET'}")
    if gate_ms > GATE_TARGET_MS or ratio > LOOP_TARGET:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
