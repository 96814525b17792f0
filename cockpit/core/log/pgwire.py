"""A read-only PostgreSQL client for one job: `cockpit log verify` streaming `COPY (query) TO STDOUT`.

Why not psycopg here: at 10k entries its import was a third of verify's time, and at 1M its wait loop,
one pass per row, cost more than checking the row. This speaks protocol 3.0 for exactly what verify
needs — a plain TCP or Unix-socket connection, trust / password / MD5 / SCRAM-SHA-256 authentication, a
simple query, COPY OUT — in a session the server holds read-only. Anything else raises Unsupported
before a byte is read (a DSN key or PG* variable it does not know, several hosts, no host, a server that
answers TLS, GSSAPI, a password it would have to find in a passfile) and the caller uses psycopg, which
libpq makes right for every case.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import pwd
import re
import secrets
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote

_PROTOCOL = 196608  # 3.0
_SSL_REQUEST = 80877103

# DSN keywords this client honours (with what libpq means by them); any other keyword → Unsupported.
_KEYS = {"host", "port", "dbname", "user", "password", "connect_timeout", "application_name",
         "fallback_application_name", "options", "sslmode", "gssencmode", "keepalives", "keepalives_idle",
         "keepalives_interval", "keepalives_count", "tcp_user_timeout", "client_encoding"}
# libpq's environment defaults this client honours; any other PG* variable set → Unsupported.
_ENV = {"PGHOST": "host", "PGPORT": "port", "PGDATABASE": "dbname", "PGUSER": "user", "PGPASSWORD": "password",
        "PGCONNECT_TIMEOUT": "connect_timeout", "PGAPPNAME": "application_name", "PGOPTIONS": "options",
        "PGSSLMODE": "sslmode", "PGGSSENCMODE": "gssencmode", "PGCLIENTENCODING": "client_encoding"}
_PLAIN_SSLMODES = {"disable", "allow", "prefer"}  # a server without TLS is fine with these (libpq's default: prefer)


class Unsupported(Exception):
    """Not a case this client handles: use psycopg."""


class ConnectionFailed(Exception):
    """The server could not be reached or refused the session (the text says why, as libpq would)."""


class ServerError(Exception):
    """An ErrorResponse to a query: SQLSTATE and the server's message."""

    def __init__(self, sqlstate: str, message: str):
        super().__init__(message)
        self.sqlstate = sqlstate


# -- the connection string ------------------------------------------------------------------------------


_SPACE = " \t\n\r\f\v"  # C's isspace(), as libpq reads a DSN (not Unicode's spaces)


def _keyword_pairs(dsn: str) -> list[tuple[str, str]]:
    """libpq's `key=value key='quoted \\' value'` form."""
    pairs: list[tuple[str, str]] = []
    i, n = 0, len(dsn)
    while True:
        while i < n and dsn[i] in _SPACE:
            i += 1
        if i >= n:
            return pairs
        eq = dsn.find("=", i)
        if eq < 0:
            raise Unsupported("not key=value")
        key = dsn[i:eq].strip(_SPACE)
        i = eq + 1
        while i < n and dsn[i] in _SPACE:
            i += 1
        value: list[str] = []
        quoted = i < n and dsn[i] == "'"
        if quoted:
            i += 1
        while i < n and (dsn[i] != "'" if quoted else dsn[i] not in _SPACE):
            if dsn[i] == "\\":
                i += 1  # the next character as it is; a backslash at the very end is dropped
                if i >= n:
                    break
            value.append(dsn[i])
            i += 1
        if quoted:
            if i >= n:
                raise Unsupported("unterminated quote")
            i += 1
        pairs.append((key, "".join(value)))


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _decoded(part: str) -> str:
    if _BAD_ESCAPE.search(part) or "%00" in part:
        raise Unsupported("a bad percent escape")  # libpq refuses it: psycopg says so
    return unquote(part)


