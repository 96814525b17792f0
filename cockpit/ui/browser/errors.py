"""The one place worker failures become a notification (never a traceback on the auditor's screen)."""

from __future__ import annotations

from textual import on
from textual.worker import Worker, WorkerState

from cockpit.runbook.textsafe import printable


class WorkerErrors:
    """Mixin for a Screen: a failed worker is shown as an error notification; `worker_failed`
    lets the screen undo its own bookkeeping (e.g. a page that was being fetched)."""

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        text = printable(str(error) or type(error).__name__).splitlines()[0] if error else "failed"
        self.notify(text, title=f"{event.worker.group or event.worker.name}", severity="error",  # type: ignore[attr-defined]
                    timeout=8)
        self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker) -> None:
        pass
