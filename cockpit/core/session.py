"""A release session: one environment's current release, and the actions a release owner takes.

Every action appends an entry to the log and folds it into the state, so the CLI, the TUI and
a resumed cockpit all see the same release. The methods are async: log appends run in a thread
(a shared store may be slow or away), evidence and flags are concurrent I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from cockpit import __version__
from cockpit.core import gitrepo, kinds
from cockpit.core.checks import take_all
from cockpit.core.checks.context import CheckContext, Target
from cockpit.core.evidence import Evidence, utcnow
from cockpit.core.gate import SignOff, Verdict, evaluate
from cockpit.core.log.base import LogFilter, ReleaseLog
from cockpit.core.log.entry import Actor, Entry, NewEntry
from cockpit.core.refusal import ActionRefused
from cockpit.core.release import Phase, ReleaseState, StageStatus, fold

if TYPE_CHECKING:
    from cockpit.runbook.config import Runbook


def find_current(log: ReleaseLog, environment: str) -> ReleaseState | None:
    """The environment's most recently opened release, folded from its entries."""
    opened = log.page(LogFilter(environment=environment, kind=kinds.SESSION_OPENED), limit=1, newest_first=True)
    if not opened:
        return None
    rid = opened[0].release_id
    return fold(rid, environment, log.entries(LogFilter(release_id=rid)))


def _new_release_id(log: ReleaseLog, runbook: Runbook, environment: str, target: Target) -> str:
    base = f"{runbook.release.name}-{environment}-{target.short}"
    rid, n = base, 1
    while log.count(LogFilter(release_id=rid)) > 0:  # that release is over: this is another attempt
        n += 1
        rid = f"{base}.{n}"
    return rid


