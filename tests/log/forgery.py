"""An honest signed release, and a forger with write access to its database, for the forgery drills.

The release: Ann signs off (her key, in her ssh-agent), Bob goes GO (his key, his agent), the one stage
starts and is marked stable, the release is closed — each GO, stage end and close witnessed in the git
repository and pushed to its remote. The forger is the superuser of the store: triggers off, rows
deleted and written again, every hash recomputed with the project's own `seal`, in the store's own
columns (so whatever the store keeps beside the hashed fields is forged as consistently).
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cockpit.cli import main
from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import GENESIS, Actor, Entry, NewEntry, seal
from cockpit.core.log.open import open_log
from cockpit.core.log.sqlstore import COLUMNS
from cockpit.core.session import ReleaseSession
from cockpit.runbook.config import Runbook, load_runbook
from tests.helpers.gitrepos import Repo, make_repo
from tests.log.sshkeys import Key, agent, make_key

ANN = Actor("Ann", "ann", "laptop-a", "ann@example.com")
BOB = Actor("Bob", "bob", "laptop-b", "bob@example.com")


def runbook_text(log: str) -> str:
    return f"""
[release]
name = "shop"
repo = "repo/work"
main = "origin/main"
remote = "origin"

[log]
{log}

[environments.production]

[[stages]]
id = "only"
title = "the one stage"

[[checks]]
id = "backup"
kind = "manual"
prompt = "backup taken and restore verified"

[signing]
allowed_signers = "allowed_signers"
required = ["production"]
"""


@dataclass
class Release:
    root: Path
    runbook_path: Path
    repo: Repo
    ann: Key
    bob: Key
    ann_sock: str
    bob_sock: str
    store: str
    """"sqlite" or "postgres"."""
    target: str
    """The SQLite file or the DSN."""

    @property
    def runbook(self) -> Runbook:
        return load_runbook(self.runbook_path)

    def log(self) -> Any:
        return open_log(self.runbook)

    def entries(self) -> list[Entry]:
        log = self.log()
        try:
            return list(log.entries(LogFilter()))
        finally:
            log.close()

    def seq_of(self, kind: str, nth: int = 0) -> int:
        return [e.seq for e in self.entries() if e.kind == kind][nth]

    def verify(self, *extra: str) -> tuple[int, dict[str, Any]]:
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["log", "verify", "--config", str(self.runbook_path), "--witnesses", "--json", *extra])
        return code, json.loads(out.getvalue())

    def verify_text(self, *extra: str) -> tuple[int, str]:
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["log", "verify", "--config", str(self.runbook_path), "--witnesses", *extra])
        return code, out.getvalue()

    def verify_text_without_witnesses(self, *extra: str) -> tuple[int, str]:
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["log", "verify", "--config", str(self.runbook_path), *extra])
        return code, out.getvalue()

    # -- the forger -----------------------------------------------------------------------------
    def rewrite_from(self, seq: int, change: Callable[[list[Entry]], list[NewEntry | Entry]]) -> None:
        """Rows seq.. replaced by change(them), renumbered from `seq` and sealed again with the project's own
        function: a chain as valid as the honest one."""
        log = self.log()
        try:
            store = log.store() if hasattr(log, "store") else log
            old = [e for e in store.entries(LogFilter()) if e.seq >= seq]
            before = store.page(LogFilter(), after_seq=seq - 2, limit=1) if seq > 1 else []
            prev = before[0].hash if before else GENESIS
            sealed = []
            for i, e in enumerate(change(old)):
                new = e if isinstance(e, NewEntry) else NewEntry(
                    release_id=e.release_id, environment=e.environment, kind=e.kind, payload=e.payload,
                    actor=e.actor, at=e.at)
                s = seal(new, seq + i, prev)
                sealed.append(s)
                prev = s.hash
            rows = [store._insert_params(s) for s in sealed]
        finally:
            log.close()
        marks = ", ".join(["%s"] * len(COLUMNS.split(",")))
        statements = [("DELETE FROM log_entries WHERE seq >= %s", (seq,))]
        statements += [(f"INSERT INTO log_entries ({COLUMNS}) VALUES ({marks})", tuple(r)) for r in rows]
        self.as_superuser(statements)

    def as_superuser(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Triggers off (PostgreSQL: session_replication_role; SQLite: dropped and made again), in one go."""
        if self.store == "sqlite":
            conn = sqlite3.connect(self.target, isolation_level=None)
            try:
                triggers = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                        "AND tbl_name = 'log_entries'").fetchall()
                names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                     "AND tbl_name = 'log_entries'").fetchall()
                conn.execute("BEGIN")
                for (name,) in names:
                    conn.execute(f'DROP TRIGGER "{name}"')
                for sql, params in statements:
                    conn.execute(sql.replace("%s", "?"), params)
                for (ddl,) in triggers:
                    conn.execute(ddl)
                conn.execute("COMMIT")
            finally:
                conn.close()
        else:
            with psycopg.connect(self.target, autocommit=True) as conn, conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")
                for sql, params in statements:
                    conn.execute(sql, params)


