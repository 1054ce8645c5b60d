"""Agents that use tools: the loop's own cost per round, and execute_javascript against bare Node.

    .venv/bin/python -m bench.bench_tool_agents [--runs N] [--quick]

1. Loop overhead per tool round, tool and model latency excluded: `ToolLoop.converse` with a
   model that answers at once (a scripted tool call per round, then the answer) and the `echo`
   tool, which returns at once. Each conversation of R rounds is timed against the same
   conversation with no round; (R-round time - 0-round time) / R is what one round adds:
   planning and checking the calls, schema validation, the registry's permission check, span
   and record, and building the messages (the ChatRequest each round's model call carries,
   with the tool schemas, is built too). Target: median <= 3 ms.
2. `execute_javascript` `console.log(1)` through the registry (the full sandbox) against
   `node -e console.log(1)` from the same wheel, interleaved. Target: <= 1.5x.
3. The `search` tool (hybrid: vector and full-text rankings fused, as the acting user) through
   the registry against `MemoryStore.search` (vector only) on the same memories and queries,
   interleaved, p50 and p95. No target yet: the figures say what a planner's search costs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np

from bench._common import Verdicts, medians, table, temp_database, timed
from bench.bench_memory import corpus
from cognitionos_dagster.agents.tool_loop import ToolLoop, ToolSession
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.llm.local_embedding import LocalEmbedder
from cognitionos_dagster.llm.types import ChatMessage, ChatRequest, Completion, ToolCallRequest, ToolSpec
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.store import MemoryStore
from cognitionos_dagster.settings import load_settings
from cognitionos_dagster.tools import ToolContext, ToolRegistry, default_registry
from cognitionos_dagster.tools.builtin import EchoTool, ExecuteJavascriptTool, ExecutePythonTool
from cognitionos_dagster.tools.builtin.javascript_tool import node_binary

ROUNDS = 10
LOOP_TARGET_MS = 3.0
JS_TARGET_RATIO = 1.5
ANSWER = Completion(text='{"result": "done"}', model="bench", mode="json_schema")
SCHEMA = {"type": "object", "properties": {"result": {"type": "string"}}, "required": ["result"]}


def conversation(loop: ToolLoop, settings: object, rounds: int) -> float:
    """Seconds of one conversation of `rounds` tool rounds with an instant model and tool."""
    ctx = ToolContext(settings=settings, run_id="bench", step_id="s", allowed_tools=frozenset({"echo"}),  # type: ignore[arg-type]
                      replay_any_outcome=True)
    session = ToolSession(role="bench", offered=("echo", "execute_python"), context=ctx, max_rounds=rounds,
                          max_parallel=4)
    answers = [Completion(text="", model="bench", mode="json_schema",
                          tool_calls=(ToolCallRequest(id=f"c{i}", name="echo", arguments=f'{{"value": {i}}}'),))
               for i in range(rounds)] + [ANSWER]

    def ask(messages: list[ChatMessage], tools: tuple[ToolSpec, ...]) -> Completion:
        ChatRequest(messages=tuple(messages), schema_name="Bench", json_schema=SCHEMA, tools=tools).record_payload()
        return answers.pop(0)

    messages = [ChatMessage(role="system", content="bench"), ChatMessage(role="user", content="go")]
    return timed(lambda: loop.converse(session, messages, ask))


def loop_overhead(runs: int) -> float:
    settings = load_settings()
    loop = ToolLoop(ToolRegistry([EchoTool(), ExecutePythonTool()]), settings)
    per_round: list[float] = []
    for _ in range(3):  # warm up: schemas, imports
        conversation(loop, settings, ROUNDS)
    for _ in range(runs):
        with_rounds = conversation(loop, settings, ROUNDS)
        without = conversation(loop, settings, 0)
        per_round.append((with_rounds - without) / ROUNDS * 1000)
    return statistics.median(per_round)


def javascript(runs: int) -> dict[str, float]:
    node = str(node_binary())
    registry = ToolRegistry([ExecuteJavascriptTool()])
    ctx = ToolContext(settings=load_settings())

    def sandboxed() -> None:
        out = registry.run("execute_javascript", {"code": "console.log(1)"}, ctx)
        if not out.success or out.result != "1\n":
            raise SystemExit(f"execute_javascript failed: {out.error}")

    return medians({"bare node -e": lambda: subprocess.run([node, "-e", "console.log(1)"], capture_output=True,
                                                            check=True),
                    "execute_javascript via registry": sandboxed}, runs, warmup=2)


def search(memories: int, queries: int) -> dict[str, tuple[float, float]]:
    """p50 and p95 ms of the `search` tool and of the store's vector search, interleaved."""
    texts, _ = corpus(memories, np.random.default_rng(7))
    asked = [" ".join(t.split()[:3]) for t in texts[:queries]]
    with temp_database(migrated=True) as url:
        db = Database(url)
        NamespaceManager(db).create("notes", "alice")
        with MemoryStore(db, LocalEmbedder(384)) as store:
            store.add_many("notes", "alice", texts, defer_index=True)
            db.execute("ANALYZE memories")
            db.execute("ANALYZE memory_embeddings")
            registry = default_registry()
            ctx = ToolContext(settings=load_settings(), memory=store, user="alice")
            cases = {
                "MemoryStore.search (vector, one namespace)": lambda q: store.search("notes", "alice", q, k=10),
                "search tool (hybrid, every readable namespace)":
                    lambda q: registry.run("search", {"query": q, "k": 10}, ctx),
            }
            seconds: dict[str, list[float]] = {name: [] for name in cases}
            for n, query in enumerate(asked):
                for name, run in cases.items():
                    started = time.perf_counter()
                    run(query)
                    if n >= 5:  # warm up: plans, connections
                        seconds[name].append((time.perf_counter() - started) * 1000)
    return {name: (float(np.percentile(v, 50)), float(np.percentile(v, 95))) for name, v in seconds.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 runs")
    args = parser.parse_args(argv)
    runs = 10 if args.quick else args.runs

    verdicts = Verdicts()
    overhead = loop_overhead(runs)
    table(f"tool loop, {ROUNDS} rounds against none, {runs} runs", ("case", "median ms per round"),
          [("loop overhead per tool round", overhead)])
    verdicts.check(f"loop overhead per round <= {LOOP_TARGET_MS:g} ms", overhead <= LOOP_TARGET_MS,
                   f"{overhead:.3f} ms")

    js = javascript(max(5, runs // 3))
    bare, tool = js["bare node -e"], js["execute_javascript via registry"]
    table("execute_javascript console.log(1) (interleaved)", ("case", "median ms", "vs bare node"),
          [(name, value * 1000, f"{value / bare:.2f}x") for name, value in js.items()])
    verdicts.check(f"execute_javascript <= {JS_TARGET_RATIO:g}x bare node", tool / bare <= JS_TARGET_RATIO,
                   f"{tool / bare:.2f}x ({tool * 1000:.1f} ms vs {bare * 1000:.1f} ms)")

    memories = 5_000 if args.quick else 30_000
    found = search(memories, 40 if args.quick else 200)
    vector_p50 = next(iter(found.values()))[0]
    table(f"search over {memories:,} memories, top 10 (interleaved)", ("case", "p50 ms", "p95 ms", "p50 vs vector"),
          [(name, p50, p95, f"{p50 / vector_p50:.1f}x") for name, (p50, p95) in found.items()])
    return 0 if verdicts.print() else 1


if __name__ == "__main__":
    sys.exit(main())
