"""Seed 004's gift market around the harness's shop (harness.py), for test_seed_004.py.

What the seed's runbook reads and the shop lacks is added here for real:
  - the gift market's own tables in the shop's real database (users with bcrypt hashes,
    tonnel_accounts with Fernet tokens, gifts, nfts, transactions with unique idempotency keys, the
    four indexes of ДЕНЬ 7), as the weeks before the release left them;
  - the app's cached markets read and its POST API on the shop's own server: a per-client limiter
    (slowapi's "10/minute") on withdrawals and purchases, and the flows the E2E suite walks —
    registration, top-up, purchase, withdrawal, an idempotency key paying out once;
  - a plain-HTTP listener that redirects to HTTPS, as the TLS front does (the shop has no TLS);
  - staging: a second shop with its own database, Redis and kubectl/docker state file, on the same
    checkout, SHA and release log — its operator's shell (PATH, $DATABASE_URL) names staging's. It is
    built from the harness's own parts (Harness._write_state/_write_bin, the shop's handler and server).
The release itself is one more commit on main: the compose files of both environments and the E2E suite.
No Prometheus runs here: the shop answers the runbook's queries with the values a test sets.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

from cockpit.core.log.entry import current_actor
from cockpit.core.log.open import open_log
from cockpit.core.session import ReleaseSession
from cockpit.runbook.config import load_runbook
from tests.seeds.harness import SUBSYSTEMS, Harness
from tests.seeds.shop import Shop, _Handler

APP = {"app": "api", "services": ["worker"], "runtime": "compose"}
"""The harness options of both worlds: a FastAPI app and its background worker, on docker compose."""

BCRYPT = "$2b$04$rFKU3iAeRMRe1/pgGHfdxOudnV8wfYmn52IlIjXQvDtPl4nHdmZ22"
"""bcrypt("s3cret", cost 4), made once with crypt(3): the check reads the hash's form, not the password."""

TABLES = """
create table users (id serial primary key, username text not null unique, password text not null,
                    token text not null);
create index idx_user_token on users (token);
create table tonnel_accounts (id serial primary key, account_id text not null, auth_data text not null);
create index idx_tonnel_auth on tonnel_accounts (account_id);
create table gifts (id serial primary key, title text not null);
create index idx_gift_title on gifts (title);
create table nfts (id serial primary key, gift_id integer not null references gifts (id),
                   price numeric(12, 2) not null);
create index idx_nft_price on nfts (price);
create table transactions (id serial primary key, user_id integer not null references users (id),
                           kind text not null, amount numeric(12, 2) not null, idempotency_key uuid not null);
create unique index transactions_idempotency_key on transactions (idempotency_key);
"""

COMPOSE = """services:
  api:
    image: registry.local/api:${IMAGE_TAG:?set IMAGE_TAG}
  worker:
    image: registry.local/api:${IMAGE_TAG:?set IMAGE_TAG}
"""

E2E = r'''#!/usr/bin/env python3
# The critical flows end to end (day 12): registration, top-up, purchase, withdrawal -- the withdrawal
# sent twice with one idempotency key, which must pay out once. A JUnit report with --junit; exit 1
# when a flow failed.
# usage: e2e.py BASE_URL [--junit FILE]
import argparse
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from xml.sax.saxutils import quoteattr

p = argparse.ArgumentParser()
p.add_argument("url")
p.add_argument("--junit")
a = p.parse_args()
state = {}


def post(path, body, token=None):
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    req = urllib.request.Request(a.url + path, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def expect(got, status):
    if got[0] != status:
        raise AssertionError(f"HTTP {got[0]}: {got[1]}")
    return got[1]


def registration():
    user = {"username": f"e2e-{uuid.uuid4().hex[:8]}", "password": "e2e-Secret-1"}
    state["token"] = expect(post("/api/auth/register", user), 201)["token"]


def topup():
    got = expect(post("/api/balance/topup", {"amount": 100, "idempotency_key": str(uuid.uuid4())}, state["token"]), 200)
    assert got["balance"] == 100, got


def purchase():
    body = {"gift": "Plush Pepe", "price": 30, "idempotency_key": str(uuid.uuid4())}
    got = expect(post("/api/purchase", body, state["token"]), 200)
    assert got["balance"] == 70, got


def withdrawal():
    body = {"amount": 50, "idempotency_key": str(uuid.uuid4())}
    first = expect(post("/api/withdraw", body, state["token"]), 200)
    again = expect(post("/api/withdraw", body, state["token"]), 200)
    assert first["balance"] == again["balance"] == 20, (first, again)


results = []
for flow in (registration, topup, purchase, withdrawal):
    try:
        flow()
        results.append((flow.__name__, None))
    except Exception as e:  # a flow that breaks in any way is a failed test case
        results.append((flow.__name__, f"{type(e).__name__}: {e}"))
    print(f"e2e_{flow.__name__}={'PASS' if results[-1][1] is None else 'FAIL (' + results[-1][1] + ')'}")
failed = [r for r in results if r[1]]
if a.junit:
    os.makedirs(os.path.dirname(a.junit) or ".", exist_ok=True)
    with open(a.junit, "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        f.write(f'<testsuite name="e2e" tests="{len(results)}" failures="{len(failed)}">\n')
        for name, problem in results:
            if problem is None:
                f.write(f'  <testcase classname="e2e" name="{name}"/>\n')
            else:
                f.write(f'  <testcase classname="e2e" name="{name}">'
                        f'<failure message={quoteattr(problem)}/></testcase>\n')
        f.write("</testsuite>\n")
sys.exit(1 if failed else 0)
'''


