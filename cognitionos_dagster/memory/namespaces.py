"""Namespaces: who owns them, who may read or write them, which lifecycle policy and quota apply.

These are administrative operations (the CLI's `namespace create/grant/list`) and run as
the application's own database role. What a *user* may then do with a namespace's
memories is enforced by the database's row-level security (see `access`).
"""

from __future__ import annotations

import builtins
from pathlib import Path

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import MemoryStoreError, PermissionDenied
from cognitionos_dagster.memory.access import check_name, ensure_user, namespace_id
from cognitionos_dagster.memory.models import NamespaceInfo
from cognitionos_dagster.memory.policies import policy_id

_SELECT = """
SELECT n.name, u.username AS owner, p.name AS policy, n.quota_bytes, n.description, n.created_at,
       coalesce((SELECT json_agg(json_build_object('user', gu.username, 'can_read', g.can_read,
                                                   'can_write', g.can_write) ORDER BY gu.username)
                 FROM memory_grants g JOIN users gu ON gu.id = g.user_id
                 WHERE g.namespace_id = n.id), '[]'::json) AS grants
FROM memory_namespaces n
LEFT JOIN users u ON u.id = n.owner_user_id
LEFT JOIN memory_lifecycle_policies p ON p.id = n.policy_id
"""


class NamespaceManager:
    def __init__(self, db: Database, *, policies_dir: Path | None = None) -> None:
        self.db = db
        self.policies_dir = policies_dir

    def create(
        self,
        name: str,
        owner: str,
        *,
        policy: str | None = None,
        quota_bytes: int | None = None,
        description: str | None = None,
    ) -> NamespaceInfo:
        check_name("namespace", name)
        if quota_bytes is not None and quota_bytes <= 0:
            raise MemoryStoreError(f"quota must be a positive number of bytes, got {quota_bytes}",
                                   hint="omit --quota-bytes for no quota")
        owner_id = ensure_user(self.db, owner)
        pid = policy_id(self.db, policy, self.policies_dir) if policy else None
        row = self.db.fetch_one(
            """
            INSERT INTO memory_namespaces (name, owner_user_id, policy_id, quota_bytes, description)
            VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO NOTHING RETURNING id
            """,
            (name, owner_id, pid, quota_bytes, description),
        )
        if row is None:
            raise MemoryStoreError(f"memory namespace {name!r} already exists",
                                   hint="pick another name, or use it: `cognos memory namespace list`")
        return self.get(name)

    def grant(self, name: str, user: str, *, write: bool = False, by: str | None = None) -> NamespaceInfo:
        """Let `user` read (and with `write`, add to) the namespace; granting again updates the grant.

        `by` is the acting user, who must own the namespace; None acts as the administrator (the
        caller vouches for it: the CLI asks for an explicit `--as-admin`)."""
        ns = namespace_id(self.db, name)
        if by is not None:
            owner = self.get(name).owner
            if by != owner:
                raise PermissionDenied(
                    f"user {by!r} may not grant access to memory namespace {name!r}: only its owner can",
                    hint=f"run it as the owner (`--user {owner}`), or as the administrator (`--as-admin`)",
                )
        uid = ensure_user(self.db, user)
        self.db.execute(
            """
            INSERT INTO memory_grants (namespace_id, user_id, can_read, can_write) VALUES (%s, %s, true, %s)
            ON CONFLICT (namespace_id, user_id) DO UPDATE SET can_read = true, can_write = EXCLUDED.can_write,
                granted_at = now()
            """,
            (ns, uid, write),
        )
        return self.get(name)

    def revoke(self, name: str, user: str) -> NamespaceInfo:
        ns = namespace_id(self.db, name)
        self.db.execute(
            "DELETE FROM memory_grants g USING users u WHERE g.user_id = u.id AND g.namespace_id = %s"
            " AND u.username = %s",
            (ns, user),
        )
        return self.get(name)

    def set_policy(self, name: str, policy: str | None) -> NamespaceInfo:
        ns = namespace_id(self.db, name)
        pid = policy_id(self.db, policy, self.policies_dir) if policy else None
        self.db.execute("UPDATE memory_namespaces SET policy_id = %s WHERE id = %s", (pid, ns))
        return self.get(name)

    def get(self, name: str) -> NamespaceInfo:
        namespace_id(self.db, name)
        row = self.db.fetch_one(_SELECT + " WHERE n.name = %s", (name,))
        assert row is not None
        return NamespaceInfo.model_validate(row)

    def list(self) -> list[NamespaceInfo]:
        return [NamespaceInfo.model_validate(r) for r in self.db.fetch_all(_SELECT + " ORDER BY n.name")]

    def names(self) -> builtins.list[str]:  # `list` here is the method above
        return [r["name"] for r in self.db.fetch_all("SELECT name FROM memory_namespaces ORDER BY name")]