@dataclass
class ReleaseSession:
    runbook: Runbook
    log: ReleaseLog
    environment: str
    state: ReleaseState
    actor: Actor
    target_on_main: bool | None = None
    main_problem: str | None = None
    """Why target_on_main could not be decided (e.g. [release] main does not exist here)."""
    clock: Callable[[], datetime] = utcnow

    # -- opening -------------------------------------------------------------------
    @classmethod
    async def open(cls, runbook: Runbook, log: ReleaseLog, environment: str, actor: Actor,
                   ref: str | None = None, *, clock: Callable[[], datetime] = utcnow) -> ReleaseSession:
        """Resume the environment's release, or open a new one for `ref` (default: [release] main).

        A release that is GO, in cutover or rolling back is resumed whatever main points at now;
        asking for another target while one is in flight is refused.
        """
        current = await asyncio.to_thread(find_current, log, environment)
        in_flight = current is not None and current.phase in (Phase.GO, Phase.CUTOVER, Phase.ROLLING_BACK,
                                                              Phase.ROLLBACK_FAILED)
        if in_flight and ref is None:
            target = current.target  # type: ignore[union-attr]
        else:
            target = await asyncio.to_thread(gitrepo.resolve_target, runbook, ref)
            if in_flight and current.target and current.target.sha != target.sha:  # type: ignore[union-attr]
                raise ActionRefused(
                    f"{environment} has release {current.release_id} in phase '{current.phase}' "  # type: ignore[union-attr]
                    f"(target {current.target.short}); finish it or roll it back before releasing {target.short}"  # type: ignore[union-attr]
                )
        assert target is not None
        if current is not None and current.target and current.target.sha == target.sha and not current.phase.finished:
            state = current
        else:
            rid = await asyncio.to_thread(_new_release_id, log, runbook, environment, target)
            state = ReleaseState(release_id=rid, environment=environment)
        on_main, main_problem = None, None
        try:
            on_main = await asyncio.to_thread(gitrepo.is_ancestor, runbook.repo_path, target.sha, runbook.release.main)
        except gitrepo.GitRefError as e:  # e.g. no origin/main fetched here: say so in the verdict
            main_problem = str(e)
        session = cls(runbook=runbook, log=log, environment=environment, state=state, actor=actor,
                      target_on_main=on_main, main_problem=main_problem, clock=clock)
        await session.record(kinds.SESSION_OPENED, {
            "target": {"ref": target.ref, "sha": target.sha},
            "runbook": runbook.release.name,
            "cockpit": __version__,
            "resumed": state.opened_at is not None,
        })
        return session

    @property
    def target(self) -> Target:
        assert self.state.target is not None
        return self.state.target

    @property
    def release_id(self) -> str:
        return self.state.release_id

    # -- the log ---------------------------------------------------------------------
    async def record(self, kind: str, payload: dict[str, Any]) -> Entry:
        new = NewEntry(release_id=self.release_id, environment=self.environment, kind=kind,
                       payload=payload, actor=self.actor, at=self.clock())
        entry = await asyncio.to_thread(self.log.append, new)
        self.state.apply(entry)
        return entry

    async def refresh(self) -> ReleaseState:
        """Fold in entries appended by others (another cockpit, the flag module) since we last looked."""
        def read() -> list[Entry]:
            return list(self.log.entries(LogFilter(release_id=self.release_id)))
        entries = await asyncio.to_thread(read)
        seen = self.state.evidence
        self.state = fold(self.release_id, self.environment, entries)
        # Re-takes that changed nothing were not logged: keep what this cockpit saw more recently.
        for check_id, ev in seen.items():
            logged = self.state.evidence.get(check_id)
            if logged is None or ev.taken_at > logged.taken_at:
                self.state.evidence[check_id] = ev
        return self.state

    # -- evidence ----------------------------------------------------------------------
    def context(self, stage: str | None = None) -> CheckContext:
        return CheckContext(runbook=self.runbook, environment=self.environment, target=self.target,
                            rollback_ref=self.state.signoff.rollback_ref if self.state.signoff else None,
                            ticks=dict(self.state.ticks), stage=stage)

    async def take_evidence(self, check_ids: Sequence[str] | None = None, *,
                            on_result: Callable[[Evidence], None] | None = None,
                            record: bool | Literal["changed"] = True) -> list[Evidence]:
        """Take evidence now. record=True logs all of it; "changed" (the periodic refresh) logs only
        what changed status since it was last seen, so the log shows when health turned without a
        flood of identical entries; False logs nothing."""
        checks = [c for c in self.runbook.checks if check_ids is None or c.id in check_ids]
        evidence = await take_all(checks, self.context(), on_result=on_result)
        if record == "changed":
            to_log = [e for e in evidence if self._status_changed(e)]
        else:
            to_log = evidence if record else []
        if to_log:
            payload: dict[str, Any] = {"evidence": [e.to_json() for e in to_log]}
            if record == "changed":
                payload["refresh"] = True  # a periodic re-take: only the items whose status changed
            await self.record(kinds.EVIDENCE_TAKEN, payload)
        for e in evidence:
            self.state.evidence[e.check_id] = e
        return evidence

    def _status_changed(self, e: Evidence) -> bool:
        before = self.state.evidence.get(e.check_id)
        return before is None or before.status is not e.status

    def verdict(self, *, require_signoff: bool = False, stage: str | None = None) -> Verdict:
        return evaluate(
            self.runbook, self.state.evidence, now=self.clock(), environment=self.environment,
            target_on_main=self.target_on_main, main_problem=self.main_problem,
            signoff=self.state.signoff, require_signoff=require_signoff,
            stage=stage, stable_stages=self.state.stages_with(StageStatus.STABLE),
            started_stages=self.state.started_stages,
        )

    # -- people ------------------------------------------------------------------------
    async def tick(self, check_id: str, note: str) -> Entry:
        check = self.runbook.check(check_id)
        if check.kind != "manual":
            raise ActionRefused(f"'{check_id}' is taken by the cockpit, not ticked by hand")
        if not note.strip():
            raise ActionRefused("a tick needs a note: what was checked, where the proof is")
        return await self.record(kinds.ITEM_TICKED, {"check_id": check_id, "note": note.strip()})

    def validate_rollback_ref(self, rollback_ref: str) -> list[str]:
        return gitrepo.validate_rollback_ref(self.runbook.repo_path, rollback_ref, self.target.sha)

    async def sign_off(self, release_owner: str, rollback_owner: str, rollback_ref: str) -> SignOff:
        if self.state.phase not in (Phase.PREPARING, Phase.NO_GO):
            raise ActionRefused(f"sign-off is recorded before GO; this release is '{self.state.phase}'")
        ref = rollback_ref.strip()
        problems = await asyncio.to_thread(self.validate_rollback_ref, ref) if ref else []
        sha = ""
        if ref and not problems:
            sha = await asyncio.to_thread(gitrepo.resolve, self.runbook.repo_path, ref)
        await self.record(kinds.SIGNOFF_RECORDED, {
            "release_owner": release_owner.strip(), "rollback_owner": rollback_owner.strip(),
            "rollback_ref": ref, "rollback_sha": sha, "problems": problems,
        })
        assert self.state.signoff is not None
        return self.state.signoff

    async def decide_nogo(self, reason: str) -> Entry:
        if not reason.strip():
            raise ActionRefused("a NO-GO needs a reason")
        return await self.record(kinds.DECISION_NOGO, {"reason": reason.strip(),
                                                        "reasons": self.verdict(require_signoff=True).reasons})

    def decide_go_check(self, confirmation: str) -> None:
        """Raise ActionRefused unless GO may be recorded now with this confirmation."""
        if self.state.phase not in (Phase.PREPARING, Phase.NO_GO):
            raise ActionRefused(f"this release is already '{self.state.phase}'")
        verdict = self.verdict(require_signoff=True)
        if not verdict.go:
            raise ActionRefused("the gate says NO-GO: " + "; ".join(verdict.reasons))
        if confirmation.strip().lower() not in (self.target.short, self.target.sha):
            raise ActionRefused(f"type the target's short SHA ({self.target.short}) to confirm GO")

    async def decide_go(self, confirmation: str) -> Entry:
        """GO only when the gate says GO with the sign-off, confirmed by typing the short target SHA."""
        self.decide_go_check(confirmation)
        verdict = self.verdict(require_signoff=True)
        return await self.record(kinds.DECISION_GO, {
            "target_sha": self.target.sha,
            "confirmation": confirmation.strip(),
            "evidence": {k: v.status.value for k, v in self.state.evidence.items()},
            "warnings": verdict.warnings,
        })

    async def note(self, text: str) -> Entry:
        return await self.record(kinds.NOTE, {"text": text})

