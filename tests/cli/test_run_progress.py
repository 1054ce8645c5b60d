"""`cognos run` a person can watch: progress per step, Dagster's DEBUG lines only with -v,
a failed step as one line and a hint, and a live table on a terminal."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from tests.cli.conftest import cognos

Writer = Callable[[str, str], Path]
SPEC = """
    id: watched
    version: 1.0.0
    inputs:
      fail: {type: boolean, default: false}
    steps:
      - id: first
        tool: execute_python
        input: {code: "print(1)"}
      - id: each
        tool: execute_python
        foreach: [1, 2, 3]
        depends_on: [first]
        input: {code: "print({{ item }})"}
      - id: last
        tool: execute_python
        depends_on: [each]
        input: {code: "{{ 'raise SystemExit(3)' if inputs.fail else 'print(2)' }}"}
"""


def test_plain_output_is_one_line_per_step_without_dagster_logs(write_spec: Writer) -> None:
    write_spec("watched", SPEC)
    code, out, err = cognos("run", "watched")
    assert code == 0, out + err
    lines = out.splitlines()
    finished = [line.split()[0] for line in lines if "attempts=" in line and " done " in line]
    assert finished == ["first", "each", "last"]
    assert "items 3/3" in next(line for line in lines if line.split()[0] == "each" and " done " in line)
    assert "DEBUG" not in err and "STEP_SUCCESS" not in err + out

    code, _, err = cognos("run", "watched", "-v")
    assert code == 0 and "STEP_SUCCESS" in err  # -v brings Dagster's log back


def test_a_failed_step_is_one_line_and_a_hint(write_spec: Writer) -> None:
    write_spec("watched", SPEC)
    code, out, err = cognos("run", "watched", "-i", "fail=true")
    assert code == 1
    assert "Traceback" not in out + err
    failed = [line for line in out.splitlines() if line.split()[:2] == ["last", "failed"]]
    assert failed and "exit code 3" in failed[-1]
    assert "hint:" in out and "--from-failure" in out

    code, out, _ = cognos("run", "watched", "-i", "fail=true", "--json")
    report = json.loads(out)  # --json is still exactly one object
    assert code == 1 and set(report) == {"run_id", "workflow_id", "version", "status", "outputs", "steps", "assets"}


def test_a_terminal_gets_a_live_table(write_spec: Writer) -> None:
    from cognitionos_dagster.cli.progress import step_records, watch
    from cognitionos_dagster.defs.execution import find_spec, open_instance, run_workflow
    from cognitionos_dagster.settings import load_settings

    write_spec("watched", SPEC)
    settings = load_settings()
    spec = find_spec(settings, "watched")
    instance = open_instance(settings)
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    rep = watch(instance, spec.job_name, spec.topological_order(),
                lambda: run_workflow(settings, instance, spec, {"fail": False}), terminal, step_records(settings))
    assert rep.status == "success"
    shown = screen.getvalue()
    assert "\x1b[" in shown  # drawn in place with terminal codes
    for column in ("step", "status", "attempts", "items"):
        assert column in shown
    assert "3/3" in shown and "done" in shown
