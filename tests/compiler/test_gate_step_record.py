"""A gated agent step's record holds its gate: verdicts, one line per critique round, the trajectory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.executions import ExecutionRepository


def test_the_step_record_holds_the_critique_rounds(write_spec: Callable[[str, str], Path], run_job,
                                                   db: Database) -> None:
    write_spec("gated", """
        id: gated
        version: 1.0.0
        steps:
          - id: sum
            agent: summarizer
            input: {content: "the deploy went fine"}
            quality_gate: strict
    """)
    res = run_job("gated")
    assert res.success
    row = {r["step_id"]: r for r in ExecutionRepository(db).steps(res.run_id)}["sum"]
    quality = row["quality"]
    assert quality["policy"] == "strict" and quality["passed"]
    assert quality["score_trajectory"] == [0.9] and quality["rounds"] == [{"round": 0, "score": 0.9, "issues": 2}]
    assert [v["scorer"] for v in quality["verdicts"]] == ["quality", "confidence", "critic"]
