"""Memory access control enforced by PostgreSQL, lifecycle bookkeeping and the GC audit.

- `cognitionos_app`: a NOLOGIN role the memory store switches to (`SET LOCAL ROLE`) in
  every transaction it runs for a user. Superusers and table owners bypass row-level
  security; this role is neither, so the policies below bind it.
- `memory_grants`: read/write grants per (namespace, user); the owner always has both.
- Row-level security (ENABLE + FORCE) on memories, memory_namespaces and memory_grants,
  keyed on the acting user in `cognitionos.user_id` (set per transaction with
  `set_config(..., true)`). The migrating role keeps a policy of its own (system work:
  lifecycle passes, statistics), which the app role does not inherit.
- The grant lookups are SECURITY DEFINER functions so the policies of the three tables do
  not reference each other (PostgreSQL rejects recursive policies).
- `memories.content` may be NULL once compressed: the original text then lives, byte for
  byte, in `content_compressed` (zlib); `content_bytes` keeps its original size.
- `memory_namespaces.policy_id`: one lifecycle policy may serve many namespaces.
- `memory_lifecycle_runs` and `memory_gc_audit`: which passes ran, and every removal batch.

Revision ID: 0007
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APP_ROLE = "cognitionos_app"

_CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        BEGIN
            CREATE ROLE {APP_ROLE} NOLOGIN NOINHERIT;
        EXCEPTION
            WHEN duplicate_object THEN NULL;  -- created concurrently by another database's migration
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'cannot create the role {APP_ROLE} that memory access control runs as'
                    USING HINT = 'as a superuser run once: CREATE ROLE {APP_ROLE} NOLOGIN; '
                                 'GRANT {APP_ROLE} TO ' || current_user || '; then rerun cognos db upgrade';
        END;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
        EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
    END IF;
END
$$;
"""

_TABLES = """
CREATE TABLE memory_grants (
    namespace_id uuid NOT NULL REFERENCES memory_namespaces(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    can_read boolean NOT NULL DEFAULT true,
    can_write boolean NOT NULL DEFAULT false,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace_id, user_id)
);
CREATE INDEX idx_memory_grants_user ON memory_grants(user_id);

ALTER TABLE memory_namespaces
    ADD COLUMN policy_id uuid REFERENCES memory_lifecycle_policies(id) ON DELETE SET NULL;
ALTER TABLE memory_lifecycle_policies
    ADD COLUMN description text,
    ADD COLUMN source_file text,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

ALTER TABLE memories ALTER COLUMN content DROP NOT NULL;
ALTER TABLE memories ADD COLUMN content_bytes integer;
UPDATE memories SET content_bytes = octet_length(content) WHERE content IS NOT NULL;
ALTER TABLE memories ADD CONSTRAINT memories_content_kept
    CHECK (content IS NOT NULL OR (compressed AND content_compressed IS NOT NULL));

CREATE TABLE memory_lifecycle_runs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    namespace varchar(200),
    dry_run boolean NOT NULL DEFAULT false,
    status varchar(20) NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
    steps_done text[] NOT NULL DEFAULT '{}',
    report jsonb,
    error text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX idx_memory_lifecycle_runs_started ON memory_lifecycle_runs(started_at);

CREATE TABLE memory_gc_audit (
    id bigserial PRIMARY KEY,
    run_id uuid REFERENCES memory_lifecycle_runs(id) ON DELETE SET NULL,
    namespace_id uuid,
    namespace varchar(200) NOT NULL,
    policy varchar(200) NOT NULL,
    reason varchar(40) NOT NULL,
    removed_count integer NOT NULL,
    removed_bytes bigint NOT NULL,
    oldest_created_at timestamptz,
    newest_created_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_memory_gc_audit_namespace ON memory_gc_audit(namespace, created_at);
"""

_FUNCTIONS = """
CREATE FUNCTION cognitionos_user() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('cognitionos.user_id', true), '')::uuid $$;

CREATE FUNCTION cognitionos_readable_namespaces() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT id FROM memory_namespaces WHERE owner_user_id = cognitionos_user()
    UNION
    SELECT namespace_id FROM memory_grants WHERE user_id = cognitionos_user() AND can_read
$$;

CREATE FUNCTION cognitionos_writable_namespaces() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT id FROM memory_namespaces WHERE owner_user_id = cognitionos_user()
    UNION
    SELECT namespace_id FROM memory_grants WHERE user_id = cognitionos_user() AND can_write
$$;

CREATE FUNCTION cognitionos_owned_namespaces() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT id FROM memory_namespaces WHERE owner_user_id = cognitionos_user()
$$;
"""

