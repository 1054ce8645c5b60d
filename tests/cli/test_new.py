"""`cognos new`: each kind generated into a temporary project passes lint and runs offline."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cognitionos_dagster.quality.policies import load_quality_policies
from cognitionos_dagster.settings import PROJECT_ROOT
from tests.cli.conftest import cognos


@pytest.fixture
def resources(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = project / "resources"
    shutil.copytree(PROJECT_ROOT / "resources", folder)
    monkeypatch.setenv("COGNITIONOS_RESOURCES_DIR", str(folder))
    return folder


def test_new_workflow_lints_and_runs_offline(project: Path, resources: Path) -> None:
    code, out, _ = cognos("new", "workflow", "nightly_digest")
    assert code == 0 and str(project / "specs" / "nightly_digest.yaml") in out
    code, out, err = cognos("lint", "--no-register")
    assert code == 0 and "1 spec(s) valid, 0 error(s)" in out, err
    code, out, _ = cognos("run", "nightly_digest", "--json")
    report = json.loads(out)
    assert code == 0 and report["status"] == "success" and report["outputs"]["summary"].startswith("[offline]")


def test_never_overwrites_without_force_and_checks_names(project: Path) -> None:
    target = project / "specs" / "daily.yaml"
    target.write_text("mine")
    code, _, err = cognos("new", "workflow", "daily")
    assert code == 1 and "exists" in err and target.read_text() == "mine"
    assert cognos("new", "workflow", "daily", "--force")[0] == 0 and target.read_text() != "mine"
    code, _, err = cognos("new", "workflow", "Bad-Name")
    assert code == 1 and "bad workflow id" in err
    elsewhere = project / "other"
    assert cognos("new", "workflow", "daily", "--dir", str(elsewhere))[0] == 0
    assert (elsewhere / "daily.yaml").exists()


def test_new_agent_and_policy_load_and_serve_a_workflow(project: Path, resources: Path) -> None:
    assert cognos("new", "agent", "translator_x")[0] == 0
    assert cognos("new", "policy", "careful")[0] == 0
    assert (resources / "prompts" / "translator_x" / "v1.md").exists()
    assert load_quality_policies(resources)["careful"].min_quality_score == 0.6
    code, out, _ = cognos("agents", "translator_x", "--json")
    [role] = json.loads(out)
    assert code == 0 and role["input_schema"]["required"] == ["text"]
    (project / "specs" / "uses.yaml").write_text(
        "id: uses\nversion: 1.0.0\nsteps:\n  - id: t\n    agent: translator_x\n    quality_gate: careful\n"
        "    input: {text: hello}\noutputs: {answer: '{{ steps.t.output.answer }}'}\n")
    code, out, err = cognos("lint", "--no-register")
    assert code == 0, out + err
    code, out, _ = cognos("run", "uses", "--json")
    assert code == 0 and json.loads(out)["status"] == "success"


def test_new_tool_comes_with_a_passing_test(project: Path) -> None:
    folder = project / "tools"
    assert cognos("new", "tool", "word_count", "--dir", str(folder))[0] == 0
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
                           "test_word_count.py"], cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "2 passed" in done.stdout, done.stdout[-2000:]
