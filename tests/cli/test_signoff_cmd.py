"""`cockpit signoff`: the rollback ref is checked against git; GO only when the gate says GO."""

from __future__ import annotations

import json

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


def runbook_with(cli: Cli, name: str, after_line: str, lines: str) -> str:
    """The demo runbook with `lines` added after `after_line`, written beside it (validated as any runbook)."""
    text = cli.scratch.runbook_path.read_text(encoding="utf-8")
    assert text.count(after_line) == 1
    path = cli.scratch.checkout / name
    path.write_text(text.replace(after_line, after_line + lines), encoding="utf-8")
    return str(path)


ROLES = ('roles = ["Release Owner", "Rollback Owner", "Incident Comms Owner"]\n'
         'distinct_roles = [["Release Owner", "Incident Comms Owner"]]\n')


def test_roles_are_named_with_role_and_required_for_go(cli: Cli) -> None:
    config = runbook_with(cli, "roles.toml", "[release]\n", ROLES)
    base = ["signoff", "--config", config, "--release-owner", "Ann", "--rollback-owner", "Ann",
            "--rollback-ref", "v1.0.0"]
    code, data = cli.json(*base)
    assert code == 0 and data["signoff"]["roles"] == {"Release Owner": "Ann", "Rollback Owner": "Ann",
                                                      "Incident Comms Owner": ""}
    assert "no Incident Comms Owner is named" in data["gate"]["reasons"]
    r = cli.run(*base, "--role", "Incident Comms Owner=ann", "--decision", "go")
    assert r.returncode == 1 and "must be different people: both are Ann" in r.stderr

    code, data = cli.json(*base, "--role", "Incident Comms Owner=Carol", "--decision", "go")
    assert code == 0 and data["recorded"] == "GO", data
    assert data["signoff"]["roles"]["Incident Comms Owner"] == "Carol"
    assert data["signoff"]["signed_by"]["name"] == "ci-bot"  # who recorded it, beside the names given
    r = cli.run("log", "export", "--config", config, "--format", "jsonl")
    signoffs = [e for e in map(json.loads, r.stdout.splitlines()) if e["kind"] == "signoff.recorded"]
    assert [e["payload"]["roles"]["Incident Comms Owner"] for e in signoffs] == ["", "ann", "Carol"]
    assert {e["actor"]["name"] for e in signoffs} == {"ci-bot"}


def test_a_role_the_runbook_does_not_name_is_a_usage_error_and_nothing_is_recorded(cli: Cli) -> None:
    config = runbook_with(cli, "roles.toml", "[release]\n", ROLES)
    base = ["signoff", "--config", config, "--release-owner", "Ann", "--rollback-owner", "Bob",
            "--rollback-ref", "v1.0.0"]
    for role, said in [("Press Officer=Pat", "'Press Officer' is not a role of this runbook"),
                       ("Carol", "write it ROLE=NAME"),
                       ("Release Owner=Zed", "the Release Owner is named twice, as 'Ann' and as 'Zed'")]:
        r = cli.run(*base, "--role", role)
        assert r.returncode == 2 and said in r.stderr, r.stderr
    r = cli.run("log", "export", "--config", config, "--format", "jsonl")
    assert "signoff.recorded" not in r.stdout and "session.opened" not in r.stdout


def test_check_and_go_refuse_a_target_that_has_not_passed_staging(cli: Cli) -> None:
    config = runbook_with(cli, "promote.toml", "[environments.production]\n",
                          'promote_from = "staging"\npromote_within = "7d"\n')
    short = cli.scratch.shas["head"][:7]
    said = (f"target {short} has not passed staging: no closed, stable release of it there in the last 7d; "
            "staging has had no release yet")
    r = cli.run("check", "--config", config, "--json")
    assert r.returncode == 1 and said in r.stdout
    r = cli.run("signoff", "--config", config, "--release-owner", "Ann", "--rollback-owner", "Bob",
                "--rollback-ref", "v1.0.0", "--decision", "go")
    assert r.returncode == 1 and "GO refused" in r.stderr and said in r.stderr
