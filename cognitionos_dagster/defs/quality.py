"""`prompt_ab_test`: the prompt A/B test as a Dagster job, so a comparison is a run with its logs.

A launch from the UI or a schedule needs no shell on the machine that holds the endpoint's key;
the report is the op's output and metadata, and is kept in prompt_ab_tests like the CLI's.
"""

# No `from __future__ import annotations`: Dagster resolves the op's config class from its annotation.
import dagster as dg
from pydantic import Field

from cognitionos_dagster.agents.prompt_ab import prompt_ab_test
from cognitionos_dagster.integrations.database import DatabaseResource
from cognitionos_dagster.integrations.llm import LLMResource


class PromptABConfig(dg.Config):
    role: str = Field(description="The agent role; its cases are in resources/eval/<role>.yaml.")
    version_a: str = Field(default="v1", description="Prompt version A (v1, v2, ... or latest).")
    version_b: str = Field(default="latest", description="Prompt version B, compared against A.")
    seed: int = Field(default=0, description="Seed of the bootstrap resampling.")
    resamples: int = Field(default=2000, ge=100, description="Bootstrap resamples.")


@dg.op(description="Both prompt versions answer the role's evaluation set; the gates score them; "
       "a winner only when the 95% bootstrap interval of the difference excludes 0.")
def compare_prompts(context: dg.OpExecutionContext, config: PromptABConfig, db: DatabaseResource,
                    llm: LLMResource) -> dict:
    database = db.database()
    report = prompt_ab_test(llm.agent_runtime(database), config.role, config.version_a, config.version_b,
                            db=database, seed=config.seed, resamples=config.resamples,
                            run_id=f"ab-{context.run_id}")
    context.add_output_metadata({
        "winner": report.winner or "none",
        "cases": len(report.pairs),
        f"mean_{report.a.version}": report.a.mean_score,
        f"mean_{report.b.version}": report.b.mean_score,
        "ties": report.ties,
        "ci_low": report.ci_low,
        "ci_high": report.ci_high,
        "offline": report.offline,
    })
    return report.model_dump(mode="json")


@dg.job(name="prompt_ab_test", description="Compare two prompt versions of an agent role on its evaluation set.",
        tags={"cognitionos/kind": "quality"})
def prompt_ab_test_job() -> None:
    compare_prompts()


def quality_definitions() -> dg.Definitions:
    return dg.Definitions(jobs=[prompt_ab_test_job], resources={"llm": LLMResource()})  # "db": the platform's
