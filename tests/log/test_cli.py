"""`cockpit log verify|export|note|status|tail|unlock`, run as the user runs them (subprocess) or via main()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from cockpit.cli import main
from cockpit.runbook.config import load_runbook
from tests.helpers.locks import take_lock
from cockpit.core.log.open import open_log
from tests.helpers.pgproxy import PgProxy
from tests.log.conftest import ALICE
from tests.log.webhook import Webhook

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, log: str, extra: str = "") -> Path:
    f = tmp_path / "runbook.toml"
    f.write_text(f"""
[release]
name = "shop"
[log]
{log}
[environments.prod]
url = "http://127.0.0.1:1"
[environments.staging]
url = "http://127.0.0.1:1"
{extra}
""")
    return f


@pytest.fixture
def runbook(tmp_path: Path) -> Path:
    return _write(tmp_path, 'path = ".deploy/release-log.sqlite"')


def cockpit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "COCKPIT_ACTOR": "carol", **(env or {})})


def test_note_tail_verify_status(runbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "note", "--config", str(runbook), "--release", "shop-1", "go/no-go at 14:00"]) == 0
    assert main(["log", "note", "--config", str(runbook), "--release", "shop-1", "--env", "staging",
                 "evil \x1b[2J text"]) == 0
    assert capsys.readouterr().out.startswith("seq 1 ")
    assert main(["log", "tail", "--config", str(runbook), "-n", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "go/no-go at 14:00" in out[0] and "staging" in out[1]
    assert "\x1b" not in "".join(out) and "\\x1b[2J" in out[1]
    assert main(["log", "verify", "--config", str(runbook)]) == 0
    assert capsys.readouterr().out.startswith("intact: 2 entries, head 2:")
    assert main(["log", "status", "--config", str(runbook), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["reachable"], status["entries"], status["spooled"]) == (True, 2, 0)
    assert status["head"]["seq"] == 2 and status["locks"] == {"prod": None, "staging": None}


def test_verify_exits_1_naming_the_seq(runbook: Path) -> None:
    for i in range(3):
        assert cockpit("log", "note", "--config", str(runbook), "--release", "r", f"n{i}").returncode == 0
    import sqlite3
    conn = sqlite3.connect(runbook.parent / ".deploy/release-log.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER log_entries_no_update")
    conn.execute("""UPDATE log_entries SET payload = '{"text":"n9"}' WHERE seq = 2""")
    conn.close()
    r = cockpit("log", "verify", "--config", str(runbook))
    assert r.returncode == 1 and "TAMPERED at seq 2: altered" in r.stdout
    j = cockpit("log", "verify", "--config", str(runbook), "--json")
    assert json.loads(j.stdout)["first_bad_seq"] == 2 and j.returncode == 1


def test_export_to_a_file(runbook: Path, tmp_path: Path) -> None:
    for rel in ("shop-1", "shop-2"):
        assert main(["log", "note", "--config", str(runbook), "--release", rel, f"note for {rel}"]) == 0
    out = tmp_path / "RELEASE_LOG.md"
    assert main(["log", "export", "--config", str(runbook), "--format", "md", "--output", str(out)]) == 0
    assert out.read_text().count("\n## ") == 2
    tsv = tmp_path / "release-log.tsv"
    assert main(["log", "export", "--config", str(runbook), "-f", "tsv", "--release", "shop-2", "-o", str(tsv)]) == 0
    lines = tsv.read_text().splitlines()
    assert len(lines) == 2 and "note for shop-2" in lines[1]
    assert main(["log", "export", "--config", str(runbook), "-f", "jsonl", "-o", str(tmp_path / "no/such/dir.jsonl")]) == 1


def test_status_shows_the_lock_and_unlock_forces_it_with_a_reason(runbook: Path) -> None:
    log = open_log(load_runbook(runbook))
    take_lock(log, "prod", "shop-1", ALICE, timedelta(minutes=30))
    log.close()
    s = cockpit("log", "status", "--config", str(runbook))
    assert s.returncode == 0 and "lock prod:" in s.stdout and "held by alice for release shop-1" in s.stdout
    assert "lock staging: free" in s.stdout
    refused = cockpit("log", "unlock", "--config", str(runbook), "--env", "prod", "--reason", " ")
    assert refused.returncode == 1 and "needs a reason" in refused.stderr
    done = cockpit("log", "unlock", "--config", str(runbook), "--env", "prod", "--reason", "alice is offline")
    assert done.returncode == 0 and "was held by alice" in done.stdout
    assert "lock prod:    free" in cockpit("log", "status", "--config", str(runbook)).stdout


def test_postgres_away_note_spools_status_counts_and_the_next_command_replays(tmp_path: Path, pg_dsn: str) -> None:
    proxy = PgProxy().start()
    try:
        runbook = _write(tmp_path, f'dsn = "{proxy.dsn(pg_dsn)}"')
        assert cockpit("log", "note", "--config", str(runbook), "--release", "r", "before").returncode == 0
        proxy.cut()
        spooled = cockpit("log", "note", "--config", str(runbook), "--release", "r", "during the outage")
        assert spooled.returncode == 0 and "spooled" in spooled.stdout
        status = cockpit("log", "status", "--config", str(runbook))
        assert status.returncode == 1 and "UNREACHABLE" in status.stdout and "spooled: 1 waiting" in status.stdout
        proxy.restore()
        tail = cockpit("log", "tail", "--config", str(runbook))  # any command replays first
        assert tail.returncode == 0 and "during the outage" in tail.stdout.splitlines()[-1]
        with psycopg.connect(pg_dsn) as conn:
            assert conn.execute("SELECT count(*) FROM log_entries").fetchone()[0] == 2
    finally:
        proxy.cut()


def test_status_reports_the_notification_backlog_without_the_url(tmp_path: Path) -> None:
    hook = Webhook(fail_first=100)
    try:
        runbook = _write(tmp_path, 'path = "log.sqlite"', f'[[notify]]\nurl = "{hook.url}"\nkinds = ["note"]')
        note = cockpit("log", "note", "--config", str(runbook), "--release", "r", "hello")
        assert note.returncode == 0 and "notify[0]: seq 1 attempt 1: HTTP 500" in note.stderr
        status = cockpit("log", "status", "--config", str(runbook))
        assert "notify[0]:" in status.stdout and "1 pending, 0 failed (last error: HTTP 500)" in status.stdout
        assert hook.url not in note.stdout + note.stderr + status.stdout + status.stderr
    finally:
        hook.close()


def test_tail_follow_prints_new_entries(runbook: Path) -> None:
    assert main(["log", "note", "--config", str(runbook), "--release", "r", "first"]) == 0
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", "log", "tail", "--config", str(runbook), "--follow",
                             "--interval", "0.1"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert "first" in proc.stdout.readline()
        assert main(["log", "note", "--config", str(runbook), "--release", "r", "second"]) == 0
        assert "second" in proc.stdout.readline()
    finally:
        proc.kill()
        proc.wait()


def test_bad_usage_is_a_clear_error(tmp_path: Path, runbook: Path) -> None:
    r = cockpit("log", "note", "--config", str(tmp_path / "missing.toml"), "--release", "r", "x")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = cockpit("log", "tail", "--config", str(runbook), "--env", "qa")
    assert r.returncode == 2 and "unknown environment 'qa'" in r.stderr
    r = cockpit("log", "export", "--config", str(runbook), "--format", "xml")
    assert r.returncode == 2


def test_a_witnessed_head_catches_entries_removed_from_the_end(runbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The chain alone cannot tell that the newest entries were deleted; a head kept elsewhere can."""
    for i in range(3):
        assert main(["log", "note", "--config", str(runbook), "--release", "r", f"n{i}"]) == 0
    capsys.readouterr()
    assert main(["log", "verify", "--config", str(runbook), "--json"]) == 0
    head = json.loads(capsys.readouterr().out)["head"]
    witness = f"3:{head}"
    assert main(["log", "verify", "--config", str(runbook), "--expect", witness]) == 0
    capsys.readouterr()

    import sqlite3
    conn = sqlite3.connect(runbook.parent / ".deploy/release-log.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER log_entries_no_delete")  # someone with the file quietly drops the last entry
    conn.execute("DELETE FROM log_entries WHERE seq = 3")
    conn.close()
    assert main(["log", "verify", "--config", str(runbook)]) == 0  # still a valid (shorter) chain
    capsys.readouterr()
    assert main(["log", "verify", "--config", str(runbook), "--expect", witness]) == 1
    out = capsys.readouterr().out
    # Entry 3 is gone; with no earlier witness, entries 1-2 may have been rewritten too: a range, said so.
    assert "TAMPERED between seq 1 and seq 3: entry 3 is gone" in out and "ends at seq 2" in out

    assert main(["log", "verify", "--config", str(runbook), "--expect", "2:" + "0" * 64]) == 1
    assert "was rewritten" in capsys.readouterr().out
    assert main(["log", "verify", "--config", str(runbook), "--expect", "2:nothex"]) == 2


