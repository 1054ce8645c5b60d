"""`cognos gates` through typer's runner: list, show, and evaluate with each scorer's verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cognitionos_dagster.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "COGNITIONOS_OPENAI_API_KEY", "COGNITIONOS_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_list_and_show() -> None:
    listed = runner.invoke(app, ["gates", "list", "--json"])
    assert listed.exit_code == 0 and {p["name"] for p in json.loads(listed.stdout)} >= {"default", "strict"}
    shown = runner.invoke(app, ["gates", "show", "strict"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["require_self_critique"] is True
    unknown = runner.invoke(app, ["gates", "show", "lenient"])
    assert unknown.exit_code == 1 and "unknown quality gate policy 'lenient'" in unknown.output


def test_evaluate_prints_each_verdict_and_exits_by_the_result(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"summary": "The deploy finished in three minutes. The database moved to Oracle.",
                                "key_points": ["deploy"], "confidence": 0.9}))
    ctx = tmp_path / "ctx.txt"
    ctx.write_text("The deploy finished in three minutes.")
    result = runner.invoke(app, ["gates", "evaluate", "strict", "--role", "summarizer", "--output", str(good),
                                 "--context", str(ctx), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["passed"] and data["critique_rounds"] == 1  # the offline critic scored 0.9
    assert [v["scorer"] for v in data["verdicts"]] == ["quality", "confidence", "critic", "grounding"]
    assert data["hallucinated"] and data["grounding_method"] == "lexical-overlap"
    bad = tmp_path / "bad.json"
    bad.write_text('{"summary": 3}')
    failed = runner.invoke(app, ["gates", "evaluate", "default", "--role", "summarizer", "--output", str(bad)])
    assert failed.exit_code == 1 and "schema" in failed.output and "FAIL" in failed.output
