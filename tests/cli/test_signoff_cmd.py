"""`cockpit signoff`: the rollback ref is checked against git; GO only when the gate says GO."""

from __future__ import annotations

from tests.cli.conftest import Cli


def signoff(cli: Cli, *extra: str) -> tuple[int, dict]:
    return cli.json("signoff", "--config", cli.config, "--release-owner", "Ann", "--rollback-owner", "Bob", *extra)


def test_go_is_recorded_when_gate_is_go(cli: Cli) -> None:
    code, data = signoff(cli, "--rollback-ref", "v1.0.0", "--decision", "go")
    assert code == 0, data
    assert data["signoff"]["rollback_sha"] == cli.scratch.shas["known_good"]
    assert data["gate"]["decision"] == "GO" and data["recorded"] == "GO"
    code, status = cli.json("check", "--config", cli.config)
    assert status["release_id"] == data["release_id"]  # the same release, now GO


def test_go_is_refused_when_the_gate_says_no_go(cli: Cli) -> None:
    cli.target.set_health("api", status_code=500)
    r = cli.run("signoff", "--config", cli.config, "--release-owner", "Ann", "--rollback-owner", "Bob",
                "--rollback-ref", "v1.0.0", "--decision", "go")
    assert r.returncode == 1
    assert "GO refused" in r.stderr and "500" in r.stderr


def test_invalid_rollback_refs_are_named(cli: Cli) -> None:
    code, data = signoff(cli, "--rollback-ref", "does-not-exist")
    assert code == 1 and "does not exist" in data["signoff"]["problems"][0]
    code, data = signoff(cli, "--rollback-ref", cli.scratch.shas["head"])
    assert code == 1 and "is the target itself" in data["signoff"]["problems"][0]
    code, data = signoff(cli, "--rollback-ref", cli.scratch.shas["feature"])
    assert code == 1 and "not an ancestor" in data["signoff"]["problems"][0]
    assert data["gate"]["decision"] == "NO-GO"


def test_nogo_needs_a_reason_and_is_recorded(cli: Cli) -> None:
    r = cli.run("signoff", "--config", cli.config, "--release-owner", "A", "--rollback-owner", "B",
                "--rollback-ref", "v1.0.0", "--decision", "nogo")
    assert r.returncode == 2 and "--reason" in r.stderr
    code, data = signoff(cli, "--rollback-ref", "v1.0.0", "--decision", "nogo", "--reason", "smoke flaky")
    assert code == 0 and data["recorded"] == "NO-GO"
