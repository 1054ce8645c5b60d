"""Prompt A/B tests: the statistics, a scripted evaluation over real HTTP, the record, the CLI, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.openai_server import OpenAIServer, RecordedRequest, Reply, chat_reply
from typer.testing import CliRunner

from cognitionos_dagster.agents.prompt_ab import prompt_ab_test
from cognitionos_dagster.cli.main import app
from cognitionos_dagster.db.repositories.calls import CallRecordRepository
from cognitionos_dagster.errors import AgentError, ConfigError, ModelError
from cognitionos_dagster.quality.ab_test import Attempt, CasePair, EvalCase, attempt, bootstrap_interval, summarize
from cognitionos_dagster.quality.gate import GateResult

V2_MARK = "Every sentence you write must be backed"  # a line only resources/prompts/summarizer/v2.md has
TIE_CASE = "meeting"  # both versions answer this case the same way


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No endpoint from the environment: runtimes without the local server use the offline provider."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "COGNITIONOS_OPENAI_API_KEY", "COGNITIONOS_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def pair(case: str, a: float, b: float) -> CasePair:
    return CasePair(case=case, a=Attempt(case=case, version="v1", score=a, passed=a > 0),
                    b=Attempt(case=case, version="v2", score=b, passed=b > 0))


def test_bootstrap_is_deterministic_per_seed() -> None:
    diffs = [0.3, -0.1, 0.2, 0.0, 0.5, -0.2, 0.1, 0.4]
    assert bootstrap_interval(diffs, seed=7) == bootstrap_interval(diffs, seed=7)
    assert bootstrap_interval(diffs, seed=7) != bootstrap_interval(diffs, seed=8)
    low, high = bootstrap_interval(diffs, seed=7)
    assert low < sum(diffs) / len(diffs) < high
    assert bootstrap_interval([0.0] * 5, seed=1) == (0.0, 0.0)


def test_winner_only_when_the_interval_excludes_zero() -> None:
    better_b = summarize("summarizer", "grounded", "r", [pair(f"c{i}", 0.2, 0.9) for i in range(6)])
    assert better_b.winner == "v2" and better_b.ci_low > 0 and better_b.b.win_rate == 1.0
    better_a = summarize("summarizer", "grounded", "r", [pair(f"c{i}", 0.9, 0.1) for i in range(6)])
    assert better_a.winner == "v1" and better_a.ci_high < 0 and better_a.a.wins == 6
    # one big win and losses elsewhere: the mean favours B, but the interval includes 0
    mixed = summarize("summarizer", "grounded", "r",
                      [pair("c0", 0.0, 1.0), pair("c1", 0.6, 0.5), pair("c2", 0.7, 0.6), pair("c3", 0.5, 0.5)])
    assert mixed.mean_difference > 0 and mixed.ci_low <= 0 <= mixed.ci_high and mixed.winner is None
    assert (mixed.a.wins, mixed.b.wins, mixed.ties) == (2, 1, 1) and mixed.a.win_rate == 0.5


def test_a_version_without_a_valid_answer_scores_zero_but_an_outage_stops() -> None:
    case = EvalCase(id="c", input={"content": "x"})

    def broken(_: EvalCase, version: str) -> GateResult:
        raise AgentError(f"summarizer output did not match after 2 re-ask(s) ({version})")

    lost = attempt(broken, case, "v1")
    assert (lost.score, lost.passed) == (0.0, False) and "re-ask" in (lost.reason or "")

    def down(_: EvalCase, version: str) -> GateResult:
        raise ModelError("every model failed")

    with pytest.raises(ModelError):
        attempt(down, case, "v1")


def _content(request: RecordedRequest) -> tuple[str, str]:
    messages = (request.json or {})["messages"]
    system = next(m["content"] for m in messages if m["role"] == "system")
    user = next(m["content"] for m in messages if m["role"] == "user")
    return system, json.loads(user.split("\n", 1)[1])["content"]


def scripted(request: RecordedRequest) -> Reply:
    """v2 keeps to the content; v1 invents facts, except on the meeting notes, where both agree."""
    system, content = _content(request)
    first = content.split(". ")[0].rstrip(".") + "."
    grounded = {"summary": first, "key_points": [first], "confidence": 0.9}
    invented = {"summary": "The cluster moved to Oracle on Friday. Costs fell by half.",
                "key_points": ["Oracle migration saved money"], "confidence": 0.9}
    return chat_reply(grounded if V2_MARK in system or content.startswith("The team agreed") else invented)


def test_clearly_better_version_wins_and_every_call_names_its_prompt(make_runtime, db) -> None:
    with OpenAIServer(default=scripted) as server:
        runtime = make_runtime(server, db=db)
        report = prompt_ab_test(runtime, "summarizer", "v1", "v2", db=db, seed=3, run_id="ab-1")
    assert report.winner == "v2" and report.ci_low > 0 and not report.offline
    assert (report.a.wins, report.b.wins, report.ties) == (0, 5, 1)
    assert report.b.mean_score == 1.0 and report.a.mean_score == pytest.approx(1 / 6, abs=1e-6)
    assert report.a.pass_rate == pytest.approx(1 / 6, abs=1e-6) and report.b.win_rate == pytest.approx(5 / 6, abs=1e-6)
    tie = next(p for p in report.pairs if p.case == TIE_CASE)
    assert tie.difference == 0 and tie.a.passed and tie.b.passed
    lost = next(p for p in report.pairs if p.case == "incident")
    assert not lost.a.passed and "not supported by the context" in (lost.a.reason or "")
    calls = {r["step_id"]: r["prompt_version"] for r in CallRecordRepository(db).for_run("ab-1")}
    assert calls == {f"{p.case}.{v}": v for p in report.pairs for v in ("v1", "v2")}
    row = db.fetch_one("SELECT * FROM prompt_ab_tests WHERE run_id = 'ab-1'")
    assert row is not None and row["winner"] == "v2" and row["ties"] == 1 and row["cases"] == 6
    assert row["ci_low"] == report.ci_low and len(row["details"]["pairs"]) == 6
    gates = db.fetch_one("SELECT count(*) AS n, count(*) FILTER (WHERE passed) AS ok FROM quality_gate_results "
                         "WHERE run_id = 'ab-1' AND policy_name = 'grounded'")
    assert gates == {"n": 12, "ok": 7}
    again = prompt_ab_test(make_runtime(resources=Path(runtime.settings.resources_dir)), "summarizer", "v1", "v2",
                           seed=3, run_id="ab-2")  # offline: the same answer for both versions
    assert again.winner is None and again.ties == 6 and (again.ci_low, again.ci_high) == (0.0, 0.0)


def test_cli_reports_and_records_offline(db) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["gates", "ab-test", "--role", "summarizer", "--a", "v1", "--b", "latest", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["offline"] and data["winner"] is None and data["b"]["version"] == "v2" and data["ties"] == 6
    row = db.fetch_one("SELECT winner, offline FROM prompt_ab_tests WHERE run_id = %s", (data["run_id"],))
    assert row == {"winner": None, "offline": True}
    table = runner.invoke(app, ["gates", "ab-test", "--role", "summarizer", "--a", "v1", "--b", "v2", "--no-record"])
    assert table.exit_code == 0 and "no winner: the interval includes 0" in table.output
    bad = runner.invoke(app, ["gates", "ab-test", "--role", "summarizer", "--a", "v1", "--b", "v9", "--no-record"])
    assert bad.exit_code == 1 and "prompt summarizer/v9.md does not exist (have: v1, v2)" in bad.output


def test_bad_input_fails_before_any_call(resources: Path, make_runtime) -> None:
    runtime = make_runtime(resources=resources)
    with pytest.raises(ConfigError, match="unknown agent role 'poet'"):
        prompt_ab_test(runtime, "poet", "v1", "v2")
    with pytest.raises(ConfigError, match=r"no evaluation set for role 'planner'.*eval/planner\.yaml does not exist"):
        prompt_ab_test(runtime, "planner", "v1", "v1")
    with pytest.raises(ConfigError, match="both sides of the A/B test are 'v2'"):
        prompt_ab_test(runtime, "summarizer", "latest", "v2")
    eval_file = resources / "eval" / "summarizer.yaml"
    original = eval_file.read_text()
    eval_file.write_text(original.replace("  - id: incident", "  - id: deploy-log"))
    with pytest.raises(ConfigError, match=r"summarizer.yaml:15: case id 'deploy-log' is used twice"):
        prompt_ab_test(runtime, "summarizer", "v1", "v2")
    eval_file.write_text(original.replace("ground_in: [content]", "ground_in: [text]"))
    with pytest.raises(ConfigError, match="ground_in names text, not fields of the summarizer input"):
        prompt_ab_test(runtime, "summarizer", "v1", "v2")
    eval_file.write_text(original.replace("      style: report", "      tone: report", 1))
    with pytest.raises(ConfigError, match="case 'incident': input for role 'summarizer' is invalid"):
        prompt_ab_test(runtime, "summarizer", "v1", "v2")
    eval_file.write_text(original.replace("policy: grounded", "policy: lenient"))
    with pytest.raises(ConfigError, match="unknown quality gate policy 'lenient'"):
        prompt_ab_test(runtime, "summarizer", "v1", "v2")


def test_dagster_job_runs_the_comparison(database_url: str, dagster_instance, db) -> None:
    from cognitionos_dagster.defs.quality import prompt_ab_test_job
    from cognitionos_dagster.integrations.database import DatabaseResource
    from cognitionos_dagster.integrations.llm import LLMResource

    with OpenAIServer(default=scripted) as server:
        result = prompt_ab_test_job.execute_in_process(
            instance=dagster_instance,
            run_config={"ops": {"compare_prompts": {"config": {"role": "summarizer", "seed": 3}}}},
            resources={"db": DatabaseResource(), "llm": LLMResource(base_url=server.base_url, api_key="sk-test")})
    assert result.success
    report = result.output_for_node("compare_prompts")
    assert report["winner"] == "v2" and report["b"]["version"] == "v2" and report["run_id"] == f"ab-{result.run_id}"
    row = db.fetch_one("SELECT winner FROM prompt_ab_tests WHERE run_id = %s", (report["run_id"],))
    assert row == {"winner": "v2"}
