"""The self-critique loop on the real `openai` client against the local test server: the critic
reviews, the agent revises with the critique, and the best-scoring answer is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.openai_server import chat_reply

from cognitionos_dagster.agents.runtime import AgentRequest
from cognitionos_dagster.db.repositories.calls import CallRecordRepository


def _summary(text: str) -> dict[str, object]:
    return {"summary": text, "key_points": ["web"], "confidence": 0.9}


def _critique(score: float) -> dict[str, object]:
    return {"issues": [f"issue at {score}"], "suggestions": ["be concrete"], "confidence": 0.9,
            "overall_quality": score}


@pytest.fixture
def loop_resources(resources: Path) -> Path:
    (resources / "policies" / "quality" / "loop.yaml").write_text(
        "min_quality_score: 0.7\nmin_confidence_score: 0.5\nself_critique: {max_rounds: 3}\nblocking: false\n")
    return resources


def _run(openai_server, make_runtime, db, resources: Path, run_id: str):  # type: ignore[no-untyped-def]
    runtime = make_runtime(openai_server, db=db, resources=resources)
    return runtime.run(AgentRequest(role="summarizer", input={"content": "deploy notes"}, run_id=run_id,
                                    step_id="sum", quality_gate="loop"))


def test_a_revision_that_improves_is_kept_and_the_loop_stops(openai_server, make_runtime, db,
                                                             loop_resources: Path) -> None:
    openai_server.enqueue(chat_reply(_summary("v0")), chat_reply(_critique(0.4)),
                          chat_reply(_summary("v1")), chat_reply(_critique(0.6)),
                          chat_reply(_summary("v2")), chat_reply(_critique(0.85)))
    result = _run(openai_server, make_runtime, db, loop_resources, "c1")
    assert result.output["summary"] == "v2" and result.quality_score == 0.85
    assert len(openai_server.chat_requests()) == 6  # passed in round 2: round 3 never runs
    revise = openai_server.chat_requests()[2].json["messages"][-1]["content"]
    assert "scored this answer 0.40" in revise and "- issue at 0.4" in revise and "- be concrete" in revise
    row = db.fetch_one("SELECT passed, critique_rounds, details FROM quality_gate_results WHERE run_id = 'c1'")
    assert row is not None and row["passed"] and row["critique_rounds"] == 3
    assert row["details"]["score_trajectory"] == [0.4, 0.6, 0.85]
    assert [r["round"] for r in row["details"]["critique"]["rounds"]] == [0, 1, 2]
    steps = [r["step_id"] for r in CallRecordRepository(db).for_run("c1")]
    assert steps == ["sum", "sum.critique", "sum.revise[1]", "sum.critique[1]", "sum.revise[2]", "sum.critique[2]"]


def test_the_best_round_is_kept_when_a_later_one_is_worse(openai_server, make_runtime, db,
                                                          loop_resources: Path) -> None:
    openai_server.enqueue(chat_reply(_summary("v0")), chat_reply(_critique(0.5)),
                          chat_reply(_summary("v1")), chat_reply(_critique(0.65)),
                          chat_reply(_summary("v2")), chat_reply(_critique(0.3)),
                          chat_reply(_summary("v3")), chat_reply(_critique(0.2)))
    result = _run(openai_server, make_runtime, db, loop_resources, "c2")
    assert result.output["summary"] == "v1" and result.quality_score == 0.65  # never improved past round 1
    assert len(openai_server.chat_requests()) == 8  # stopped at max_rounds
    row = db.fetch_one("SELECT passed, failure_reason, details FROM quality_gate_results WHERE run_id = 'c2'")
    assert row is not None and not row["passed"] and row["failure_reason"] == "quality 0.65 < 0.70"
    assert row["details"]["score_trajectory"] == [0.5, 0.65, 0.3, 0.2]
    assert row["details"]["critique"]["best_round"] == 1
