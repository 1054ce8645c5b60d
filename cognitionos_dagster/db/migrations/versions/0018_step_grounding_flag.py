"""An agent step carries its grounding verdict, so `agent_metrics` reads it without a join.

Why: `hallucination_rate` is the share of agent steps whose gate found an ungrounded claim,
the OR of `quality_gate_results.hallucinated` over the step's results (NULL when none has a
verdict). Computed per step with a lateral lookup into `quality_gate_results`, that cost
one index probe per step: most of a 30-day backfill's time (docs/benchmarks.md, "Agent
metrics"). `workflow_execution_steps.hallucinated` now holds that OR, kept by two triggers,
so every writer (the gate, asset checks, a hand-written INSERT) keeps it right in either
order:
- a gate result with a verdict ORs it into its step's row, if the row exists;
- a new step row starts from the verdicts already recorded for it.
The step upsert does not name the column, so recording a step again keeps it.

Revision ID: 0018
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        ALTER TABLE workflow_execution_steps ADD COLUMN hallucinated boolean;

        UPDATE workflow_execution_steps st SET hallucinated = g.flag
        FROM (SELECT run_id, step_id, bool_or(hallucinated) AS flag FROM quality_gate_results
              WHERE hallucinated IS NOT NULL GROUP BY run_id, step_id) g
        WHERE st.execution_id = g.run_id AND st.step_id = g.step_id;

        CREATE FUNCTION cognitionos_step_takes_verdict() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            UPDATE workflow_execution_steps SET hallucinated = coalesce(hallucinated, false) OR NEW.hallucinated
            WHERE execution_id = NEW.run_id AND step_id = NEW.step_id;
            RETURN NULL;
        END $$;
        CREATE TRIGGER quality_gate_results_verdict_to_step
            AFTER INSERT ON quality_gate_results
            FOR EACH ROW WHEN (NEW.hallucinated IS NOT NULL)
            EXECUTE FUNCTION cognitionos_step_takes_verdict();

        CREATE FUNCTION cognitionos_step_starts_with_verdicts() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            NEW.hallucinated := (SELECT bool_or(r.hallucinated) FROM quality_gate_results r
                                 WHERE r.run_id = NEW.execution_id AND r.step_id = NEW.step_id);
            RETURN NEW;
        END $$;
        CREATE TRIGGER workflow_execution_steps_verdicts
            BEFORE INSERT ON workflow_execution_steps
            FOR EACH ROW
            EXECUTE FUNCTION cognitionos_step_starts_with_verdicts();
    """)


def downgrade() -> None:
    op.execute("""
        DROP TRIGGER workflow_execution_steps_verdicts ON workflow_execution_steps;
        DROP FUNCTION cognitionos_step_starts_with_verdicts();
        DROP TRIGGER quality_gate_results_verdict_to_step ON quality_gate_results;
        DROP FUNCTION cognitionos_step_takes_verdict();
        ALTER TABLE workflow_execution_steps DROP COLUMN hallucinated;
    """)