def release_commit(h: Harness) -> str:
    """The release on main: 1.1.0 with both environments' compose files and the E2E suite (no CI image:
    the deploy builds it)."""
    return h.commit("gift market 1.1.0: compose files, E2E suite of the critical flows", {
        "docker-compose.prod.yml": COMPOSE, "docker-compose.staging.yml": COMPOSE, "scripts/e2e.py": E2E})


# -- the database ---------------------------------------------------------------------------------

def gift_market_tables(shop: Shop, *, plaintext_password: bool = False) -> None:
    """The seed's tables with a few rows; one password left in plain text when asked (BLOCKER 1)."""
    fernet = Fernet(Fernet.generate_key())
    for statement in TABLES.split(";"):
        if statement.strip():
            shop.sql(statement)
    for name in ("alice", "bob", "carol"):
        password = "hunter2" if plaintext_password and name == "carol" else BCRYPT
        shop.sql("insert into users (username, password, token) values (%s, %s, %s)", name, password, uuid.uuid4().hex)
    for account in ("tonnel-1", "tonnel-2"):
        shop.sql("insert into tonnel_accounts (account_id, auth_data) values (%s, %s)", account,
                 fernet.encrypt(json.dumps({"session": account}).encode()).decode())
    shop.sql("insert into gifts (title) values ('Plush Pepe'), ('Durov''s Cap')")
    shop.sql("insert into nfts (gift_id, price) values (1, 120.50), (2, 990.00)")
    shop.sql("insert into transactions (user_id, kind, amount, idempotency_key) values (1, 'topup', 100, %s)",
             str(uuid.uuid4()))


def encrypt_passwords(shop: Shop) -> int:
    """ДЕНЬ 3-4's data migration for the rows it missed: every plain-text password replaced by its hash."""
    rows = shop.sql("update users set password = %s where password !~ '^[$]2[aby][$]' returning id", BCRYPT)
    return len(rows)


# -- the app's POST API on the shop's server -----------------------------------------------------------

MARKETS = [{"name": "Tonnel", "gifts": 1240}, {"name": "Portals", "gifts": 860}, {"name": "MRKT", "gifts": 412}]


class GiftMarketApp:
    """The withdrawal/purchase limiter and the flows of the E2E suite; state in memory, per shop."""

    CRITICAL = ("/api/withdraw", "/api/purchase")
    LIMIT, WINDOW_S = 10, 60.0

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: dict[tuple[str, str], list[float]] = {}
        self.tokens: dict[str, str] = {}
        self.balances: dict[str, float] = {}
        self.replies: dict[tuple[str, str], dict] = {}
        self.limited = 0

    def handle(self, path: str, token: str, client: str, raw: bytes) -> tuple[int, Any]:
        with self.lock:
            if path in self.CRITICAL:  # before authentication, keyed by the token or else the address
                now = time.monotonic()
                key = (path, token or client)
                recent = [t for t in self.hits.get(key, []) if now - t < self.WINDOW_S]
                if len(recent) >= self.LIMIT:
                    self.hits[key] = recent
                    self.limited += 1
                    return 429, {"error": f"Rate limit exceeded: {self.LIMIT} per 1 minute"}
                self.hits[key] = [*recent, now]
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return 422, {"detail": "body is not JSON"}
            if path == "/api/auth/register":
                if not body.get("username") or not body.get("password"):
                    return 422, {"detail": "username and password are required"}
                new = uuid.uuid4().hex
                self.tokens[new], self.balances[body["username"]] = body["username"], 0.0
                return 201, {"token": new}
            user = self.tokens.get(token)
            if user is None:
                return 401, {"detail": "Not authenticated"}
            if path not in ("/api/balance/topup", "/api/purchase", "/api/withdraw"):
                return 404, {"detail": "Not Found"}
            done = self.replies.get((user, str(body.get("idempotency_key"))))
            if done is not None:  # the same key again: the first answer, nothing applied twice
                return 200, done
            amount = float(body.get("amount", body.get("price", 0)))
            if path != "/api/balance/topup" and amount > self.balances[user]:
                return 402, {"detail": "insufficient balance"}
            self.balances[user] += amount if path == "/api/balance/topup" else -amount
            reply = {"balance": self.balances[user]}
            self.replies[(user, str(body.get("idempotency_key")))] = reply
            return 200, reply


