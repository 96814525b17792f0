"""pgwire, the read-only protocol client `cockpit log verify` walks a PostgreSQL log with, held to libpq's
answers and psycopg's verdicts on real servers.

A DSN pgwire parses must mean what libpq says it means, and one libpq refuses must go to psycopg (which
says why); the environment, authentication (SCRAM, MD5, cleartext, trust, on a cluster of this file's own),
read-only sessions, Unix sockets, forged and intact logs, missing tables, a server that is down and one
that dies mid-COPY must all end as they do over psycopg. psycopg is forced by a DSN keyword pgwire does
not handle (target_session_attrs), which open_for_verify hands to the read-only PostgresLog.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from cockpit.cli import main
from cockpit.core.log import pgwire
from cockpit.core.log.open import StoreFactory
from cockpit.core.log.postgres import PostgresLog
from cockpit.core.log.readonly import open_for_verify
from cockpit.core.log.wirelog import WireLog
from tests.benchmarks.bench_verify import COPY_COLUMNS, chain
from tests.helpers.cluster import Cluster
from tests.log.conftest import new

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_pg_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq reads PG* variables; every test here starts without any (and sets the ones it means)."""
    for name in list(os.environ):
        if name.startswith("PG"):
            monkeypatch.delenv(name)


# -- 1. the connection string, as libpq reads it -------------------------------------------------------

# pgwire parses these; each must give libpq's keywords and values exactly.
AGREES = [
    "postgresql://u:p@h:5433/db",
    "postgres://u@h/db",
    "postgresql://h",
    "postgresql://",
    "postgresql:///db",
    "postgresql://:p@h/db",
    "postgresql://u:p:q@h/db",
    "postgresql://h:/db",
    "postgresql://h/db/x",
    "postgresql://h/db#frag",
    "postgresql://u%40x:p%3Aw%2F%20%25@h/d%20b",
    "postgresql://%2Ftmp%2Fsock:5433/db",
    "postgresql://[::1]:5433/db",
    "postgresql://[::1]/db",
    "postgresql://[fe80::1%25eth0]:5432/db",
    "postgresql://u:p@[2001:db8::7]:6543/d?sslmode=prefer",
    "postgresql://h/db?sslmode=disable&application_name=x",
    "postgresql://h/db?application_name=a%20b&options=-c%20x%3Dy",
    "postgresql://h/db?application_name=a+b",
    "postgresql://h/db?host=other&port=7&dbname=third",
    "postgresql://h/db?sslmode=disable&sslmode=require",
    "host=h port=5433 dbname=db user=u password=p",
    "host = h  port= 5433 dbname =db",
    "  host=h\tport=1\nuser=u  ",
    "host=h password='a b\\' c'",
    "host=h password=a\\ b",
    "host=h password=\\'",
    "host=h password=a'b",
    "host=h dbname=''",
    "host='h' application_name='x=y'",
    "host=h dbname=d\\\\",
    "host=h port=5432 port=5433",
    "host=h dbname=postgresql://x/y",
    "host=\u00e9 user=\u00e9",
    "",
    "postgresql://u:@h/db",
    "host=h password=\\",
    "host=h\u00a0port=1",
]

# libpq refuses these: pgwire must not accept them (psycopg then gives libpq's own error).
REFUSED = [
    "postgresql://[::1/db",
    "postgresql://[::1]x/db",
    "postgresql://u:p%zz@h/db",
    "postgresql://h/d%2",
    "postgresql://h/db%",
    "postgresql://h/db?application_name=%zz",
    "postgresql://h/db?bogus=1",
    "postgresql://h/db?x",
    "postgresql://h/db?=x",
    "postgresql://h/db?&application_name=x",
    "host=h bogus=1",
    "host=h target_session_atrs=any",
    "host=h password='abc",
    "host=h password='\\",
    "host=h password",
    "host=h =x",
    "POSTGRESQL://h/db",
    "postgresql://h/db?application_name=x=y",
    "postgresql://h/db%00x",
    "postgresql://u%00@h/db",
    "postgresql://[]/db",
    "host\u00a0=h",
]

