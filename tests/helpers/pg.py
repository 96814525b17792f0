"""Scratch databases on the real PostgreSQL server of this machine.

Missing PostgreSQL is a failure, not a skip: these tests exist to prove the real thing works.
"""

from __future__ import annotations

import os
import uuid

import psycopg

ADMIN_DSN = os.environ.get("COCKPIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def admin_connect() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        raise RuntimeError(
            f"PostgreSQL is required for the test suite and is not reachable at {ADMIN_DSN}: {e}\n"
            "Start it (e.g. `pg_ctlcluster --skip-systemctl-redirect 15 main start`) or set COCKPIT_TEST_PG."
        ) from None


def create_database(prefix: str = "cockpit_t") -> str:
    """Create an empty database; return its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_database(dsn: str) -> None:
    name = dsn.rsplit("/", 1)[1]
    with admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
