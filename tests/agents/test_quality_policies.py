"""Quality policies load from files; evaluation scores, records and blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from cognitionos_dagster.errors import ConfigError, GateFailed
from cognitionos_dagster.quality import QualityPolicy, evaluate, get_policy, load_quality_policies
from cognitionos_dagster.settings import PROJECT_ROOT


def test_shipped_policies() -> None:
    policies = load_quality_policies(PROJECT_ROOT / "resources")
    assert {"default", "strict"} <= set(policies)
    strict = policies["strict"]
    assert strict.blocking and strict.require_self_critique and strict.min_quality_score == 0.7
    assert not policies["default"].blocking
    with pytest.raises(ConfigError, match="unknown quality gate policy 'lenient'"):
        get_policy(policies, "lenient")


def test_a_bad_policy_file_names_its_line(resources: Path) -> None:
    path = resources / "policies" / "quality" / "odd.yaml"
    path.write_text("name: odd\nmin_quality_score: 0.5\nmin_confidence_score: 1.5\n")
    with pytest.raises(ConfigError, match=rf"{path}:3: min_confidence_score: Input should be less than or equal"):
        load_quality_policies(resources)
    path.write_text("name: even\n")
    with pytest.raises(ConfigError, match=rf"{path}:1: policy name 'even' differs from its file name 'odd'"):
        load_quality_policies(resources)


STRICT = QualityPolicy(name="strict", min_quality_score=0.7, min_confidence_score=0.7, blocking=True)
SOFT = QualityPolicy(name="soft", min_quality_score=0.7, min_confidence_score=0.7, blocking=False)


def test_scores_come_from_the_output_or_its_structure() -> None:
    assert evaluate(SOFT, {"issues": [], "overall_quality": 0.95}, 0.9).quality_score == 0.95
    partial = evaluate(SOFT, {"summary": "x", "key_points": [], "confidence": 0.9}, 0.9)
    assert partial.quality_score == 0.5 and not partial.passed and partial.reason == "quality 0.50 < 0.70"
    with_errors = evaluate(SOFT, {"result": "done", "errors": ["a", "b", "c"], "tools_used": []}, 0.9)
    assert with_errors.quality_score == pytest.approx(0.7)


def test_blocking_failure_raises_after_recording(db) -> None:
    with pytest.raises(GateFailed, match=r"confidence 0\.50 < 0\.70"):
        evaluate(STRICT, {"summary": "fine"}, 0.5, db=db, run_id="r", step_id="s", agent_role="summarizer")
    row = db.fetch_one("SELECT passed, confidence_score, policy_name FROM quality_gate_results")
    assert row == {"passed": False, "confidence_score": 0.5, "policy_name": "strict"}
    passed = evaluate(STRICT, {"summary": "fine"}, 0.8, db=db, run_id="r", step_id="s2")
    assert passed.passed and passed.reason is None
    assert db.fetch_one("SELECT count(*) AS n FROM quality_gate_policies WHERE name = 'strict'") == {"n": 1}


def test_self_critique_and_cross_verification_requirements() -> None:
    policy = QualityPolicy(name="p", require_self_critique=True, require_cross_verification=True, blocking=False)
    missing = evaluate(policy, {"summary": "x"}, 0.9)
    assert "self-critique" in (missing.reason or "") and "cross-agent verification" in (missing.reason or "")
    done = evaluate(policy, {"summary": "x"}, 0.9, self_critique=0.8, cross_verification=0.9)
    assert done.passed and done.quality_score == 0.8