# libpq accepts these, pgwire leaves them to psycopg.
LEFT_TO_PSYCOPG = [
    "host=h service=x",
    "host=h hostaddr=127.0.0.1",
    "postgresql://h/db?target_session_attrs=any",
    "postgresql://h1,h2/db",
    "postgresql://h:12a/db",
    "postgresql://h:-1/db",
    "postgresql://u@v@h/db",  # libpq: host 'v@h', which pgwire does not try
    "postgresql://a@b:c@h/db",  # libpq: host b, port 'c@h'
]


def libpq_fields(dsn: str) -> dict[str, str]:
    return {k: str(v) for k, v in conninfo_to_dict(dsn).items()}


@pytest.mark.parametrize("dsn", AGREES)
def test_dsn_fields_are_libpqs(dsn: str) -> None:
    assert pgwire.dsn_fields(dsn) == libpq_fields(dsn)


@pytest.mark.parametrize("dsn", REFUSED)
def test_a_dsn_libpq_refuses_is_never_accepted(dsn: str) -> None:
    with pytest.raises(psycopg.ProgrammingError):  # the case is one libpq really refuses
        conninfo_to_dict(dsn)
    with pytest.raises(pgwire.Unsupported):
        pgwire.dsn_fields(dsn)


@pytest.mark.parametrize("dsn", LEFT_TO_PSYCOPG)
def test_what_pgwire_does_not_handle_goes_to_psycopg(dsn: str) -> None:
    conninfo_to_dict(dsn)  # libpq parses it
    with pytest.raises(pgwire.Unsupported):
        pgwire.params(dsn)


@pytest.mark.parametrize("dsn", ["host=127.0.0.1 port=abc", "host=127.0.0.1 port=5432x", "postgresql://127.0.0.1:5x/d"])
def test_a_port_that_is_not_a_number_is_never_used(dsn: str) -> None:
    # libpq parses the text, then refuses to connect with it; pgwire hands it to psycopg, which says so.
    with pytest.raises(psycopg.OperationalError, match="port"):
        psycopg.connect(dsn, connect_timeout=2)
    with pytest.raises(pgwire.Unsupported):
        pgwire.params(dsn)


def old_identity(dsn: str) -> str:
    """How open.py named the spool before pgwire: from psycopg's parse of the DSN."""
    try:
        info = conninfo_to_dict(dsn)
        where = f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
        key = f"PostgreSQL postgresql://{where}"
    except Exception:
        key = "PostgreSQL (unparsable DSN)"
    return hashlib.sha256(key.encode()).hexdigest()[:12]




@pytest.mark.parametrize("dsn", AGREES + REFUSED + LEFT_TO_PSYCOPG)
def test_the_spool_file_keeps_its_name(dsn: str) -> None:
    """StoreFactory.identity names the local spool: entries spooled before pgwire must still be found."""
    assert StoreFactory(dsn=dsn).identity == old_identity(dsn)


# -- 2. params() and the environment ---------------------------------------------------------------------


def libpq_defaults() -> dict[str, str]:
    """What libpq takes from the environment (and the OS) for a DSN that says nothing."""
    return {o.keyword.decode(): o.val.decode() for o in psycopg.pq.Conninfo.get_defaults() if o.val is not None}