async def honest_release(root: Path, store: str, target: str, monkeypatch: pytest.MonkeyPatch) -> Release:
    """Ann and Bob, two keys in two real ssh-agents, through sign-off, GO, a stable stage and the close."""
    repo = make_repo(root / "repo")
    keys = root / "keys"
    ann, bob = make_key(keys, "ann"), make_key(keys, "bob")
    log = f'path = "{target}"' if store == "sqlite" else f'dsn = "{target}"'
    runbook_path = root / "runbook.toml"
    runbook_path.write_text(runbook_text(log))
    people = [ann.allowed("Ann,ann@example.com"), bob.allowed("Bob,bob@example.com")]
    (root / "allowed_signers").write_text("\n".join(people) + "\n")
    stack = _Agents(root, ann, bob)
    rel = Release(root, runbook_path, repo, ann, bob, stack.ann_sock, stack.bob_sock, store, target)
    rel._agents = stack  # type: ignore[attr-defined]
    rb = rel.runbook
    log_a = open_log(rb)
    monkeypatch.setenv("SSH_AUTH_SOCK", rel.ann_sock)
    monkeypatch.delenv("COCKPIT_SIGNING_KEY", raising=False)
    ann_s = await ReleaseSession.open(rb, log_a, "production", ANN)
    await ann_s.sign_off("Ann", "Bob", repo.main_shas[0])
    await ann_s.tick("backup", "restored into scratch, row counts match")
    ann_s.close()
    monkeypatch.setenv("SSH_AUTH_SOCK", rel.bob_sock)
    bob_s = await ReleaseSession.open(rb, log_a, "production", BOB)
    await bob_s.go(bob_s.target.short)
    await bob_s.start_stage("only")
    await bob_s.note("traffic looks normal")
    await bob_s.mark_stable("only", "quiet for the window")
    await bob_s.note("closing")
    await bob_s.finish("released")
    bob_s.wait_for_witnesses()
    bob_s.close()
    log_a.close()
    return rel


class _Agents:
    """Two ssh-agents kept running for the release's lifetime (closed by `stop`)."""

    def __init__(self, root: Path, ann: Key, bob: Key):
        self._a = agent(root, ann)
        self._b = agent(root, bob)
        self.ann_sock = self._a.__enter__()
        self.bob_sock = self._b.__enter__()

    def stop(self) -> None:
        self._a.__exit__(None, None, None)
        self._b.__exit__(None, None, None)


def stop(rel: Release) -> None:
    rel._agents.stop()  # type: ignore[attr-defined]


def forged_entry(like: Entry, **changes: Any) -> NewEntry:
    """A new entry shaped like `like` (same release, environment, actor, time unless changed)."""
    base = NewEntry(release_id=like.release_id, environment=like.environment, kind=like.kind,
                    payload=like.payload, actor=like.actor, at=like.at)
    return replace(base, **changes)


WITNESSED_KINDS = (kinds.DECISION_GO, kinds.STAGE_STABLE, kinds.RELEASE_DONE)
