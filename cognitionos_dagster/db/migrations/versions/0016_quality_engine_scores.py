"""Quality gate results keep the quality engine's scores; policies keep their whole file.

Why: a gate now judges with a verifier (K samples: median and spread), a self-critique loop
(rounds) and a grounding scorer (hallucination flag and score). `agent_metrics` computes
`hallucination_rate` as the average of `hallucinated` over results where it is not NULL
(NULL: the step used no context, so there was nothing to be grounded in). `details` holds
every scorer's verdict and the score trajectory; `quality_gate_policies.config` the whole
policy file, so the table stays in step with `resources/policies/quality/`;
`workflow_execution_steps.quality` the step's gate: verdicts, one line per critique round and
the score trajectory. `prompt_ab_tests` keeps each prompt A/B comparison (`cognos gates ab-test`):
per-version means and wins, the bootstrap interval of the difference and the winner, if any;
the calls themselves stay in `call_records` under the test's run id, with their prompt version.

Revision ID: 0016
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        ALTER TABLE quality_gate_results
            ADD COLUMN verifier_score double precision,
            ADD COLUMN verifier_spread double precision,
            ADD COLUMN critique_rounds integer,
            ADD COLUMN hallucinated boolean,
            ADD COLUMN hallucination_score double precision,
            ADD COLUMN details jsonb;
        ALTER TABLE quality_gate_policies ADD COLUMN config jsonb;
        ALTER TABLE workflow_execution_steps ADD COLUMN quality jsonb;
        CREATE TABLE prompt_ab_tests (
            id bigserial PRIMARY KEY,
            run_id varchar(255) NOT NULL,
            agent_role varchar(100) NOT NULL,
            policy_name varchar(100) NOT NULL,
            version_a varchar(50) NOT NULL,
            version_b varchar(50) NOT NULL,
            cases integer NOT NULL,
            mean_a double precision NOT NULL,
            mean_b double precision NOT NULL,
            wins_a integer NOT NULL,
            wins_b integer NOT NULL,
            ties integer NOT NULL,
            mean_difference double precision NOT NULL,
            ci_low double precision NOT NULL,
            ci_high double precision NOT NULL,
            winner varchar(50),
            seed bigint NOT NULL,
            resamples integer NOT NULL,
            offline boolean NOT NULL,
            details jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX idx_prompt_ab_tests_role ON prompt_ab_tests (agent_role, created_at);
    """)


def downgrade() -> None:
    op.execute("""
        DROP TABLE prompt_ab_tests;
        ALTER TABLE workflow_execution_steps DROP COLUMN quality;
        ALTER TABLE quality_gate_policies DROP COLUMN config;
        ALTER TABLE quality_gate_results
            DROP COLUMN details, DROP COLUMN hallucination_score, DROP COLUMN hallucinated,
            DROP COLUMN critique_rounds, DROP COLUMN verifier_spread, DROP COLUMN verifier_score;
    """)
