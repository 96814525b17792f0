"""The one place a failed worker becomes a notification: never a traceback, never an exit.

Mix `WorkerErrors` into an App or a Screen (before it: `class S(WorkerErrors, Screen)`). A refusal
(ActionRefused: the release's state does not allow the action) is a "Refused" warning; anything
else a "Failed" error naming its type. The text is shown as the characters it holds (printable,
markup=False): an error may quote what a remote server sent.

A screen reacts to a failure of its own (undo bookkeeping, re-render) by overriding
`worker_failed`, not by defining on_worker_state_changed too: Textual calls the handler of every
class in the MRO, so the notification would be shown twice.
"""

from __future__ import annotations

from textual.app import App
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from cockpit.core.refusal import ActionRefused
from cockpit.runbook.textsafe import printable


def notify_error(node: App | Widget, error: BaseException | None) -> None:
    """A refusal as a warning, anything else as an error naming its type; always plain text."""
    if isinstance(error, ActionRefused):
        node.notify(printable(str(error)), title="Refused", severity="warning", markup=False, timeout=10)
    else:
        node.notify(printable(f"{type(error).__name__}: {error}"), title="Failed", severity="error",
                    markup=False, timeout=15)


class WorkerErrors:
    """Mixin for an App or a Screen: failed workers are notified; `worker_failed` is the hook."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        notify_error(self, event.worker.error)  # type: ignore[arg-type]  (mixed into a DOMNode)
        self.worker_failed(event.worker.error, event.worker)

    def worker_failed(self, error: BaseException | None, worker: Worker) -> None:
        """Called after the notification; `worker` says which job failed (its group, its name)."""
