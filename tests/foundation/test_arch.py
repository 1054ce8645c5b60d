"""`cognos arch` on the real tree (must pass) and on a fake tree full of violations."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cognitionos_dagster.archcheck import check_tree, layer_of, may_import
from cognitionos_dagster.cli.main import app
from cognitionos_dagster.settings import PROJECT_ROOT

FAKE = {
    "cognitionos_dagster/__init__.py": "",
    "cognitionos_dagster/settings.py": "from cognitionos_dagster.errors import ConfigError\n",
    "cognitionos_dagster/errors.py": "",
    "cognitionos_dagster/db/__init__.py": "",
    "cognitionos_dagster/db/conn.py": "import os\nfrom cognitionos_dagster.defs import jobs\n",
    "cognitionos_dagster/memory/__init__.py": "",
    "cognitionos_dagster/memory/store.py": (
        "from cognitionos_dagster.llm import embeddings\n"
        "\n"
        "def late():\n"
        "    from cognitionos_dagster.agents.base import Agent\n"
        "    return Agent\n"
    ),
    "cognitionos_dagster/tools/__init__.py": "",
    "cognitionos_dagster/tools/registry.py": (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import dagster as dg\n"
        "    from dagster_postgres import PostgresRunStorage\n"
    ),
    "cognitionos_dagster/dsl/__init__.py": "",
    "cognitionos_dagster/dsl/models.py": "from ..compiler import build\nfrom . import lint\n",
    "cognitionos_dagster/llm/__init__.py": "",
    "cognitionos_dagster/llm/client.py": (
        "import importlib\nmod = importlib.import_module('cognitionos_dagster.cli.main')\n"
    ),
    "cognitionos_dagster/agents/__init__.py": "",
    "cognitionos_dagster/agents/base.py": (
        "from cognitionos_dagster.memory import store\nfrom cognitionos_dagster import db\n"
    ),
    "cognitionos_dagster/defs/__init__.py": "import dagster\nfrom cognitionos_dagster.compiler import build\n",
    "cognitionos_dagster/defs/dagster_private.py": "from dagster._core.launcher import WorkerStatus\n",
    "cognitionos_dagster/compiler/graphs.py": "import dagster\nfrom dagster._core.definitions import NodeDefinition\n",
    "cognitionos_dagster/cli/__init__.py": "from cognitionos_dagster import defs, db, archcheck\n",
    "cognitionos_dagster/lifecycle/__init__.py": "",
    "cognitionos_dagster/quality/gates.py": "import resources.policies\n",
    "resources/prompts/__init__.py": "",
    "resources/prompts/planner/v1.md": "# prompt\n",
}


def _fake_tree(root: Path) -> Path:
    for rel, text in FAKE.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_real_tree_follows_the_layer_table() -> None:
    report = check_tree(PROJECT_ROOT)
    assert report.violations == [], "\n".join(map(str, report.violations))
    assert report.modules > 20 and report.imports > 50  # it really read the package


def test_every_kind_of_violation_is_found(tmp_path: Path) -> None:
    report = check_tree(_fake_tree(tmp_path))
    lines = sorted(str(v) for v in report.violations)
    assert lines == sorted(
        [
            "cognitionos_dagster/db/conn.py:2: db imports defs (cognitionos_dagster.defs)",
            "cognitionos_dagster/memory/store.py:4: memory imports agents (cognitionos_dagster.agents.base)",
            "cognitionos_dagster/tools/registry.py:3: tools imports dagster (dagster)",
            "cognitionos_dagster/tools/registry.py:4: tools imports dagster (dagster_postgres)",
            "cognitionos_dagster/dsl/models.py:1: dsl imports compiler (cognitionos_dagster.compiler)",
            "cognitionos_dagster/llm/client.py:2: llm imports cli (cognitionos_dagster.cli.main)",
            "cognitionos_dagster/lifecycle/__init__.py:1: lifecycle is not in the layer table "
            "(add it to archcheck.LAYERS)",
            "cognitionos_dagster/quality/gates.py:1: quality imports resources (resources.policies)",
            "resources/prompts/__init__.py:1: resources/ holds data only (__init__.py); remove it",
            "cognitionos_dagster/compiler/graphs.py:2: dagster._core.definitions is private to Dagster; use "
            "`dagster` or take it from cognitionos_dagster.defs.dagster_private",
        ]
    )


def test_layer_order_inside_and_across_bands() -> None:
    assert layer_of("cognitionos_dagster.memory.store") == "memory"
    assert layer_of("cognitionos_dagster.nonexistent") is None
    assert may_import("agents", "memory") and not may_import("memory", "agents")
    assert may_import("metrics", "tracing") and not may_import("tracing", "metrics")
    assert may_import("cli", "db") and may_import("definitions", "defs") and not may_import("db", "dsl")
    assert may_import("dsl", "errors") and not may_import("settings", "db")


def test_cli_prints_violations_and_exits_1(tmp_path: Path) -> None:
    root = _fake_tree(tmp_path)
    result = CliRunner().invoke(app, ["arch", "--root", str(root)])
    assert result.exit_code == 1
    assert "cognitionos_dagster/db/conn.py:2: db imports defs (cognitionos_dagster.defs)" in result.output

    result = CliRunner().invoke(app, ["arch", "--root", str(root), "--json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert {v["rule"] for v in payload["violations"]} == {
        "layer", "no-dagster", "unknown-layer", "data-only", "data-only-import", "dagster-private"
    }


def test_cli_passes_on_the_real_tree() -> None:
    result = CliRunner().invoke(app, ["arch", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True