class _GiftMarketHandler(_Handler):
    def do_GET(self) -> None:
        # The markets read served from the app's cache (MUST 3): no per-request write to the shop's state,
        # which a 100 RPS load test could not outrun. A programmed answer of the route still wins.
        path = urlsplit(self.path).path
        state = self.shop.state()
        if path != "/api/markets" or path in state["routes"]:
            return super().do_GET()
        serving = state["deployments"][state["app"]].get("serving")
        if not serving or serving.get("crash"):
            return self.send(502, {"error": "bad gateway: no pod of the app is ready"})
        self.send(200, {"markets": MARKETS, "version": serving["version"], "cached": True})

    do_HEAD = do_GET

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if not path.startswith("/api/"):
            return super().do_POST()
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        status, body = self.server.gift_market.handle(path, token.strip() if scheme.lower() == "bearer" else "",
                                                      self.client_address[0], self.body())
        self.send(status, body)


def serve_app_api(shop: Shop) -> GiftMarketApp:
    """The shop's server answers the app's POSTs from now on (GETs as before)."""
    app = GiftMarketApp()
    shop._server.gift_market = app
    shop._server.RequestHandlerClass = _GiftMarketHandler
    return app


def prometheus_answers(shop: Shop, environment: str, *, p95_s: float = 0.18, critical_alerts: int = 0) -> None:
    """What Prometheus would answer to the runbook's queries for one environment."""
    label = f'env="{environment}"'
    shop.prometheus(f'min(up{{job="gift-market",{label}}})', 1)
    shop.prometheus(f"min(gift_market:cache_hit_ratio:rate1h{{{label}}})", 0.94)
    shop.prometheus(f"max(gift_market:http_request_duration_seconds:p95_5m{{{label}}})", p95_s)
    shop.prometheus(f'count(ALERTS{{alertstate="firing",severity="critical",{label}}}) or vector(0)', critical_alerts)


# -- HTTPS only ---------------------------------------------------------------------------------------

class PlainHttp:
    """A plain-HTTP listener that sends every request to HTTPS (nginx's `return 301 https://$host$request_uri`)."""

    def __init__(self, host: str = "api.gift-market.example"):
        class Redirect(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(301)
                self.send_header("Location", f"https://{host}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_HEAD = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- staging ------------------------------------------------------------------------------------------

class StagingWorld(Harness):
    """Staging: its own shop, database, Redis and kubectl/docker state (its own bin first on PATH), on
    production's checkout, SHAs and runbook — so the release log and the SHA are the same ones."""

    def __init__(self, prod: Harness, root: Path, dsn: str):
        self.root, self.dsn, self.app, self.namespace = Path(root), dsn, prod.app, prod.namespace
        self.image, self.images, self.runs_latest = prod.image, prod.images, prod.runs_latest
        self.checkout, self.origin, self.shas = prod.checkout, prod.origin, prod.shas
        self.root.mkdir(parents=True)
        self.state_path, self.calls_path = self.root / "shop-state.json", self.root / "calls.jsonl"
        self.bin = self.root / "bin"
        self.runbook_path, self.secrets = prod.runbook_path, dict(prod.secrets)
        self.calls_path.touch()
        self._write_state([], "api", [APP["app"], *APP["services"]], None, list(SUBSYSTEMS), APP["runtime"])
        self._write_bin()
        migrated = self.run(["bash", "scripts/migrate.sh", "up", "2"])
        if migrated.returncode:
            raise RuntimeError(f"could not migrate staging's database: {migrated.stderr}")
        self.shop = Shop(self.state_path, dsn)
        self.shop.start()


# -- what the TUI does for a manual item ------------------------------------------------------------------

def tick(world: Harness, environment: str, check_id: str, note: str, actor: str) -> None:
    """Tick a manual item of the environment's release through the cockpit's own session, as the
    readiness screen's tick does (there is no headless tick command)."""
    async def run() -> None:
        runbook = load_runbook(world.runbook_path)
        log = open_log(runbook)
        try:
            session = await ReleaseSession.open(runbook, log, environment, current_actor(actor))
            try:
                await session.tick(check_id, note)
            finally:
                session.close()
        finally:
            log.close()

    asyncio.run(run())