def test_verify_reads_the_store_read_only_and_never_replays_the_spool(runbook: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """verify opens the store read-only: nothing logged yet is the empty chain (and no file is made);
    entries waiting in the spool stay there, outside the chain it verifies."""
    from cockpit.core.log.entry import NewEntry
    from cockpit.core.log.open import local_spool
    from cockpit.core.log.sqlite import SqliteLog

    path = runbook.parent / ".deploy/release-log.sqlite"
    assert main(["log", "verify", "--config", str(runbook)]) == 0
    assert capsys.readouterr().out.startswith("intact: 0 entries (")
    assert not path.parent.exists()

    for i in range(2):
        assert main(["log", "note", "--config", str(runbook), "--release", "r", f"n{i}"]) == 0
    spool = local_spool(load_runbook(runbook))
    with spool.locked():
        spool.add(NewEntry("r", "prod", "note", {"text": "written during an outage"}, ALICE))
    capsys.readouterr()
    assert main(["log", "verify", "--config", str(runbook)]) == 0
    assert capsys.readouterr().out.startswith("intact: 2 entries, head 2:")
    assert spool.count() == 1
    store = SqliteLog(path)
    assert store.count() == 2
    store.close()


def test_verify_of_an_unreachable_store_exits_3_could_not_verify(tmp_path: Path) -> None:
    """1 means tampered: a store that cannot be read says nothing about the chain, and a script must be
    able to tell the two apart."""
    runbook = _write(tmp_path, 'dsn = "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2"')
    r = cockpit("log", "verify", "--config", str(runbook))
    assert r.returncode == 3, r.stdout + r.stderr
    assert "unreachable" in r.stderr and "could not verify" in r.stderr and "Traceback" not in r.stderr
    j = cockpit("log", "verify", "--config", str(runbook), "--json")
    assert j.returncode == 3 and json.loads(j.stdout)["ok"] is None and "unreachable" in json.loads(j.stdout)["error"]
    h = cockpit("log", "verify", "--help")
    assert h.returncode == 0 and "3" in h.stdout and "could not verify" in " ".join(h.stdout.split())
    bad = _write(tmp_path, 'dsn = "postgresql://[bad"')
    r = cockpit("log", "verify", "--config", str(bad))
    assert r.returncode == 2 and "not a valid PostgreSQL DSN" in r.stderr
