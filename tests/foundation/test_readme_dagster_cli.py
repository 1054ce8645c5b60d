"""The README's Dagster-CLI lines, run exactly as written (read from the README, so they cannot drift)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cognitionos_dagster.settings import PROJECT_ROOT

MARKER = "<!-- dagster-cli:"


def readme_lines() -> list[str]:
    text = (PROJECT_ROOT / "README.md").read_text()
    after = text[text.index(MARKER):]
    block = re.search(r"```bash\n(.*?)```", after, re.S)
    assert block, "the README lost its dagster-cli block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_block_names_the_documented_commands() -> None:
    lines = readme_lines()
    assert lines[0] == 'eval "$(.venv/bin/cognos env)"'
    assert any(line.startswith("dagster job launch -j deploy_web_app --config-json") for line in lines)
    assert any(line.startswith("dagster asset materialize") and "--select" in line for line in lines)
    assert "dagster schedule list" in lines


@pytest.mark.slow
def test_readme_dagster_cli_lines_run(database_url: str, tmp_path: Path) -> None:
    lines = readme_lines()
    lines[-1] += " --json" if lines[-1] == "cognos runs" else ""  # read the listing as data
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_")}
    env.update(COGNITIONOS_HOME=str(tmp_path / "home"), COGNITIONOS_DATABASE_URL=database_url,
               PATH=os.defpath)  # no venv on PATH: `cognos env` must put it there
    if Path(sys.executable).parent != PROJECT_ROOT / ".venv" / "bin":
        pytest.skip("the README's lines use the project's .venv")
    done = subprocess.run(["bash", "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Schedule: memory_gc_schedule" in done.stdout
    runs = json.loads(done.stdout[done.stdout.index("[\n"):])
    by_job = {r["job"]: r for r in runs}
    assert by_job["deploy_web_app"]["status"] == "QUEUED"  # the daemon of `make run` would start it
    assert by_job["__ASSET_JOB"]["status"] == "SUCCESS"