@pytest.mark.parametrize("var", ["PGSERVICE", "PGPASSFILE", "PGSSLROOTCERT", "PGTARGETSESSIONATTRS", "PGHOSTADDR"])
def test_a_pg_variable_pgwire_does_not_know_goes_to_psycopg(var: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(var, "x")
    with pytest.raises(pgwire.Unsupported, match=var):
        pgwire.params("host=127.0.0.1 user=u dbname=d")


def test_the_environment_is_read_as_libpq_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for var, value in {"PGHOST": "127.0.0.2", "PGPORT": "6543", "PGUSER": "env-user", "PGPASSWORD": "env-pw",
                       "PGDATABASE": "env-db", "PGAPPNAME": "env-app"}.items():
        monkeypatch.setenv(var, value)
    libpq = libpq_defaults()
    p = pgwire.params("")
    assert (p.host, p.port, p.user, p.password, p.dbname, p.startup["application_name"]) == (
        libpq["host"], int(libpq["port"]), libpq["user"], libpq["password"], libpq["dbname"], libpq["application_name"])
    # The DSN wins over the environment, as in libpq; a runbook secret wins over both, as in psycopg.
    p = pgwire.params("user=dsn-user password=dsn-pw dbname=dsn-db")
    assert (p.host, p.user, p.password, p.dbname) == ("127.0.0.2", "dsn-user", "dsn-pw", "dsn-db")
    assert pgwire.params("password=dsn-pw", "secret-pw").password == "secret-pw"


def test_no_database_means_the_users_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGUSER", "ann")
    assert pgwire.params("host=127.0.0.1").dbname == "ann"
    assert pgwire.params("host=127.0.0.1 user=bob").dbname == "bob"


def test_the_default_user_is_libpqs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGNAME", "someone-else")
    monkeypatch.setenv("USER", "someone-else")
    assert pgwire.params("host=127.0.0.1").user == libpq_defaults()["user"]


@pytest.mark.parametrize("dsn", ["host=h sslmode=require", "host=h sslmode=verify-ca", "host=h sslmode=verify-full",
                                 "postgresql://h/db?sslmode=verify-full", "host=h gssencmode=require"])
def test_tls_or_gss_required_goes_to_psycopg(dsn: str) -> None:
    with pytest.raises(pgwire.Unsupported):
        pgwire.params(dsn)


def test_sslmode_from_the_environment_counts_too(monkeypatch: pytest.MonkeyPatch) -> None:
    for mode in ("disable", "allow", "prefer"):
        monkeypatch.setenv("PGSSLMODE", mode)
        assert pgwire.params("host=h").sslmode == mode
    monkeypatch.setenv("PGSSLMODE", "require")
    with pytest.raises(pgwire.Unsupported):
        pgwire.params("host=h")


@pytest.mark.parametrize("dsn", ["", "dbname=x user=u", "postgresql:///db", "postgresql://u@/db"])
def test_no_host_goes_to_psycopg(dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq's default is its own compiled-in socket folder, which pgwire cannot know; PGHOST names one."""
    with pytest.raises(pgwire.Unsupported):
        pgwire.params(dsn)
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    assert pgwire.params(dsn).host == "127.0.0.1"


# -- a cluster of this file's own: one role for each way of authenticating ---------------------------------

PASSWORDS = {"scramrole": "sc r@m:p'w%d&x=\\y", "md5role": "md5 p@ss/w0rd?#", "pwrole": "clear'text pw %41"}
METHODS = {"scramrole": "scram-sha-256", "md5role": "md5", "pwrole": "password", "trustrole": "trust"}
LOG_ENTRIES = 5


def kw(value: str) -> str:
    """A value in libpq's keyword form, quoted."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class Own:
    cluster: Cluster

    @property
    def port(self) -> int:
        return self.cluster.port

    def dsn(self, user: str, password: str | None = None, dbname: str = "wirelog") -> str:
        d = f"host=127.0.0.1 port={self.port} user={user} dbname={dbname}"
        return d + (f" password={kw(password)}" if password is not None else "")

    def socket_dsn(self, dbname: str = "wirelog") -> str:
        return f"host={self.cluster.root} port={self.port} user=postgres dbname={dbname}"

    def admin(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.socket_dsn(dbname), autocommit=True)

    def server_log(self) -> str:
        return (self.cluster.root / "server.log").read_text(errors="replace")


def _wait_for_hba(c: Cluster) -> None:
    """pg_reload_conf only signals the postmaster: wait until a password is asked of scramrole."""
    end = time.monotonic() + 10
    while True:
        try:
            psycopg.connect(f"host=127.0.0.1 port={c.port} user=scramrole dbname=postgres", connect_timeout=2).close()
        except psycopg.OperationalError as e:
            if "password" in str(e):
                return
        assert time.monotonic() < end, "pg_hba.conf was not reloaded"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def own() -> Iterator[Own]:
    c = Cluster()
    try:
        c.init()
        (c.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all scramrole 127.0.0.1/32 scram-sha-256\n"
            "host all md5role 127.0.0.1/32 md5\n"
            "host all pwrole 127.0.0.1/32 password\n"
            "host all all 127.0.0.1/32 trust\n")
        o = Own(c)
        with o.admin() as conn:
            conn.execute("ALTER SYSTEM SET log_connections = on")  # the server log names each method used
            conn.execute(sql.SQL("CREATE ROLE scramrole LOGIN PASSWORD {}").format(sql.Literal(PASSWORDS["scramrole"])))
            conn.execute("ALTER SYSTEM SET password_encryption = 'md5'")
            conn.execute("SELECT pg_reload_conf()")
            conn.execute("SET password_encryption = 'md5'")  # this session's too: the reload reaches it later
            for role in ("md5role", "pwrole"):
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role),
                                                                                sql.Literal(PASSWORDS[role])))
            conn.execute("CREATE ROLE trustrole LOGIN")
            stored = dict(conn.execute("SELECT rolname, rolpassword FROM pg_authid").fetchall())
            assert stored["scramrole"].startswith("SCRAM-SHA-256$") and stored["md5role"].startswith("md5")
            conn.execute("CREATE DATABASE wirelog")
        _wait_for_hba(c)
        log = PostgresLog(c.dsn("wirelog"))
        for i in range(LOG_ENTRIES):
            log.append(new(text=f"note {i}"))
        log.close()
        with o.admin("wirelog") as conn:
            conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC")
        yield o
    finally:
        c.remove()


def runbook(folder: Path, dsn: str, extra: str = "") -> Path:
    f = folder / f"runbook-{hashlib.sha256((dsn + extra).encode()).hexdigest()[:10]}.toml"
    f.write_text(f'[release]\nname = "shop"\n[log]\ndsn = {json.dumps(dsn)}\n{extra}\n'
                 '[environments.prod]\nurl = "http://127.0.0.1:1"\n')
    return f


def verify(rb: Path, capfd: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    """`cockpit log verify` in this process: (exit code, stdout, stderr), as the file descriptors saw them."""
    capfd.readouterr()
    code = main(["log", "verify", "--config", str(rb), *extra])
    out = capfd.readouterr()
    return code, out.out, out.err


def psycopg_dsn(dsn: str) -> str:
    """The same DSN with a keyword pgwire leaves to psycopg (libpq's default for it: no change)."""
    if dsn.startswith("postgresql://"):
        return dsn + ("&" if "?" in dsn else "?") + "target_session_attrs=any"
    return dsn + " target_session_attrs=any"


def route(dsn: str, password: str | None = None) -> str:
    """Which client verify reads this DSN with."""
    log = open_for_verify(StoreFactory(dsn=dsn, password=password))
    try:
        return "pgwire" if isinstance(log, WireLog) else "psycopg"
    finally:
        log.close()


def untimed(text: str) -> str:
    return re.sub(r"\(\d+\.\d+s\)", "(…s)", text)


# -- 3. authentication ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["scramrole", "md5role", "pwrole", "trustrole"])
def test_each_method_authenticates(own: Own, role: str) -> None:
    password = PASSWORDS.get(role)
    s = pgwire.Session(pgwire.params(own.dsn(role, password)))
    try:
        assert s.query("SELECT current_user") == [(role,)]
        (pid,), = s.query("SELECT pg_backend_pid()")
    finally:
        s.close()
    said = re.findall(rf"\[{pid}\] LOG:  connection authenticated: identity=\"(\w+)\" method=([\w-]+)",
                      own.server_log())
    # A password method leaves its name in the log; trust leaves none (no password was exchanged).
    assert said == ([(role, METHODS[role])] if password else [])


@pytest.mark.parametrize("role", ["scramrole", "md5role", "pwrole"])
def test_the_password_in_a_uri_is_percent_decoded(own: Own, role: str) -> None:
    dsn = f"postgresql://{role}:{quote(PASSWORDS[role], safe='')}@127.0.0.1:{own.port}/wirelog"
    s = pgwire.Session(pgwire.params(dsn))
    try:
        assert s.query("SELECT current_user, current_database()") == [(role, "wirelog")]
    finally:
        s.close()


def test_the_environment_reaches_the_same_session_as_libpqs(own: Own, monkeypatch: pytest.MonkeyPatch) -> None:
    for var, value in {"PGHOST": "127.0.0.1", "PGPORT": str(own.port), "PGUSER": "md5role",
                       "PGPASSWORD": PASSWORDS["md5role"], "PGDATABASE": "wirelog", "PGAPPNAME": "from-env"}.items():
        monkeypatch.setenv(var, value)
    ask = "SELECT current_user, current_database(), current_setting('application_name'), inet_server_port()::text"
    with psycopg.connect("") as conn:
        libpq = conn.execute(ask).fetchone()
    s = pgwire.Session(pgwire.params(""))
    try:
        assert s.query(ask) == [libpq] == [("md5role", "wirelog", "from-env", str(own.port))]
    finally:
        s.close()


@pytest.mark.parametrize("role", ["scramrole", "md5role", "pwrole"])
def test_a_wrong_password_is_the_servers_refusal(own: Own, role: str) -> None:
    with pytest.raises(pgwire.ConnectionFailed, match=f'password authentication failed for user "{role}"'):
        pgwire.Session(pgwire.params(own.dsn(role, "not-" + PASSWORDS[role])))


@pytest.mark.parametrize("role", ["scramrole", "md5role", "pwrole"])
def test_no_password_is_left_to_libpq_and_its_passfile(own: Own, role: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capfd: pytest.CaptureFixture[str]) -> None:
    dsn = own.dsn(role)
    p = pgwire.params(dsn)  # nothing in the DSN says a password is needed: only the server does
    with pytest.raises(pgwire.Unsupported, match="passfile"):
        pgwire.Session(p)
    escaped = PASSWORDS[role].replace("\\", "\\\\").replace(":", "\\:")  # the passfile's escapes
    line = f"127.0.0.1:{own.port}:wirelog:{role}:{escaped}\n"
    passfile = tmp_path / "pgpass"
    passfile.write_text(line)
    passfile.chmod(0o600)
    rb = runbook(tmp_path, dsn)
    # PGPASSFILE (a variable pgwire leaves to libpq), then ~/.pgpass (found only once the server asks).
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    code, out, err = verify(rb, capfd)
    assert (code, err) == (0, "") and out.startswith(f"intact: {LOG_ENTRIES} entries, head {LOG_ENTRIES}:")
    monkeypatch.delenv("PGPASSFILE")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".pgpass").write_text(line)
    (home / ".pgpass").chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    assert pgwire.params(dsn) == p  # no PG* variable now: psycopg takes over only once the server asks
    again = verify(rb, capfd)
    assert (again[0], untimed(again[1]), again[2]) == (code, untimed(out), err)
    assert [f for f in _forms(PASSWORDS[role]) if f in out + err + again[1] + again[2]] == []


def test_an_empty_password_is_left_to_libpq_and_its_passfile(own: Own, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".pgpass").write_text(f"127.0.0.1:{own.port}:*:md5role:{PASSWORDS['md5role']}\n")
    (home / ".pgpass").chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    dsn = own.dsn("md5role") + " password="
    with psycopg.connect(dsn) as conn:  # libpq: an empty password is no password
        assert conn.execute("SELECT current_user").fetchone() == ("md5role",)
    with pytest.raises(pgwire.Unsupported):
        pgwire.Session(pgwire.params(dsn))


def _forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [secret, quote(secret, safe=""), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode(),
            base64.b64encode(raw).decode().rstrip("=")]


@pytest.mark.parametrize("role", ["scramrole", "md5role", "pwrole"])
def test_verify_never_shows_the_password(own: Own, role: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capfd: pytest.CaptureFixture[str]) -> None:
    right, wrong = PASSWORDS[role], "wr0ng " + PASSWORDS[role]
    rb = runbook(tmp_path, own.dsn(role), 'password_secret = "wirelog-pw"')
    monkeypatch.setenv("COCKPIT_SECRET_WIRELOG_PW", right)
    assert route(own.dsn(role), right) == "pgwire"
    ok = verify(rb, capfd)
    assert ok[0] == 0 and ok[1].startswith(f"intact: {LOG_ENTRIES} entries")
    monkeypatch.setenv("COCKPIT_SECRET_WIRELOG_PW", wrong)
    refused = verify(rb, capfd)
    in_uri = verify(runbook(tmp_path, f"postgresql://{role}:{quote(wrong, safe='')}@127.0.0.1:{own.port}/wirelog"),
                    capfd)
    for code, out, err in (refused, in_uri):
        assert code == 3 and "unreachable" in err and f'password authentication failed for user "{role}"' in err
    shown = "".join(ok[1:] + refused[1:] + in_uri[1:])
    assert [f for f in _forms(right) + _forms(wrong) if f in shown] == []


# -- 4. read-only ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [None, "-c default_transaction_read_only=off"])
def test_the_session_is_read_only(own: Own, options: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    dsn = own.dsn("postgres") + (f" options={kw(options)}" if options else "")
    if options:
        monkeypatch.setenv("PGOPTIONS", options)  # neither the DSN's options nor PGOPTIONS turn it off
    s = pgwire.Session(pgwire.params(dsn))
    try:
        for write in ("CREATE TABLE t (i int)", "DELETE FROM log_entries", "UPDATE log_entries SET kind = 'x'"):
            with pytest.raises(pgwire.ServerError) as refused:
                s.query(write)
            assert refused.value.sqlstate == "25006"
        assert s.query("SELECT count(*) FROM log_entries") == [(str(LOG_ENTRIES),)]  # and still usable
    finally:
        s.close()


# -- 5. a Unix socket ------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["keyword", "uri"])
def test_a_unix_socket_verifies(own: Own, form: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    dsn = own.socket_dsn() if form == "keyword" else \
        f"postgresql://postgres@{quote(str(own.cluster.root), safe='')}:{own.port}/wirelog"
    assert route(dsn) == "pgwire" and route(psycopg_dsn(dsn)) == "psycopg"
    wire = verify(runbook(tmp_path, dsn), capfd)
    assert wire[0] == 0 and wire[1].startswith(f"intact: {LOG_ENTRIES} entries, head {LOG_ENTRIES}:")
    other = verify(runbook(tmp_path, psycopg_dsn(dsn)), capfd)
    assert (wire[0], untimed(wire[1]), wire[2]) == (other[0], untimed(other[1]), other[2])


# -- 6. forged and intact logs: the same verdict over both clients ----------------------------------------

FORGERIES = {  # what the forger does, and the seq verify must name
    "payload edited": ("UPDATE log_entries SET payload = '{\"text\": \"forged\"}' WHERE seq = 3", 3),
    "body edited": ("UPDATE log_entries SET body = replace(body, 'note 2', 'note X') WHERE seq = 3", 3),
    "kind edited": ("UPDATE log_entries SET kind = 'decision.go' WHERE seq = 4", 4),
    "entry deleted": ("DELETE FROM log_entries WHERE seq = 3", 3),
    "hash rewritten": ("UPDATE log_entries SET hash = repeat('0', 64) WHERE seq = 2", 2),
}


def both_clients(tmp_path: Path, dsn: str, capfd: pytest.CaptureFixture[str]) -> tuple[list[tuple[int, str, str]], ...]:
    """verify (text and --json) over pgwire and over psycopg."""
    assert route(dsn) == "pgwire" and route(psycopg_dsn(dsn)) == "psycopg"
    runs = []
    for d in (dsn, psycopg_dsn(dsn)):
        rb = runbook(tmp_path, d)
        text = verify(rb, capfd)
        code, out, err = verify(rb, capfd, "--json")
        found = json.loads(out)
        found.pop("seconds")
        runs.append([(text[0], untimed(text[1]), text[2]), (code, json.dumps(found, sort_keys=True), err)])
    return runs[0], runs[1]


def build_log(dsn: str) -> None:
    log = PostgresLog(dsn)
    for i in range(6):
        log.append(new(text=f"note {i}"))
    log.close()


def test_an_intact_log_reads_the_same(pg_dsn: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    build_log(pg_dsn)
    wire, other = both_clients(tmp_path, pg_dsn, capfd)
    assert wire == other
    assert wire[0][0] == 0 and wire[0][1].startswith("intact: 6 entries, head 6:") and wire[0][1].endswith("(…s)\n")


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_log_is_named_the_same(forgery: str, pg_dsn: str, tmp_path: Path,
                                        capfd: pytest.CaptureFixture[str]) -> None:
    build_log(pg_dsn)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # superuser: the append-only triggers off
        conn.execute(FORGERIES[forgery][0])
    wire, other = both_clients(tmp_path, pg_dsn, capfd)
    assert wire == other
    (code, out, _err), _ = wire
    assert code == 1 and out.startswith(f"TAMPERED at seq {FORGERIES[forgery][1]}: "), out


# -- 7. nothing logged yet, and a server that is down -----------------------------------------------------


def test_a_database_without_the_log_is_the_empty_chain(pg_dsn: str, tmp_path: Path,
                                                       capfd: pytest.CaptureFixture[str]) -> None:
    wire = verify(runbook(tmp_path, pg_dsn), capfd)
    other = verify(runbook(tmp_path, psycopg_dsn(pg_dsn)), capfd)
    assert (wire[0], untimed(wire[1]), wire[2]) == (other[0], untimed(other[1]), other[2])
    assert wire[0] == 0 and wire[1].startswith("intact: 0 entries")


def test_a_server_that_is_down_is_unreachable(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dsn = f"postgresql://postgres@127.0.0.1:{port}/nothing"
    for d in (dsn, psycopg_dsn(dsn)):
        code, out, err = verify(runbook(tmp_path, d), capfd)
        assert (code, out) == (3, "") and "could not verify" in err and "unreachable" in err, err


# -- 8. a server that dies in the middle of the COPY ------------------------------------------------------

BIG = 40_000  # ~30 MB of COPY text: more than the loopback socket buffers hold, so the server waits on us


@pytest.fixture(scope="module")
def big(own: Own) -> str:
    """A sealed chain of BIG entries, written in one COPY (as bench_verify builds its logs)."""
    with own.admin() as conn:
        conn.execute("CREATE DATABASE big")
    PostgresLog(own.cluster.dsn("big")).close()  # the schema
    with own.admin("big") as conn, conn.cursor() as cur:
        with cur.copy(f"COPY log_entries ({COPY_COLUMNS}) FROM STDIN") as copy:
            for row in chain(BIG):  # no tab, newline or backslash in these rows: no COPY escapes needed
                copy.write("\t".join(row) + "\n")
    return f"host=127.0.0.1 port={own.port} user=postgres dbname=big"


def stop_mid_copy(own: Own, proc: subprocess.Popen[str], kill: str) -> None:
    """Freeze the verifying process once its backend is streaming the COPY, so that the server is left
    waiting to write (wait_event ClientWrite: the kill lands mid-stream, never after the last row),
    then `kill` (pg_terminate_backend / pg_cancel_backend) that backend and let the process go on."""
    with own.admin() as conn:
        find = ("SELECT pid FROM pg_stat_activity WHERE datname = 'big' AND application_name = 'release-cockpit' "
                "AND state = 'active' AND query LIKE 'COPY%'")
        end = time.monotonic() + 20
        while (row := conn.execute(find).fetchone()) is None:
            assert proc.poll() is None and time.monotonic() < end, "verify never ran its COPY"
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            pid = row[0]
            waiting = "SELECT wait_event FROM pg_stat_activity WHERE pid = %s"
            while conn.execute(waiting, [pid]).fetchone() != ("ClientWrite",):
                assert time.monotonic() < end, "the server never waited to write the COPY"
                time.sleep(0.01)
            assert conn.execute(sql.SQL("SELECT {}(%s)").format(sql.Identifier(kill)), [pid]).fetchone() == (True,)
        finally:
            os.kill(proc.pid, signal.SIGCONT)


def verify_process(rb: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cockpit", "log", "verify", "--config", str(rb)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize(("client", "kill"), [
    ("pgwire", "pg_terminate_backend"),
    ("psycopg", "pg_terminate_backend"),
    ("pgwire", "pg_cancel_backend"),
    ("psycopg", "pg_cancel_backend"),
])
def test_a_backend_killed_mid_copy_is_unverified_never_intact_nor_tampered(own: Own, big: str, client: str, kill: str,
                                                                          tmp_path: Path) -> None:
    dsn = big if client == "pgwire" else psycopg_dsn(big)
    assert route(dsn) == client
    proc = verify_process(runbook(tmp_path, dsn))
    try:
        stop_mid_copy(own, proc, kill)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert "intact" not in out and "TAMPERED" not in out
    assert proc.returncode == 3 and "could not verify" in err and "unreachable" in err, err
    assert "Traceback" not in err
