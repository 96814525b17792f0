"""`cockpit check` against the demo target: GO when all is well, NO-GO with the right reasons."""

from __future__ import annotations

from cockpit.runbook.config import load_runbook
from cockpit.core.log.open import open_log
from tests.cli.conftest import Cli


def reasons(data: dict) -> str:
    return "\n".join(data["reasons"])


def test_go_when_all_is_well_and_evidence_is_recorded(cli: Cli) -> None:
    code, data = cli.json("check", "--config", cli.config)
    assert code == 0, data["reasons"]
    assert data["decision"] == "GO" and data["reasons"] == []
    assert data["target"]["sha"] == cli.scratch.shas["head"] and data["target"]["on_main"] is True
    by_id = {c["id"]: c for c in data["checks"]}
    assert by_id["health-api"]["status"] == "pass" and by_id["health-api"]["duration_ms"] > 0
    assert set(by_id) == {c.id for c in load_runbook(cli.config).checks}
    log = open_log(load_runbook(cli.config))
    try:
        kinds = [e.kind for e in log.entries()]
        assert kinds[:2] == ["session.opened", "evidence.taken"]
        taken = [e for e in log.entries() if e.kind == "evidence.taken"][0]
        assert {d["id"] for d in taken.payload["evidence"]} == set(by_id)
        assert log.verify().ok
    finally:
        log.close()


def test_one_failing_endpoint_is_a_named_reason(cli: Cli) -> None:
    cli.target.set_health("db", status_code=503, body="[red]down[/red]\x1b[2J")
    code, data = cli.json("check", "--config", cli.config)
    assert code == 1 and data["decision"] == "NO-GO"
    assert len(data["reasons"]) == 1
    assert "Database health" in reasons(data) and "503" in reasons(data)


def test_one_failing_smoke_key_is_a_named_reason(cli: Cli) -> None:
    cli.scratch.set_smoke("smoke_realtime", "FAIL")
    code, data = cli.json("check", "--config", cli.config)
    assert code == 1
    assert any("smoke_realtime" in r and "FAIL" in r for r in data["reasons"]), data["reasons"]


def test_target_not_on_main_is_a_no_go(cli: Cli) -> None:
    code, data = cli.json("check", "--config", cli.config, "--ref", "origin/feature/web-header-profile-menu")
    assert code == 1
    assert any("not on origin/main" in r for r in data["reasons"]), data["reasons"]
    assert data["target"]["sha"] == cli.scratch.shas["feature"]


def test_human_output_names_reasons_and_escapes_remote_text(cli: Cli) -> None:
    cli.target.set_health("db", status_code=503, body="oops")
    r = cli.run("check", "--config", cli.config)
    assert r.returncode == 1
    assert "NO-GO — 1 reason:" in r.stdout and "Database health" in r.stdout
    assert "\x1b" not in r.stdout  # nothing the server sent can drive the terminal


def test_usage_and_config_errors_exit_2(cli: Cli, tmp_path) -> None:  # noqa: ANN001
    assert cli.run("check").returncode == 2
    r = cli.run("check", "--config", cli.config, "--env", "nope")
    assert r.returncode == 2 and "unknown environment 'nope'" in r.stderr
    r = cli.run("check", "--config", cli.config, "--ref", "no-such-ref")
    assert r.returncode == 2 and "no-such-ref" in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[release]\nname = "x"\n[log]\npath = "l"\n[environments.p]\nurl = "http://x"\n[[checks]]\nid = "a"\nkind = "htp"\n')
    r = cli.run("check", "--config", str(bad))
    assert r.returncode == 2 and "line 9: checks[0].kind: unknown kind 'htp'" in r.stderr


def test_a_checkout_without_the_main_ref_is_a_named_no_go_not_a_crash(cli: Cli) -> None:
    cli.scratch.git("update-ref", "-d", "refs/remotes/origin/main")  # as if origin/main was never fetched
    code, data = cli.json("check", "--config", cli.config, "--ref", "main")
    assert code == 1 and data["target"]["on_main"] is None
    assert any("cannot tell whether the target is on origin/main" in r for r in data["reasons"]), data["reasons"]
