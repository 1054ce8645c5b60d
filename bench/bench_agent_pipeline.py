"""Agent pipeline overhead per call, excluding the model's own latency.

    .venv/bin/python -m bench.bench_agent_pipeline [--iterations N] [--quick]

Against the local OpenAI-compatible test server with zero delay, in one run and interleaved:
  baseline  a bare `openai` client call (same schema, same server) = the HTTP round trip
  pipeline  AgentRuntime.run(planner): input validation, prompt rendering, the ModelClient
            (retry loop, pricing, spans), output validation, confidence check, record, audit
overhead = pipeline time - median baseline round trip. Target: median overhead <= 5 ms.
Also reported: the offline provider's whole pipeline (no HTTP at all).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the shared local server lives with the tests

import openai  # noqa: E402
from openai.types.chat import ChatCompletionMessageParam  # noqa: E402
from openai.types.chat.completion_create_params import ResponseFormat  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from support.openai_server import OpenAIServer  # noqa: E402

from cognitionos_dagster.agents.executor import output_schema  # noqa: E402
from cognitionos_dagster.agents.runtime import AgentRequest, AgentRuntime  # noqa: E402
from cognitionos_dagster.agents.schemas import PlannerAgentOutput  # noqa: E402
from cognitionos_dagster.llm.client import ModelClient  # noqa: E402
from cognitionos_dagster.llm.endpoints import Endpoint  # noqa: E402
from cognitionos_dagster.llm.pricing import load_price_table  # noqa: E402
from cognitionos_dagster.settings import load_settings  # noqa: E402

TARGET_MS = 5.0
INPUT = {"goal": "Deploy the web app to staging", "constraints": ["budget 1 USD", "no downtime"]}


def _time(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="a 40-iteration smoke run")
    args = parser.parse_args()
    iterations = 40 if args.quick else args.iterations
    logging.getLogger("cognitionos.audit").setLevel(logging.WARNING)

    settings = load_settings()
    schema = output_schema(PlannerAgentOutput)
    with OpenAIServer() as server:
        bare = openai.OpenAI(base_url=server.base_url, api_key="sk-bench", max_retries=0)
        endpoint = Endpoint(base_url=server.base_url, api_key=SecretStr("sk-bench"))
        client = ModelClient(default_model=settings.llm_model, endpoint=endpoint,
                             prices=load_price_table(settings.resources_dir))
        runtime = AgentRuntime(settings, client=client)
        offline = AgentRuntime(settings, client=ModelClient(default_model=settings.llm_model))
        request = AgentRequest(role="planner", input=INPUT, run_id="bench", step_id="plan")
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": "x" * 1500}, {"role": "user", "content": str(INPUT)}]
        response_format: ResponseFormat = {
            "type": "json_schema", "json_schema": {"name": "PlannerAgentOutput", "schema": schema}}

        def bare_call() -> None:
            bare.chat.completions.create(model=settings.llm_model, messages=messages, response_format=response_format)

        for _ in range(5):  # warm up connections, caches, imports
            bare_call()
            runtime.run(request)
            offline.run(request)
        baseline, pipeline, offline_ms = [], [], []
        for _ in range(iterations):
            baseline.append(_time(bare_call))
            pipeline.append(_time(lambda: runtime.run(request)))
            offline_ms.append(_time(lambda: offline.run(request)))

    round_trip = statistics.median(baseline)
    overhead = [p - round_trip for p in pipeline]
    median_overhead = statistics.median(overhead)
    print(f"agent pipeline benchmark: {iterations} interleaved iterations, role planner, local server, zero delay")
    print(f"  bare openai round trip   median {round_trip:7.2f} ms   p95 {_p95(baseline):7.2f} ms")
    print(f"  full pipeline (HTTP)     median {statistics.median(pipeline):7.2f} ms   p95 {_p95(pipeline):7.2f} ms")
    print(f"  pipeline overhead        median {median_overhead:7.2f} ms   p95 {_p95(overhead):7.2f} ms")
    print(f"  offline pipeline         median {statistics.median(offline_ms):7.2f} ms   p95 {_p95(offline_ms):7.2f} ms")
    print(f"  overhead / round trip    {median_overhead / round_trip:6.2f}x")
    verdict = "OK" if median_overhead <= TARGET_MS else "OVER TARGET"
    print(f"  median overhead / target {median_overhead / TARGET_MS:6.2f} (target <= {TARGET_MS} ms): {verdict}")


if __name__ == "__main__":
    main()
