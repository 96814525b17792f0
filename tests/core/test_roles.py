"""Roles: the runbook names the roles a release needs (default: seed 003's Release Owner and Rollback Owner,
who may be one person), which must be held by different people, and each sign-off is recorded with the
signer's identity. An older runbook, and an older cockpit's entries, behave as before."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cockpit.core import kinds
from cockpit.core.evidence import Evidence, Status
from cockpit.core.gate import SignOff, evaluate
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Actor, NewEntry
from cockpit.core.log.open import open_log
from cockpit.core.log.sqlite import SqliteLog
from cockpit.core.refusal import ActionRefused
from cockpit.core.release import fold
from cockpit.core.session import ReleaseSession
from cockpit.runbook.config import ConfigError, Runbook, load_runbook, parse_runbook
from tests.helpers.demo import Demo, demo

__all__ = ["demo"]

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ANN = Actor("Ann", "ann", "laptop", "ann@example.com")
COMMS = "Incident Comms Owner"
BASE = '[log]\npath = "x.sqlite"\n[environments.prod]\n[[checks]]\nid = "health"\nkind = "http"\nurl = "http://x"\n'
ROLES = ('roles = ["Release Owner", "Rollback Owner", "Incident Comms Owner"]\n'
         'distinct_roles = [["Release Owner", "Incident Comms Owner"]]\n')
THREE = '[release]\nname = "shop"\n' + ROLES
PASS = {"health": Evidence(check_id="health", kind="http", status=Status.PASS, detail="200", taken_at=NOW)}


def runbook(release: str = '[release]\nname = "shop"\n') -> Runbook:
    return parse_runbook(release + BASE)


def reasons(rb: Runbook, signoff: SignOff | None) -> list[str]:
    return evaluate(rb, PASS, now=NOW, environment="prod", target_on_main=True, signoff=signoff,
                    require_signoff=True).reasons


def test_an_old_runbook_needs_the_two_owners_who_may_be_one_person() -> None:
    rb = runbook()
    assert rb.release.roles == ["Release Owner", "Rollback Owner"] and rb.release.distinct_roles == []
    assert reasons(rb, None) == [
        "no owner sign-off: the Release Owner, the Rollback Owner and the rollback ref must be recorded"]
    assert reasons(rb, SignOff("Ann", "Ann", "v1.0.0")) == []  # seed 003: the Rollback Owner may be the Release Owner


def test_every_role_is_required_and_a_distinct_group_needs_different_people() -> None:
    rb = runbook(THREE)
    assert reasons(rb, None) == ["no owner sign-off: the Release Owner, the Rollback Owner, the Incident Comms Owner "
                                 "and the rollback ref must be recorded"]
    assert reasons(rb, SignOff("Ann", "Ann", "v1.0.0")) == ["no Incident Comms Owner is named"]
    same = SignOff("Ann", "Ann", "v1.0.0", roles={COMMS: "  ann "})
    assert reasons(rb, same) == ["the Release Owner and the Incident Comms Owner must be different people: both are Ann"]
    assert reasons(rb, SignOff("Ann", "Ann", "v1.0.0", roles={COMMS: "Carol"})) == []
    blank = SignOff("", "Bob", "", roles={COMMS: ""})
    assert reasons(rb, blank) == ["no Release Owner is named", "no Incident Comms Owner is named",
                                  "no rollback ref was fixed before rollout"]


@pytest.mark.parametrize("release, message", [
    ('roles = ["Release Owner", "Incident Comms Owner"]', "roles must include 'Rollback Owner'"),
    ('roles = ["Release Owner", "Rollback Owner", "rollback  owner"]', "'rollback  owner' is named twice"),
    ('roles = ["Release Owner", "Rollback Owner", "Comms=Carol"]', "'Comms=Carol' is not a role's name"),
    ('roles = ["Release Owner", "Rollback Owner", " Comms"]', "' Comms' is not a role's name"),
    ('distinct_roles = [["Release Owner", "Incident Comms Owner"]]',
     "distinct_roles[0] names 'Incident Comms Owner', not in roles (Release Owner, Rollback Owner)"),
    ('distinct_roles = [["Release Owner"]]', "distinct_roles[0]: a group names at least two different roles"),
])
def test_roles_that_cannot_be_signed_are_refused_with_key_and_line(release: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        runbook(f'[release]\nname = "shop"\n{release}\n')
    assert message in str(e.value) and "line 3: release." in str(e.value), str(e.value)


def test_an_older_cockpits_signoff_entry_folds_as_before(tmp_path: Path) -> None:
    log = SqliteLog(tmp_path / "log.sqlite")
    old = log.append(NewEntry("shop-prod-abc", "prod", kinds.SIGNOFF_RECORDED,
                              {"release_owner": "Ann", "rollback_owner": "Bob", "rollback_ref": "v1", "rollback_sha": "s"},
                              ANN))
    s = fold("shop-prod-abc", "prod", [old]).signoff
    assert s is not None and dict(s.roles) == {"Release Owner": "Ann", "Rollback Owner": "Bob"}
    assert s.signed_by == ANN and s.named(COMMS) == ""
    # The owners' own keys win over a roles map that disagrees (they are what every cockpit reads).
    new = log.append(NewEntry("shop-prod-abc", "prod", kinds.SIGNOFF_RECORDED,
                              {"release_owner": "Ann", "rollback_owner": "Bob", "rollback_ref": "v1",
                               "roles": {"Release Owner": "Mallory", COMMS: "Carol", "x": 3}}, Actor("Bob", "bob", "desk")))
    s = fold("shop-prod-abc", "prod", [old, new]).signoff
    assert s is not None and dict(s.roles) == {"Release Owner": "Ann", "Rollback Owner": "Bob", COMMS: "Carol"}
    assert s.signed_by is not None and s.signed_by.name == "Bob"
    log.close()


def with_roles(demo: Demo) -> Runbook:
    text = demo.scratch.runbook_path.read_text(encoding="utf-8")
    path = demo.scratch.checkout / "roles.toml"
    path.write_text(text.replace("[release]\n", "[release]\n" + ROLES, 1), encoding="utf-8")
    return load_runbook(path)


def test_a_signoff_records_every_role_with_the_signers_identity_and_gates_go(demo: Demo) -> None:
    rb = with_roles(demo)
    assert rb.release.roles[2] == COMMS
    log = open_log(rb)

    async def run() -> None:
        session = await ReleaseSession.open(rb, log, "production", ANN)
        before = log.count()
        with pytest.raises(ActionRefused, match="'Press Officer' is not a role of this runbook"):
            await session.sign_off("Ann", "Bob", "v1.0.0", {"Press Officer": "Pat"})
        with pytest.raises(ActionRefused, match="the Release Owner is named twice, as 'Ann' and as 'Zed'"):
            await session.sign_off("Ann", "Bob", "v1.0.0", {"Release Owner": "Zed"})
        assert log.count() == before  # refused before anything was recorded

        await session.sign_off("Ann", "Bob", "v1.0.0")
        await session.tick("overlap-tested", "tested on staging")
        await session.take_evidence()
        assert session.verdict(require_signoff=True).reasons == ["no Incident Comms Owner is named"]
        await session.sign_off("Ann", "Bob", "v1.0.0", {COMMS: "ann"})
        assert session.verdict(require_signoff=True).reasons == [
            "the Release Owner and the Incident Comms Owner must be different people: both are Ann"]
        with pytest.raises(ActionRefused, match="Incident Comms Owner must be different people"):
            await session.go(session.target.short)

        signoff = await session.sign_off("Ann", "Bob", "v1.0.0", {COMMS: "Carol"})
        assert signoff.named(COMMS) == "Carol" and signoff.signed_by == ANN
        assert (await session.go(session.target.short)).ok
        session.close()

    asyncio.run(run())
    entries = list(log.entries(LogFilter(kind=kinds.SIGNOFF_RECORDED)))
    assert [e.payload["roles"] for e in entries] == [
        {"Release Owner": "Ann", "Rollback Owner": "Bob", COMMS: ""},
        {"Release Owner": "Ann", "Rollback Owner": "Bob", COMMS: "ann"},
        {"Release Owner": "Ann", "Rollback Owner": "Bob", COMMS: "Carol"},
    ]
    assert all(e.payload["release_owner"] == "Ann" and e.payload["rollback_owner"] == "Bob" for e in entries)
    assert {e.actor for e in entries} == {ANN}
    log.close()