_POLICIES = """
ALTER TABLE memories ENABLE ROW LEVEL SECURITY;
ALTER TABLE memories FORCE ROW LEVEL SECURITY;
ALTER TABLE memory_namespaces ENABLE ROW LEVEL SECURITY;
ALTER TABLE memory_namespaces FORCE ROW LEVEL SECURITY;
ALTER TABLE memory_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE memory_grants FORCE ROW LEVEL SECURITY;

CREATE POLICY memories_system ON memories TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY memories_read ON memories FOR SELECT
    USING (namespace_id IN (SELECT cognitionos_readable_namespaces()));
CREATE POLICY memories_insert ON memories FOR INSERT
    WITH CHECK (namespace_id IN (SELECT cognitionos_writable_namespaces()));
CREATE POLICY memories_update ON memories FOR UPDATE
    USING (namespace_id IN (SELECT cognitionos_writable_namespaces()))
    WITH CHECK (namespace_id IN (SELECT cognitionos_writable_namespaces()));
CREATE POLICY memories_delete ON memories FOR DELETE
    USING (namespace_id IN (SELECT cognitionos_writable_namespaces()));

CREATE POLICY namespaces_system ON memory_namespaces TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY namespaces_read ON memory_namespaces FOR SELECT
    USING (id IN (SELECT cognitionos_readable_namespaces()));
CREATE POLICY namespaces_owner ON memory_namespaces FOR ALL
    USING (owner_user_id = cognitionos_user()) WITH CHECK (owner_user_id = cognitionos_user());

CREATE POLICY grants_system ON memory_grants TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY grants_read ON memory_grants FOR SELECT USING (user_id = cognitionos_user());
CREATE POLICY grants_owner ON memory_grants FOR ALL
    USING (namespace_id IN (SELECT cognitionos_owned_namespaces()))
    WITH CHECK (namespace_id IN (SELECT cognitionos_owned_namespaces()));
"""

_GRANTS = f"""
GRANT USAGE ON SCHEMA public TO {APP_ROLE};
GRANT SELECT ON users, memory_lifecycle_policies TO {APP_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON memories, memory_namespaces, memory_grants TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION cognitionos_user(), cognitionos_readable_namespaces(),
    cognitionos_writable_namespaces(), cognitionos_owned_namespaces() TO {APP_ROLE};
"""


def upgrade() -> None:
    op.execute(_CREATE_ROLE)
    op.execute(_TABLES)
    op.execute(_FUNCTIONS)
    op.execute(_POLICIES)
    op.execute(_GRANTS)


def downgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM memories WHERE content IS NULL) THEN
                RAISE EXCEPTION 'cannot downgrade below 0007: some memories are compressed (content IS NULL)'
                    USING HINT = 'restore their text from content_compressed (zlib) before downgrading';
            END IF;
        END
        $$;
        """
    )
    # The role is cluster-wide (other databases may use it): revoke here, never drop it.
    op.execute(
        f"""
        REVOKE ALL ON users, memory_lifecycle_policies, memories, memory_namespaces, memory_grants FROM {APP_ROLE};
        REVOKE USAGE ON SCHEMA public FROM {APP_ROLE};
        DROP POLICY memories_system ON memories; DROP POLICY memories_read ON memories;
        DROP POLICY memories_insert ON memories; DROP POLICY memories_update ON memories;
        DROP POLICY memories_delete ON memories;
        DROP POLICY namespaces_system ON memory_namespaces; DROP POLICY namespaces_read ON memory_namespaces;
        DROP POLICY namespaces_owner ON memory_namespaces;
        ALTER TABLE memories NO FORCE ROW LEVEL SECURITY; ALTER TABLE memories DISABLE ROW LEVEL SECURITY;
        ALTER TABLE memory_namespaces NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE memory_namespaces DISABLE ROW LEVEL SECURITY;
        DROP TABLE memory_grants;
        DROP FUNCTION cognitionos_readable_namespaces(); DROP FUNCTION cognitionos_writable_namespaces();
        DROP FUNCTION cognitionos_owned_namespaces(); DROP FUNCTION cognitionos_user();
        DROP TABLE memory_gc_audit; DROP TABLE memory_lifecycle_runs;
        ALTER TABLE memories DROP CONSTRAINT memories_content_kept;
        ALTER TABLE memories DROP COLUMN content_bytes;
        ALTER TABLE memories ALTER COLUMN content SET NOT NULL;
        ALTER TABLE memory_lifecycle_policies DROP COLUMN description, DROP COLUMN source_file,
            DROP COLUMN updated_at;
        ALTER TABLE memory_namespaces DROP COLUMN policy_id;
        """
    )
