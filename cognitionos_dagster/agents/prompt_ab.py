"""A prompt A/B test of one role: its evaluation set, both prompt versions, the gates, the record.

The statistics live in quality.ab_test; this is the part that needs the runtime (the role, its
prompts and the model client), kept out of the CLI so a job or a notebook can run it too.
"""

from __future__ import annotations

import uuid

from cognitionos_dagster.agents.runtime import AgentRuntime
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.quality.ab_test import ABReport, load_eval_set, record_ab_test, run_ab_test


def prompt_ab_test(runtime: AgentRuntime, role: str, version_a: str, version_b: str, *, db: Database | None = None,
                   seed: int = 0, resamples: int = 2000, run_id: str | None = None) -> ABReport:
    """Both versions answer `resources/eval/<role>.yaml`; with `db`, the report is kept in prompt_ab_tests.

    Every model call is recorded under `run_id` (default `ab-<role>-<random>`) with the prompt version
    that produced it. Unknown roles, versions and policies and a missing eval file fail before any call.
    """
    runtime.catalog.get(role)
    a = runtime.prompts.resolve(role, version_a)
    b = runtime.prompts.resolve(role, version_b)
    eval_set = load_eval_set(runtime.settings.resources_dir, role)
    run_id = run_id or f"ab-{role}-{uuid.uuid4().hex[:12]}"
    answer = runtime.eval_answer(eval_set, run_id=run_id)
    report = run_ab_test(eval_set, a, b, answer, run_id=run_id, seed=seed, resamples=resamples,
                         offline=runtime.client.offline)
    if db is not None:
        record_ab_test(db, report)
    return report
