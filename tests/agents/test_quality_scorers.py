"""Pluggable scorers, grounding, load errors with positions, and the recorded engine columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.quality import QualityPolicy, evaluate, load_quality_policies
from cognitionos_dagster.quality.gate import sync_policies
from cognitionos_dagster.quality.grounding import ground

SOFT = QualityPolicy(name="soft", min_quality_score=0.5, min_confidence_score=0.5, blocking=False)


def test_unknown_scorer_and_bad_threshold_name_their_line(resources: Path) -> None:
    path = resources / "policies" / "quality" / "odd.yaml"
    path.write_text("min_quality_score: 0.5\nscorers:\n  - schema\n  - nonsense\n")
    with pytest.raises(ConfigError, match=rf"{path}:4: scorers.1: Value error, unknown scorer 'nonsense'"):
        load_quality_policies(resources)
    path.write_text("verifier:\n  samples: 3\n  min_score: 1.2\n")
    with pytest.raises(ConfigError, match=rf"{path}:3: verifier.min_score: Input should be less than or equal to 1"):
        load_quality_policies(resources)
    path.write_text("grounding: {max_hallucination_score: -0.1}\n")
    with pytest.raises(ConfigError, match=rf"{path}:1: grounding.max_hallucination_score"):
        load_quality_policies(resources)


def test_a_custom_scorer_by_import_path_can_fail_the_gate() -> None:
    policy = SOFT.model_copy(update={"scorers": ["quality_scorers_sample:no_todo"]})
    bad = evaluate(policy, {"summary": "TODO later", "key_points": ["x"]}, 0.9)
    assert not bad.passed and bad.reason == "the output still says TODO"
    assert [v.scorer for v in bad.verdicts] == ["quality", "confidence", "no_todo"]
    assert evaluate(policy, {"summary": "done", "key_points": ["x"]}, 0.9).passed


def test_schema_scorer_reports_the_errors() -> None:
    policy = QualityPolicy(name="p", scorers=["schema"], blocking=False)
    result = evaluate(policy, {"summary": "x", "key_points": ["y"]}, 0.9, schema_errors=["confidence: missing"])
    assert not result.passed and "breaks its schema: confidence: missing" in (result.reason or "")


def test_grounding_catches_an_unsupported_claim_and_passes_a_supported_one() -> None:
    context = ["The deploy of the web service finished in three minutes without errors."]
    supported = {"summary": "The web service deploy finished in three minutes."}
    invented = {"summary": "The web service deploy finished in three minutes. The database migrated to Oracle "
                           "overnight."}
    ok = ground(supported, context)
    assert (ok.claims, ok.hallucination_score, ok.hallucinated) == (1, 0.0, False)
    bad = ground(invented, context)
    assert bad.unsupported == ["The database migrated to Oracle overnight."] and bad.hallucinated
    strict = SOFT.model_copy(update={"grounding": SOFT.grounding.model_copy(update={"fail_on_hallucination": True})})
    result = evaluate(strict, invented, 0.9, context=context)
    assert not result.passed and result.hallucinated and result.hallucination_score == 0.5
    assert "lexical-overlap" in (result.reason or "") and result.grounding_method == "lexical-overlap"
    flagged = evaluate(SOFT, invented, 0.9, context=context)  # flagged, not failed, by default
    assert flagged.passed and flagged.hallucinated and flagged.warnings
    assert evaluate(SOFT, invented, 0.9).hallucinated is None  # no context: nothing to judge


def test_unavailable_verifier_fails_or_warns_as_the_policy_says() -> None:
    policy = QualityPolicy(name="v", require_cross_verification=True, blocking=False)
    assert policy.verifier is not None and policy.verifier.samples == 1
    failed = evaluate(policy, {"summary": "x"}, 0.9, verifier_problem="verifier unavailable: HTTP 503")
    assert not failed.passed and failed.reason == "verifier unavailable: HTTP 503"
    lenient = policy.model_copy(update={"on_unavailable": "pass_with_warning"})
    warned = evaluate(lenient, {"summary": "x"}, 0.9, verifier_problem="verifier unavailable: HTTP 503")
    assert warned.passed and warned.warnings == ["warning: verifier unavailable: HTTP 503"]
    low = evaluate(policy, {"summary": "x"}, 0.9, cross_verification=0.4, verifier_spread=0.3,
                   verifier_reasons="misses the rollback plan")
    assert not low.passed and low.reason == "cross-verification 0.40 < 0.70 (misses the rollback plan)"


def test_results_and_policies_are_recorded(db, resources: Path) -> None:
    policy = QualityPolicy(name="rec", require_cross_verification=True, blocking=False)
    evaluate(policy, {"summary": "The deploy finished."}, 0.9, cross_verification=0.8, verifier_spread=0.2,
             critique_rounds=2, score_trajectory=[0.4, 0.8], context=["the deploy finished"], db=db,
             run_id="r", step_id="s", agent_role="summarizer")
    row = db.fetch_one("SELECT verifier_score, verifier_spread, critique_rounds, hallucinated, hallucination_score,"
                       " details->'score_trajectory' AS t FROM quality_gate_results")
    assert row == {"verifier_score": 0.8, "verifier_spread": 0.2, "critique_rounds": 2, "hallucinated": False,
                   "hallucination_score": 0.0, "t": [0.4, 0.8]}
    assert sync_policies(db, load_quality_policies(resources)) >= 2
    strict = db.fetch_one("SELECT config->>'blocking' AS b FROM quality_gate_policies WHERE name = 'strict'")
    assert strict == {"b": "true"}
