"""Entry kinds of the release log (ARCHITECTURE §6, a contract) and the payload each carries."""

SESSION_OPENED = "session.opened"      # {target: {ref, sha}, runbook, cockpit}
EVIDENCE_TAKEN = "evidence.taken"      # {evidence: [Evidence.to_json()...], stage}
ITEM_TICKED = "item.ticked"            # {check_id, note}
SIGNOFF_RECORDED = "signoff.recorded"  # {release_owner, rollback_owner, rollback_ref, rollback_sha}
DECISION_GO = "decision.go"            # {target_sha, confirmation, evidence: {id: status}, warnings}
DECISION_NOGO = "decision.nogo"        # {reason, reasons}
GO_REFUSED = "go.refused"              # {reasons}  (GO confirmed, but the lock, snapshot or tag could not be had)
FLAGS_SNAPSHOT = "flags.snapshot"      # {flags: {name: bool | null}}  (taken at GO)
FLAG_FLIPPED = "flag.flipped"          # {flag, before, after, requested, backend, reason, ok, error, stage, break_glass}
TAG_CREATED = "tag.created"            # {tag, sha}
TAG_PUSHED = "tag.pushed"              # {tag, remote, ok, error}
STAGE_STARTED = "stage.started"        # {stage, flags}
STAGE_STABLE = "stage.stable"          # {stage, note}
STAGE_KILLED = "stage.killed"          # {stage, flags, outcome}
DEPLOY_STARTED = "deploy.started"      # {ref, command}
DEPLOY_FINISHED = "deploy.finished"    # {ref, exit_code, ok}
ROLLBACK_STARTED = "rollback.started"  # {rollback_ref, plan, scope}
ROLLBACK_STEP = "rollback.step"        # {step, outcome: done|failed|skipped, detail, ...}
ROLLBACK_FINISHED = "rollback.finished"  # {outcome, elapsed_s, note}
RELEASE_DONE = "release.done"          # {note}
LOCK_TAKEN = "lock.taken"              # {lease_s, taken_at, expires_at}  (cockpit.core.log.lock)
LOCK_RENEWED = "lock.renewed"          # {lease_s, expires_at, taken_at}
LOCK_RELEASED = "lock.released"        # {forced, reason?, previous_holder?}
NOTE = "note"                          # {text}
