"""Live across terminals: an app showing a release follows the shared log and folds in, within a
second, what other cockpits and commands append — with who did it.

A thread waits on the log's follower (LISTEN/NOTIFY on PostgreSQL, a data_version probe on SQLite);
each wake-up runs one catch-up on the event loop (ReleaseSession.catch_up reads only the entries
after the last one read). The app says what changed through `release_changed`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.worker import get_current_worker

from cockpit.core import kinds

if TYPE_CHECKING:
    from cockpit.core.log.entry import Entry
    from cockpit.core.session import ReleaseSession

FOLLOW_TIMEOUT = 0.5
"""How long a follower waits at a time: also how soon the thread notices the app is closing."""

TOLD = (kinds.ITEM_TICKED, kinds.SIGNOFF_RECORDED, kinds.DECISION_GO, kinds.DECISION_NOGO, kinds.GO_REFUSED,
        kinds.FLAG_FLIPPED, kinds.STAGE_STARTED, kinds.STAGE_STABLE, kinds.STAGE_KILLED, kinds.ROLLBACK_STARTED,
        kinds.ROLLBACK_FINISHED, kinds.RELEASE_DONE, kinds.LOCK_TAKEN, kinds.LOCK_RELEASED, kinds.NOTE,
        kinds.STEP_FINISHED, kinds.STAGE_ABORTED, kinds.GUARDRAIL_BREACHED, kinds.GUARDRAIL_ACTED)
"""What another terminal did that is said in a notification (evidence re-takes only update the screen)."""


def told(entries: list[Entry]) -> list[str]:
    """One line per entry worth a notification: who did what."""
    from cockpit.core.story import summary  # startup: loaded when another terminal first acts

    return [f"{e.actor.name}: {summary(e, 160, words=True)}" for e in entries if e.kind in TOLD]


class LiveRelease:
    """Mixed into an App (before App) that shows `live_session()`'s release."""

    def live_session(self) -> ReleaseSession | None:
        raise NotImplementedError

    def release_changed(self, news: list[Entry]) -> None:
        """Called on the event loop after entries from elsewhere were folded in."""

    def follow_log(self, log: Any, runbook: Any = None) -> None:
        """Start following `log` (once the release is open). With the runbook's [[notify]] targets, what
        is appended — here or by another terminal — is also posted to the team's channel as it comes
        (each message once, whoever delivers it: the store's outbox)."""
        notifier = None
        if runbook is not None and runbook.notify:
            from cockpit.core.log.notify import NotifyWorker  # startup: only runbooks with webhooks load it

            notifier = NotifyWorker(log, runbook).start()
        self._follow(log, notifier)

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def _follow(self, log: Any, notifier: Any = None) -> None:
        from cockpit.core.log.follow import follower_for  # startup: the release is open by now

        worker = get_current_worker()
        follower = follower_for(log)
        try:
            while not worker.is_cancelled:
                if follower.wait(FOLLOW_TIMEOUT) and not worker.is_cancelled:
                    if notifier is not None:
                        notifier.poke()
                    try:
                        self.call_from_thread(self.catch_up)  # type: ignore[attr-defined]
                    except RuntimeError:  # the app is closing
                        return
        finally:
            follower.close()
            if notifier is not None:
                notifier.stop(timeout=1.0)

    @work(group="catch-up", exit_on_error=False)
    async def catch_up(self) -> None:
        session = self.live_session()
        if session is None:
            return
        news = await session.catch_up()
        if news:
            self.release_changed(news)
