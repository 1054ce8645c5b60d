"""Every example of docs/api.md, run in order against a live webserver, code server and daemon.

The blocks are read from the page itself, so the page cannot drift from the API: the `bash`
blocks run through a shell (curl), the `python` blocks are exec'd in one namespace.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cognitionos_dagster.defs.instance_config import write_instance_config
from cognitionos_dagster.settings import PROJECT_ROOT
from tests.conftest import create_database, drop_database
from tests.support.stack import Stack

PAGE = PROJECT_ROOT / "docs" / "api.md"
BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.S | re.M)


def examples(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(PAGE.read_text()) if lang == language]


def _to(stack: Stack, text: str) -> str:
    return text.replace("localhost:3000", f"127.0.0.1:{stack.port}").replace(
        "port_number=3000", f"port_number={stack.port}").replace('"localhost"', '"127.0.0.1"')


def _answer(out: str) -> dict[str, Any]:
    """A curl answer: JSON without GraphQL errors, and no field answering with an error type."""
    body = json.loads(out)
    assert "errors" not in body, body
    for field, value in body["data"].items():
        typename = value.get("__typename", "") if isinstance(value, dict) else ""
        assert not typename.endswith(("Error", "Invalid", "NotFound")), (field, value)
    return dict(body["data"])


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    storage = create_database()
    write_instance_config(tmp_path / "dagster", storage)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    try:
        with Stack(tmp_path / "dagster", env, tmp_path / "logs") as running:
            yield running
    finally:
        drop_database(storage)


def test_the_page_has_an_example_of_each_operation() -> None:
    text = "".join(examples("bash"))
    for operation in ("launchRun(", "runOrError(", "launchRunReexecution(", "stepStats", "pipelineOrError(",
                      "repositoryOrError("):
        assert operation in text, operation
    assert len(examples("python")) >= 5


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="the examples call curl")
def test_every_example_runs_against_a_live_webserver(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    env = dict(stack.env)
    launch, *rest = examples("bash")
    launched = _answer(subprocess.run(["bash", "-c", _to(stack, launch)], capture_output=True, text=True,
                                      check=True, env=env).stdout)
    run_id = launched["launchRun"]["run"]["runId"]
    stack.wait_for_run(run_id, 120)
    env["RUN_ID"] = run_id
    answers = [_answer(subprocess.run(["bash", "-c", _to(stack, block)], capture_output=True, text=True,
                                      check=True, env=env).stdout) for block in rest]
    by_field: dict[str, Any] = {}
    for answer in answers:  # the first answer of each operation: the status query comes before the step stats
        for field, value in answer.items():
            by_field.setdefault(field, value)
    assert by_field["runOrError"]["status"] == "SUCCESS"
    assert {"key": "cognitionos/workflow_id", "value": "health_check"} in by_field["runOrError"]["tags"]
    assert by_field["launchRunReexecution"]["run"]["parentRunId"] == run_id
    stack.wait_for_run(by_field["launchRunReexecution"]["run"]["runId"], 120)

    namespace: dict[str, Any] = {}
    first, *others = examples("python")
    exec(compile(_to(stack, first), f"{PAGE}:python-1", "exec"), namespace)
    stack.wait_for_run(namespace["run_id"], 120)
    for n, block in enumerate(others, start=2):
        exec(compile(_to(stack, block), f"{PAGE}:python-{n}", "exec"), namespace)
    assert namespace["versions"]["health_check"] == ["1.0.0"]
    assert namespace["edges"]["daemon"] == ["_inputs"]
    assert {s["stepKey"] for s in namespace["steps"]} >= {"database", "pgvector", "_outputs"}