def _uri_pairs(dsn: str) -> list[tuple[str, str]]:
    """libpq's `postgresql://[user[:password]@][host][:port][/dbname][?key=value&...]`, one host only.
    Anything irregular is Unsupported, so that psycopg (libpq) gives its own error for it."""
    rest = dsn.split("://", 1)[1]
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    pairs: list[tuple[str, str]] = []
    if "@" in netloc:
        userinfo, netloc = netloc.split("@", 1)  # libpq: the user info ends at the first @
        user, _, password = userinfo.partition(":")
        if user:
            pairs.append(("user", _decoded(user)))
        if password:
            pairs.append(("password", _decoded(password)))
    if "," in netloc:
        raise Unsupported("several hosts")
    if netloc.startswith("["):
        host, bracket, after = netloc[1:].partition("]")
        if not bracket or not host or (after and not after.startswith(":")):
            raise Unsupported("an IPv6 address libpq would refuse")
        port = after[1:]
    else:
        host, _, port = netloc.partition(":")
    if any(c in host for c in "[]@/") or (port and not port.isdigit()):
        raise Unsupported("a host or port libpq would refuse")
    if host:
        pairs.append(("host", _decoded(host)))
    if port:
        pairs.append(("port", port))
    if slash and path:
        pairs.append(("dbname", _decoded(path)))
    for item in query.split("&") if query else []:
        key, eq, value = item.partition("=")
        if not eq or not key or "=" in value:
            raise Unsupported("a query parameter without a value")
        pairs.append((_decoded(key), _decoded(value)))
    return pairs


def dsn_fields(dsn: str) -> dict[str, str]:
    """The DSN's own keywords, as libpq's conninfo parser gives them (the environment not applied)."""
    pairs = _uri_pairs(dsn) if dsn.startswith(("postgresql://", "postgres://")) else _keyword_pairs(dsn)
    out: dict[str, str] = {}
    for key, value in pairs:
        if key not in _KEYS:
            raise Unsupported(f"the DSN keyword {key!r}")
        out[key] = value
    return out


@dataclass(frozen=True)
class Params:
    host: str
    port: int
    user: str
    dbname: str
    password: str | None
    connect_timeout: float
    sslmode: str
    startup: dict[str, str] = field(default_factory=dict)
    """Sent in the startup packet: user, database, application_name, options, client_encoding."""

    @property
    def where(self) -> str:
        return f"postgresql://{self.host}:{self.port}/{self.dbname}"


def read_only(options: str) -> str:
    """A session's `options` with every transaction read-only (the server refuses writes): what verify and
    the read-only PostgresLog (readonly.read_only_dsn) open their sessions with."""
    return f"{options} -c default_transaction_read_only=on".strip()


def params(dsn: str, password: str | None = None) -> Params:
    """What to connect to, or Unsupported; `password` (a runbook secret) wins over the DSN's, as in psycopg."""
    given = dsn_fields(dsn)
    env: dict[str, str] = {}
    for name, value in os.environ.items():
        if name.startswith("PG"):
            if name not in _ENV:
                raise Unsupported(f"the environment variable {name}")
            env[_ENV[name]] = value
    f = {**env, **given}
    if password is not None:
        f["password"] = password
    host = f.get("host", "")
    if not host or "," in host:
        raise Unsupported("no single host (libpq's default socket directory is its own)")
    sslmode = f.get("sslmode", "prefer")
    if sslmode not in _PLAIN_SSLMODES or f.get("gssencmode", "prefer") not in ("disable", "prefer"):
        raise Unsupported(f"sslmode {sslmode}")
    try:
        port = int(f.get("port") or 5432)
        timeout = float(f.get("connect_timeout") or 0) or 5.0
    except ValueError:
        raise Unsupported("a port or timeout that is not a number") from None
    user = f.get("user") or pwd.getpwuid(os.geteuid()).pw_name  # libpq: the effective user, not $USER
    dbname = f.get("dbname") or user
    startup = {"user": user, "database": dbname, "client_encoding": "UTF8",
               "application_name": f.get("application_name") or f.get("fallback_application_name")
               or "release-cockpit", "options": read_only(f.get("options", ""))}
    if f.get("client_encoding", "UTF8").upper().replace("-", "") not in ("UTF8", "UNICODE"):
        raise Unsupported("a client_encoding other than UTF8")
    # libpq takes an empty password for none (and then reads its passfile)
    return Params(host, port, user, dbname, f.get("password") or None, timeout, sslmode, startup)


# -- the session ----------------------------------------------------------------------------------------


def _cstr(s: str) -> bytes:
    return s.encode("utf-8") + b"\0"


def _server_error(body: bytes) -> ServerError:
    f = _fields(body)
    return ServerError(f.get("C", ""), f.get("M", "error"))


