"""`cognos metrics` through typer's runner against the per-test database."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from cognitionos_dagster.cli.main import app
from cognitionos_dagster.metrics.daily import compute

runner = CliRunner()
Seed = Callable[..., None]


def test_a_day_as_table_and_json_with_the_assets_figures(database_url: str, db, seed: Seed) -> None:
    day = datetime(2026, 11, 10, tzinfo=UTC).date()
    seed(day, "planner", [100.0, 200.0, 900.0])
    seed(day, "critic", [50.0])
    result = runner.invoke(app, ["metrics", "--day", "2026-11-10", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["no_data"] is False
    assert payload["rows"] == [r.as_json() for r in compute(db, day)]
    assert {r["agent_role"]: r["p95_latency_ms"] for r in payload["rows"]} == {"critic": 50, "planner": 900}

    only = json.loads(runner.invoke(app, ["metrics", "--day", "2026-11-10", "--role", "critic", "--json"]).stdout)
    assert [r["agent_role"] for r in only["rows"]] == ["critic"]
    table = runner.invoke(app, ["metrics", "--day", "2026-11-10"])
    assert table.exit_code == 0 and "planner" in table.stdout and "900" in table.stdout


def test_no_data_future_day_and_bad_date(database_url: str) -> None:
    empty = runner.invoke(app, ["metrics", "--day", "2026-01-02"])
    assert empty.exit_code == 0 and "no data for 2026-01-02" in empty.stdout
    assert json.loads(runner.invoke(app, ["metrics", "--day", "2026-01-02", "--json"]).stdout)["no_data"] is True
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    future = runner.invoke(app, ["metrics", "--day", tomorrow])
    assert future.exit_code == 1 and f"{tomorrow} is in the future" in future.output
    bad = runner.invoke(app, ["metrics", "--day", "10/11/2026"])
    assert bad.exit_code == 1 and "is not a date" in bad.output
