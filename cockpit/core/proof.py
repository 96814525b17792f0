"""Proof for an auditor, as methods of the release (mixed into ReleaseSession): decisions signed with the
person's SSH key as they are recorded, and the log's head witnessed in git at GO, a stage's end and the close.

Both hook into the release's one writer (ReleaseSession.record), so no path of the TUI or of a headless
command can record a decision without it. Signing needs a [signing] table in the runbook; where it
requires signatures, a decision without a key is refused before anything is done (a break-glass flip
that turns a flag on: before the flip) — except what must never wait for a key: a NO-GO, and a flag
turned off (the kill switch in an incident). Those are recorded marked unsigned with the reason, and
`log verify` names them.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

from cockpit.core.log.chain import prepare
from cockpit.core.log.entry import Entry, NewEntry
from cockpit.core.log.signatures import is_decision, sign, unsigned
from cockpit.core.log.witness import WITNESSED
from cockpit.core.refusal import ActionRefused
from cockpit.core.sshsig import Signer, SigningError, find_signer
from cockpit.core import kinds

if TYPE_CHECKING:
    from cockpit.core.session import ReleaseSession


NEVER_REFUSED = (kinds.FLAG_FLIPPED, kinds.DECISION_NOGO)
"""Recorded unsigned (with the reason) rather than refused when there is no key: a flip's entry records what
already happened, and a NO-GO stops a release — refusing either would hide or block the safe thing."""


class ProofActions:
    """`self` is the ReleaseSession (a dataclass: the cached signer lives in its __dict__)."""

    # -- signing ---------------------------------------------------------------------------------
    def signer(self: ReleaseSession) -> Signer:
        """The key this person signs with (found once per session); SigningError says why there is none."""
        cached = self.__dict__.get("_proof_signer")
        if cached is None:
            cfg = self.runbook.signing
            if cfg is None:
                raise SigningError("the runbook has no [signing] table")
            cached = self.__dict__["_proof_signer"] = find_signer(cfg.key, self.runbook.base_dir)
        return cached

    @property
    def signatures_required(self: ReleaseSession) -> bool:
        cfg = self.runbook.signing
        return cfg is not None and cfg.requires(self.environment)

    def signing_status(self: ReleaseSession) -> str:
        """What people are told about signing: "signed with <fingerprint> (…)", "unsigned: …", or "" when the
        runbook signs nothing. Blocking (it may ask ssh-agent): call it from a thread."""
        if self.runbook.signing is None:
            return ""
        try:
            return f"signed with {self.signer().describe()}"
        except SigningError as e:
            need = " — REQUIRED here: decisions are refused" if self.signatures_required else ""
            return f"unsigned: {e}{need}"

    def signing_refusal(self: ReleaseSession) -> str | None:
        """Why a decision cannot be recorded here (signatures required, no key), or None. Blocking."""
        if not self.signatures_required:
            return None
        try:
            self.signer()
        except SigningError as e:
            return (f"signatures are required in {self.environment} ([signing] required) and there is no key to "
                    f"sign with: {e}. Start ssh-agent and ssh-add your key, or name one in [signing] key or "
                    "COCKPIT_SIGNING_KEY")
        return None

    def _signed(self: ReleaseSession, new: NewEntry) -> NewEntry:
        """`new` signed when it is a decision and the runbook signs (in the append's thread: ssh-keygen runs)."""
        if self.runbook.signing is None or not is_decision(new.kind, new.payload):
            return new
        ready = prepare(new)  # what the store will hash is what is signed
        if new.kind not in NEVER_REFUSED and (refusal := self.signing_refusal()):
            raise ActionRefused(f"not recorded: {refusal}")
        try:
            return sign(ready, self.signer())
        except SigningError as e:
            if self.signatures_required and new.kind not in NEVER_REFUSED:
                raise ActionRefused(f"not recorded: signatures are required in {self.environment} and signing "
                                    f"failed: {e}") from None
            return unsigned(ready, str(e))

    # -- witnesses ---------------------------------------------------------------------------------
    async def _witness(self: ReleaseSession, entry: Entry) -> None:
        """Write the head `entry` into the release's git repository when it is a moment worth witnessing, and
        push it to the remote in a thread of its own: a slow or failing remote never holds up the cutover,
        and a command's process still waits for the push before it exits (the thread is not a daemon).
        Never fails the action: what went wrong is kept in witness_problem for people to see."""
        if entry.kind not in WITNESSED or entry.seq <= 0:  # seq 0: spooled, no head yet
            return
        from cockpit.core import git_witness  # startup: only GO, a stage's end and the close write witnesses

        repo, remote = self.runbook.repo_path, self.runbook.release.remote
        try:
            await asyncio.to_thread(git_witness.write, repo, entry)
        except git_witness.WitnessError as e:
            self.__dict__["witness_problem"] = f"head {entry.seq} not witnessed in git: {e}"
            return
        if not remote:
            self.__dict__["witness_problem"] = ""
            return

        def push() -> None:
            try:
                git_witness.push(repo, remote)
                self.__dict__["witness_problem"] = ""
            except git_witness.WitnessError as e:
                self.__dict__["witness_problem"] = f"head {entry.seq} witnessed in git but not pushed: {e}"

        thread = threading.Thread(target=push, name=f"cockpit-witness-{entry.seq}")
        self.__dict__.setdefault("_witness_pushes", []).append(thread)
        thread.start()

    def wait_for_witnesses(self: ReleaseSession, timeout: float | None = None) -> None:
        """Block until the witnesses' pushes are done (tests; a command exits after them anyway)."""
        for thread in self.__dict__.get("_witness_pushes", []):
            thread.join(timeout)

    @property
    def witness_problem(self: ReleaseSession) -> str:
        return self.__dict__.get("witness_problem", "")
