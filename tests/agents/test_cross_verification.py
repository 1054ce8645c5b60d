"""Cross-agent verification on the real `openai` client against the local test server: the
judge's K samples decide by their median, a disagreeing judge fails the gate with its reasons,
and a judge whose answers break their schema fails it with that reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.openai_server import chat_reply

from cognitionos_dagster.agents.runtime import AgentRequest
from cognitionos_dagster.db.repositories.calls import CallRecordRepository

SUMMARY = {"summary": "deployed web and api", "key_points": ["web", "api"], "confidence": 0.9}


def _judge(score: float, issue: str = "fine") -> dict[str, object]:
    return {"issues": [issue], "suggestions": [], "confidence": 0.9, "overall_quality": score}


def _run(openai_server, make_runtime, db, resources: Path, samples: int, run_id: str):  # type: ignore[no-untyped-def]
    (resources / "policies" / "quality" / "verified.yaml").write_text(
        "min_quality_score: 0.6\nmin_confidence_score: 0.5\nrequire_cross_verification: true\n"
        f"verifier: {{role: critic, model: judge-model, samples: {samples}}}\nblocking: false\n")
    runtime = make_runtime(openai_server, db=db, resources=resources)
    return runtime.run(AgentRequest(role="summarizer", input={"content": "deploy notes"}, run_id=run_id,
                                    step_id="sum", quality_gate="verified"))


def test_a_disagreeing_verifier_fails_the_gate_with_its_reasons(openai_server, make_runtime, db,
                                                                resources: Path) -> None:
    openai_server.enqueue(chat_reply(SUMMARY), chat_reply(_judge(0.3, "misses the rollback plan")))
    _run(openai_server, make_runtime, db, resources, 1, "v1")
    judged = openai_server.chat_requests()[1].json
    assert judged["model"] == "judge-model" and "deployed web and api" in judged["messages"][-1]["content"]
    row = db.fetch_one("SELECT passed, failure_reason, verifier_score, verifier_spread FROM quality_gate_results")
    assert row == {"passed": False, "failure_reason": "cross-verification 0.30 < 0.60 (misses the rollback plan)",
                   "verifier_score": 0.3, "verifier_spread": 0.0}
    assert [r["step_id"] for r in CallRecordRepository(db).for_run("v1")] == ["sum", "sum.verify[0]"]


def test_noisy_judges_are_decided_by_the_median(openai_server, make_runtime, db, resources: Path) -> None:
    openai_server.enqueue(chat_reply(SUMMARY), chat_reply(_judge(0.9)), chat_reply(_judge(0.1, "wild")),
                          chat_reply(_judge(0.8)))
    _run(openai_server, make_runtime, db, resources, 3, "v2")
    row = db.fetch_one("SELECT passed, verifier_score, verifier_spread, details->'verifier_samples' AS s "
                       "FROM quality_gate_results")
    assert row == {"passed": True, "verifier_score": 0.8, "verifier_spread": pytest.approx(0.8),
                   "s": [0.9, 0.1, 0.8]}


def test_a_judge_breaking_its_schema_is_reasked_then_fails_the_gate(openai_server, make_runtime, db,
                                                                   resources: Path) -> None:
    openai_server.enqueue(chat_reply(SUMMARY), *[chat_reply("not json at all") for _ in range(3)])
    _run(openai_server, make_runtime, db, resources, 1, "v3")
    assert len(openai_server.chat_requests()) == 4  # the answer, then the judge asked 1 + 2 re-asks
    row = db.fetch_one("SELECT passed, failure_reason, verifier_score FROM quality_gate_results")
    assert row is not None and not row["passed"] and row["verifier_score"] is None
    assert row["failure_reason"].startswith("verifier answer broke its schema after re-asks: critic output did not")
