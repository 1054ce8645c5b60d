"""`schedule:` as a cron string or as `{cron, inputs}`: the schedule's runs get those inputs."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from cognitionos_dagster.defs.workflows import load_workflows, workflow_definitions
from cognitionos_dagster.settings import PROJECT_ROOT, load_settings

Writer = Callable[[str, str], Path]
BODY = textwrap.dedent("""
    inputs:
      dry_run: {type: boolean, default: true}
      n: {type: integer, default: 1}
    steps:
      - id: a
        tool: execute_python
        input: {code: "print(1)"}
""")


def _schedule(defs: dg.Definitions, name: str) -> dg.ScheduleDefinition:
    return next(s for s in defs.get_repository_def().schedule_defs if s.name == name)


def test_schedule_with_inputs_and_plain_cron(write_spec: Writer, compile_defs: Callable[[], dg.Definitions]) -> None:
    write_spec("nightly", 'id: nightly\nversion: 1.0.0\nschedule: {cron: "15 1 * * *", inputs: {dry_run: false}}'
               + BODY)
    write_spec("plain", 'id: plain\nversion: 1.0.0\nschedule: "0 3 * * *"' + BODY)
    defs = compile_defs()
    nightly = _schedule(defs, "nightly_schedule")
    assert nightly.cron_schedule == "15 1 * * *"
    with dg.build_schedule_context() as context:
        request = nightly.evaluate_tick(context).run_requests[0]
    assert request.run_config == {"dry_run": False, "n": 1}  # defaults filled in, checked at load
    plain = _schedule(defs, "plain_schedule")
    with dg.build_schedule_context() as context:
        assert plain.evaluate_tick(context).run_requests[0].run_config == {}


def test_schedule_inputs_are_checked_with_a_position(write_spec: Writer) -> None:
    path = write_spec("wrong", 'id: wrong\nversion: 1.0.0\nschedule: {cron: "15 1 * * *", inputs: {n: "many"}}'
                      + BODY)
    loaded = load_workflows(load_settings(), sync_registry=False)
    assert not loaded.specs
    message = str(loaded.errors[0])
    assert message.startswith(str(path)) and "schedule.inputs" in message and "n" in message


def test_the_shipped_memory_gc_schedule_applies_its_policies(database_url: str) -> None:
    defs = workflow_definitions(load_settings(workflow_specs=PROJECT_ROOT / "workflow_specs"))
    gc = _schedule(defs, "memory_gc_schedule")
    with dg.build_schedule_context() as context:
        assert gc.evaluate_tick(context).run_requests[0].run_config["dry_run"] is False
