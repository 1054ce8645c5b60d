"""Who is acting, and what PostgreSQL lets them see.

Access control lives in the database (migration 0007): row-level security on memories,
namespaces and grants, keyed on `cognitionos.user_id`. Every transaction run for a user
switches to the `cognitionos_app` role and sets that user with `set_config(..., true)`,
both transaction-local, so a pooled connection never carries one user's identity into
the next transaction. The Python checks here only turn an empty answer into a clear error.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import MemoryStoreError, PermissionDenied

APP_ROLE = "cognitionos_app"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,199}$")

Conn = psycopg.Connection[dict[str, Any]]


def act_as(conn: Conn, user_id: str) -> None:
    """Make the rest of this transaction run as the app role on behalf of `user_id`."""
    try:
        conn.execute(
            "SELECT set_config('role', %s, true), set_config('cognitionos.user_id', %s, true)", (APP_ROLE, user_id)
        )
    except ROLE_ERRORS as exc:
        raise role_error(exc) from exc


ROLE_ERRORS = (psycopg.errors.InvalidParameterValue, psycopg.errors.InsufficientPrivilege)


def role_error(exc: Exception) -> MemoryStoreError:
    """The app role is missing or this login may not use it: say how to fix the database."""
    return MemoryStoreError(
        f"cannot act as the role {APP_ROLE} that memory access control runs as: {exc}".strip(),
        hint=f"run `cognos db upgrade` (creates the role), or as a superuser: "
        f"CREATE ROLE {APP_ROLE} NOLOGIN; GRANT {APP_ROLE} TO <the application's user>",
    )


def check_name(kind: str, name: str) -> str:
    if not _NAME.match(name):
        raise MemoryStoreError(
            f"invalid {kind} name {name!r}",
            hint="use 1-200 letters, digits, '_', '.', '@' or '-', starting with a letter or digit",
        )
    return name


def ensure_user(db: Database, username: str) -> str:
    """The id of `username`, created on first use (the CLI's `--user NAME`)."""
    check_name("user", username)
    found = find_user(db, username)
    if found is not None:
        return found
    db.execute("INSERT INTO users (username) VALUES (%s) ON CONFLICT (username) DO NOTHING", (username,))
    created = find_user(db, username)
    assert created is not None
    return created


def find_user(db: Database, username: str) -> str | None:
    row = db.fetch_one("SELECT id::text AS id FROM users WHERE username = %s", (username,))
    return None if row is None else str(row["id"])


def namespace_id(db: Database, name: str) -> str:
    """The id of a namespace (system lookup); a clear error when it does not exist."""
    row = db.fetch_one("SELECT id::text AS id FROM memory_namespaces WHERE name = %s", (name,))
    if row is None:
        raise MemoryStoreError(
            f"unknown memory namespace {name!r}",
            hint=f"create it with `cognos memory namespace create {name} --owner USER`, "
            "or list them with `cognos memory namespace list`",
        )
    return str(row["id"])


def no_access(user: str, namespace: str, *, write: bool) -> PermissionDenied:
    what = "write to" if write else "read"
    flag = " --write" if write else ""
    return PermissionDenied(
        f"no access: user {user!r} may not {what} memory namespace {namespace!r}",
        hint=f"the namespace owner can grant it: `cognos memory namespace grant {namespace} {user}{flag}`",
    )


def permissions(conn: Conn, ns_id: str) -> tuple[bool, bool]:
    """(may read, may write) for the acting user, as the database's policies answer it."""
    row = conn.execute(
        "SELECT %(ns)s::uuid IN (SELECT cognitionos_readable_namespaces()) AS r,"
        " %(ns)s::uuid IN (SELECT cognitionos_writable_namespaces()) AS w",
        {"ns": ns_id},
    ).fetchone()
    assert row is not None
    return bool(row["r"]), bool(row["w"])