def _fields(body: bytes) -> dict[str, str]:
    """An ErrorResponse's or NoticeResponse's fields by their code letter."""
    out: dict[str, str] = {}
    for part in body.split(b"\0"):
        if part:
            out[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return out


class Session:
    """One read-only session. Not thread-safe; used by one verify at a time."""

    def __init__(self, p: Params):
        self._p = p
        self._buf = bytearray()
        self._sock = self._open()
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    # -- bytes ---------------------------------------------------------------------------------------
    def _open(self) -> socket.socket:
        p = self._p
        try:
            if p.host.startswith("/"):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(p.connect_timeout)
                sock.connect(os.path.join(p.host, f".s.PGSQL.{p.port}"))
            else:
                sock = socket.create_connection((p.host, p.port), timeout=p.connect_timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                # Dead peers surface as errors, not hangs (as PostgresLog's keepalive options).
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                for opt, value in (("TCP_KEEPIDLE", 5), ("TCP_KEEPINTVL", 2), ("TCP_KEEPCNT", 3),
                                   ("TCP_USER_TIMEOUT", 15000)):
                    if hasattr(socket, opt):
                        sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), value)
        except OSError as e:
            raise ConnectionFailed(f"connection to {p.where} failed: {e.strerror or e}") from None
        return sock

    def _send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as e:
            raise ConnectionFailed(f"connection to {self._p.where} lost: {e.strerror or e}") from None

    def _fill(self) -> None:
        try:
            chunk = self._sock.recv(1 << 18)
        except OSError as e:
            raise ConnectionFailed(f"connection to {self._p.where} lost: {e.strerror or e}") from None
        if not chunk:
            raise ConnectionFailed(f"the server at {self._p.where} closed the connection")
        self._buf += chunk

    def _message(self) -> tuple[int, bytes]:
        while len(self._buf) < 5:
            self._fill()
        typ, n = struct.unpack_from("!BI", self._buf)
        while len(self._buf) < 1 + n:
            self._fill()
        body = bytes(self._buf[5:1 + n])
        del self._buf[:1 + n]
        return typ, body

    def _msg(self, typ: bytes, body: bytes) -> None:
        self._send(typ + struct.pack("!I", len(body) + 4) + body)

    # -- start-up and authentication -------------------------------------------------------------------
    def _start(self) -> None:
        p = self._p
        if not p.host.startswith("/") and p.sslmode != "disable":
            self._send(struct.pack("!II", 8, _SSL_REQUEST))
            answer = self._sock.recv(1)
            if answer == b"S":
                raise Unsupported("the server speaks TLS")  # libpq negotiates it and what it may verify
            if answer != b"N":
                raise ConnectionFailed(f"the server at {p.where} did not answer the TLS request")
        self._sock.settimeout(None)  # a long COPY is not a timeout; keepalives catch a dead peer
        body = struct.pack("!I", _PROTOCOL) + b"".join(_cstr(k) + _cstr(v) for k, v in p.startup.items()) + b"\0"
        self._send(struct.pack("!I", len(body) + 4) + body)
        while True:
            typ, body = self._message()
            if typ == ord("R"):
                self._authenticate(struct.unpack_from("!I", body)[0], body[4:])
            elif typ == ord("E"):
                raise ConnectionFailed(f"connection to {p.where} failed: {_fields(body).get('M', 'refused')}")
            elif typ == ord("Z"):
                return
            # ParameterStatus, BackendKeyData, NoticeResponse: nothing verify needs

    def _password(self) -> str:
        if self._p.password is None:
            raise Unsupported("a password from the passfile")  # libpq reads ~/.pgpass: psycopg does
        return self._p.password

    def _authenticate(self, code: int, data: bytes) -> None:
        if code == 0:  # AuthenticationOk
            return
        if code == 3:  # cleartext password
            self._msg(b"p", _cstr(self._password()))
        elif code == 5:  # MD5: md5(md5(password + user) + salt)
            inner = hashlib.md5((self._password() + self._p.user).encode()).hexdigest()
            self._msg(b"p", _cstr("md5" + hashlib.md5(inner.encode() + data[:4]).hexdigest()))
        elif code == 10 and b"SCRAM-SHA-256\0" in data.split(b"\0\0")[0] + b"\0":
            self._scram()
        else:
            raise Unsupported(f"authentication method {code}")

    def _scram(self) -> None:
        """SCRAM-SHA-256 (RFC 5802/7677) without channel binding, the server's signature checked."""
        password = self._password()
        if not password.isascii():
            raise Unsupported("a non-ASCII password (SASLprep)")
        nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        first_bare = f"n=,r={nonce}"
        first = ("n,," + first_bare).encode()
        self._msg(b"p", _cstr("SCRAM-SHA-256") + struct.pack("!I", len(first)) + first)
        server_first = self._sasl(11)
        attrs = dict(a.split("=", 1) for a in server_first.split(","))
        if not attrs.get("r", "").startswith(nonce):
            raise ConnectionFailed(f"connection to {self._p.where} failed: the server's SCRAM nonce is wrong")
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        final_bare = f"c=biws,r={attrs['r']}"
        auth = f"{first_bare},{server_first},{final_bare}".encode()
        signature = hmac.digest(hashlib.sha256(client_key).digest(), auth, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self._msg(b"p", f"{final_bare},p={base64.b64encode(proof).decode()}".encode())
        server_final = dict(a.split("=", 1) for a in self._sasl(12).split(","))
        expected = hmac.digest(hmac.digest(salted, b"Server Key", "sha256"), auth, "sha256")
        if not hmac.compare_digest(base64.b64decode(server_final.get("v", "")), expected):
            raise ConnectionFailed(f"connection to {self._p.where} failed: the server did not prove it knows "
                                   "the password")

    def _sasl(self, want: int) -> str:
        typ, body = self._message()
        if typ == ord("E"):
            raise ConnectionFailed(f"connection to {self._p.where} failed: {_fields(body).get('M', 'refused')}")
        if typ != ord("R") or struct.unpack_from("!I", body)[0] != want:
            raise ConnectionFailed(f"connection to {self._p.where} failed: an unexpected SCRAM message")
        return body[4:].decode("utf-8")

    # -- queries ---------------------------------------------------------------------------------------
    def query(self, sql: str) -> list[tuple[str | None, ...]]:
        """The rows of one simple query, each value as the server's text (None for NULL)."""
        self._msg(b"Q", _cstr(sql))
        rows: list[tuple[str | None, ...]] = []
        while True:
            typ, body = self._message()
            if typ == ord("D"):
                values: list[str | None] = []
                pos = 2
                for _ in range(struct.unpack_from("!H", body)[0]):
                    (n,) = struct.unpack_from("!i", body, pos)
                    pos += 4
                    if n < 0:
                        values.append(None)
                    else:
                        values.append(body[pos:pos + n].decode("utf-8"))
                        pos += n
                rows.append(tuple(values))
            elif typ == ord("E"):
                self._until_ready(_server_error(body))
            elif typ == ord("Z"):
                return rows

    def copy_out(self, sql: str) -> Iterator[bytes]:
        """`COPY (sql) TO STDOUT` in text format: blocks of whole rows (each ending with a newline), read
        in large chunks and split from their CopyData frames here, not one row per call."""
        self._msg(b"Q", _cstr(f"COPY ({sql}) TO STDOUT"))
        typ, body = self._message()
        if typ == ord("E"):
            self._until_ready(_server_error(body))
        if typ != ord("H"):
            raise ConnectionFailed(f"the server at {self._p.where} did not start the COPY")
        unpack, buf, d = struct.unpack_from, self._buf, ord("d")
        while True:
            pos, end, rows = 0, len(buf), []
            while pos + 5 <= end:
                typ, n = unpack("!BI", buf, pos)
                if pos + 1 + n > end:
                    break
                if typ != d:  # CopyDone, then CommandComplete and ReadyForQuery (or an ErrorResponse)
                    if rows:
                        yield b"".join(rows)
                    del buf[:pos]
                    self._until_ready()
                    return
                rows.append(buf[pos + 5:pos + 1 + n])
                pos += 1 + n
            if rows:
                yield b"".join(rows)
            del buf[:pos]
            self._fill()

    def _until_ready(self, error: ServerError | None = None) -> None:
        """Read to ReadyForQuery (the session is usable again), then raise the server's error, if any."""
        while True:
            typ, body = self._message()
            if typ == ord("E"):
                error = _server_error(body)
            elif typ == ord("Z"):
                if error is not None:
                    raise error
                return

    def close(self) -> None:
        try:
            self._sock.sendall(b"X\0\0\0\4")  # Terminate
        except OSError:
            pass
        self._sock.close()
