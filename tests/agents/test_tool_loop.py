"""Agents that call tools, through the real client against the local server's scripted tool calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.openai_server import OpenAIServer, chat_reply, tool_calls_reply
from tool_support import Busy, CountingAdd, Meet, add_toolbot, registry_with

from cognitionos_dagster.agents.runtime import AgentRequest, AgentRuntime
from cognitionos_dagster.agents.tool_loop import ToolRoundsExhausted
from cognitionos_dagster.db.repositories.calls import CallRecordRepository
from cognitionos_dagster.errors import ReplayError
from cognitionos_dagster.settings import load_settings
from cognitionos_dagster.tools.base import Tool

ANSWER = {"answer": "done", "tools_used": ["the model says it used everything"]}


@pytest.fixture
def toolbot(resources: Path, make_client: Any) -> Any:
    def make(server: OpenAIServer, *tools: Tool, db: Any = None, rounds: int = 3, parallel: int = 2) -> AgentRuntime:
        add_toolbot(resources, rounds=rounds, parallel=parallel)
        client = make_client(server, db=db, resources=resources)
        return AgentRuntime(load_settings(resources_dir=resources), db=db, client=client,
                            tools=registry_with(*tools))

    return make


def ask(runtime: AgentRuntime, **request: Any) -> Any:
    return runtime.run(AgentRequest(role="toolbot", input={"task": "work"}, run_id="run-1", step_id="s", **request))


def tool_messages(server: OpenAIServer, n: int) -> list[dict[str, Any]]:
    return [m for m in server.chat_requests()[n].json["messages"] if m["role"] == "tool"]


def test_a_single_call_runs_and_its_result_goes_back(openai_server, toolbot) -> None:
    add = CountingAdd()
    openai_server.enqueue(tool_calls_reply(("add", {"a": 2, "b": 40})), chat_reply(ANSWER))
    result = ask(toolbot(openai_server, add))
    assert add.calls == 1 and result.output["answer"] == "done"
    first = openai_server.chat_requests()[0].json
    offered = [t["function"]["name"] for t in first["tools"]]
    assert offered == ["echo", "add", "execute_python"]  # allowed and registered (meet, busy are not)
    assert first["tools"][1]["function"]["parameters"]["required"] == ["a", "b"]
    second = openai_server.chat_requests()[1].json["messages"]
    assert second[-2]["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a": 2, "b": 40}'}
    assert second[-1]["tool_call_id"] == "call_1" and json.loads(second[-1]["content"])["result"] == 42
    assert result.attempts == 2
    assert result.tool_calls == [{"round": 1, "tool": "add", "status": "ok", "error": None}]


def test_tools_used_comes_from_what_ran_not_from_the_model(openai_server, toolbot) -> None:
    openai_server.enqueue(tool_calls_reply(("echo", {"value": 1}), ("nope", {})), chat_reply(ANSWER))
    result = ask(toolbot(openai_server))
    assert result.output["tools_used"] == ["echo"] == result.tools_used  # the refused call did not run
    openai_server.enqueue(chat_reply(ANSWER))
    assert ask(toolbot(openai_server)).output["tools_used"] == []  # no call: the claim is dropped


def test_parallel_calls_run_concurrently_and_answer_in_order(openai_server, toolbot) -> None:
    openai_server.enqueue(tool_calls_reply(("meet", {}), ("echo", {"value": "x"}), ("meet", {})), chat_reply(ANSWER))
    runtime = toolbot(openai_server, Meet(2))
    result = ask(runtime)
    contents = [json.loads(m["content"]) for m in tool_messages(openai_server, 1)]
    assert [m["tool_call_id"] for m in tool_messages(openai_server, 1)] == ["call_1", "call_2", "call_3"]
    assert [c["result"] for c in contents] == ["met", "x", "met"]  # a sequential run breaks the barrier
    assert result.tools_used == ["meet", "echo"]


def test_parallel_calls_are_bounded_by_max_parallel_tools(openai_server, toolbot) -> None:
    busy = Busy()
    openai_server.enqueue(tool_calls_reply(*[("busy", {})] * 4), chat_reply(ANSWER))
    ask(toolbot(openai_server, busy, parallel=2))
    assert busy.most == 2


def test_a_refused_call_is_told_to_the_model_which_corrects_itself(openai_server, toolbot, db) -> None:
    add = CountingAdd()
    openai_server.enqueue(tool_calls_reply(("rm_rf", {"path": "/"})),
                          tool_calls_reply(("store_memory", {"namespace": "n", "content": "x"})),
                          tool_calls_reply(("add", {"a": 1, "b": 1})), chat_reply(ANSWER))
    result = ask(toolbot(openai_server, add, db=db))
    unknown = json.loads(tool_messages(openai_server, 1)[0]["content"])
    assert unknown["success"] is False and "there is no tool 'rm_rf'" in unknown["error"]
    assert "echo, add, execute_python" in unknown["error"]
    forbidden = json.loads(tool_messages(openai_server, 2)[-1]["content"])
    assert "may not use tool 'store_memory'" in forbidden["error"]
    assert [t["status"] for t in result.tool_calls] == ["refused", "refused", "ok"] and add.calls == 1
    tool_rows = [r for r in CallRecordRepository(db).for_run("run-1") if r["kind"] == "tool"]
    assert [r["name"] for r in tool_rows] == ["add"]  # refusals ran nothing and recorded no call


def test_arguments_breaking_the_schema_are_refused_with_the_errors(openai_server, toolbot) -> None:
    add = CountingAdd()
    openai_server.enqueue(tool_calls_reply(("add", {"a": "two", "c": 1})), tool_calls_reply(("add", "{not json")),
                          tool_calls_reply(("add", {"a": 2, "b": 2})), chat_reply(ANSWER))
    result = ask(toolbot(openai_server, add))
    schema_error = json.loads(tool_messages(openai_server, 1)[0]["content"])["error"]
    assert "invalid input for tool 'add'" in schema_error
    assert "a: Input should be a valid integer" in schema_error and "b: Field required" in schema_error
    assert "not valid JSON" in json.loads(tool_messages(openai_server, 2)[1]["content"])["error"]
    assert add.calls == 1 and result.output["tools_used"] == ["add"]


def test_running_out_of_rounds_fails_with_the_history(openai_server, toolbot) -> None:
    add = CountingAdd()
    openai_server.enqueue(*[tool_calls_reply(("add", {"a": 1, "b": 2}))] * 3)
    with pytest.raises(ToolRoundsExhausted) as caught:
        ask(toolbot(openai_server, add, rounds=2))
    assert add.calls == 2 and len(openai_server.chat_requests()) == 3
    text = str(caught.value)
    assert "after max_tool_rounds=2 rounds" in text and "round 2: add ok" in text
    assert "raise max_tool_rounds in resources/agents/toolbot.yaml" in text


def test_a_tool_timeout_is_an_error_the_model_sees(openai_server, toolbot) -> None:
    openai_server.enqueue(tool_calls_reply(("execute_python", {"code": "while True: pass", "timeout_seconds": 0.5})),
                          chat_reply(ANSWER))
    result = ask(toolbot(openai_server))
    output = json.loads(tool_messages(openai_server, 1)[0]["content"])
    assert output["success"] is False and output["limit"] in ("wall_clock", "cpu_time")
    assert result.tool_calls[0]["status"] == "failed" and "killed" in result.tool_calls[0]["error"]
    assert result.tools_used == ["execute_python"]  # it ran, and failed


def test_the_step_timeout_caps_each_tool_call(openai_server, toolbot) -> None:
    openai_server.enqueue(tool_calls_reply(("execute_python", {"code": "import time; time.sleep(30)"})),
                          chat_reply(ANSWER))
    ask(toolbot(openai_server), timeout_seconds=0.5)
    output = json.loads(tool_messages(openai_server, 1)[0]["content"])
    assert output["limit"] == "wall_clock" and output["duration_ms"] < 5000


def test_the_step_narrows_the_offered_tools(openai_server, toolbot) -> None:
    openai_server.enqueue(tool_calls_reply(("echo", {"value": 1})), chat_reply(ANSWER))
    result = ask(toolbot(openai_server, CountingAdd()), tools=("add",))
    assert [t["function"]["name"] for t in openai_server.chat_requests()[0].json["tools"]] == ["add"]
    assert result.tool_calls[0]["status"] == "refused"


def test_deterministic_replay_serves_answers_and_results_without_calling_anything(openai_server, toolbot,
                                                                                  db) -> None:
    add = CountingAdd()
    openai_server.enqueue(tool_calls_reply(("add", {"a": 1, "b": 2}), ("add", {"a": 1, "b": 2})),
                          tool_calls_reply(("execute_python", {"code": "import sys; sys.exit(3)"}), ("x", {})),
                          chat_reply(ANSWER))
    first = ask(toolbot(openai_server, add, db=db))
    asked = len(openai_server.chat_requests())
    runtime = toolbot(openai_server, add, db=db)
    replayed = runtime.run(AgentRequest(role="toolbot", input={"task": "work"}, run_id="run-2", step_id="s",
                                        replay_run_id="run-1"))
    assert len(openai_server.chat_requests()) == asked and add.calls == 2  # no model asked, no tool ran
    assert replayed.output == first.output and replayed.tool_calls == first.tool_calls
    assert [t["status"] for t in replayed.tool_calls] == ["ok", "ok", "failed", "refused"]
    rows = CallRecordRepository(db).for_run("run-2")
    assert [r["kind"] for r in rows].count("llm") == 3 and [r["kind"] for r in rows].count("tool") == 3


def test_replay_names_a_missing_tool_recording(openai_server, toolbot, db) -> None:
    openai_server.enqueue(tool_calls_reply(("add", {"a": 1, "b": 2})), chat_reply(ANSWER))
    ask(toolbot(openai_server, CountingAdd(), db=db))
    db.execute("DELETE FROM call_records WHERE kind = 'tool'")
    with pytest.raises(ReplayError, match="run run-1, step s, tool 'add', call #1"):
        toolbot(openai_server, CountingAdd(), db=db).run(
            AgentRequest(role="toolbot", input={"task": "work"}, run_id="run-2", step_id="s", replay_run_id="run-1"))
