"""The release's watched windows on the cutover screen: one row per guardrail window — its state, time
left, last value against its limit, baseline, failed samples, who samples it — beside a sparkline of its
samples; and the breach banner, which offers the rollback wizard when the breach's action left the
stage's flags on (an `alert` guardrail, or a `kill` whose flags did not all go off).

What is drawn comes from the release's state (the log, as any cockpit folds it), or, while this cockpit's
own watcher holds the watch lease, from the watcher's windows (every sample, not only the changes the
log keeps).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from cockpit.core.checks.compare import show_number
from cockpit.runbook.durations import countdown
from cockpit.runbook.textsafe import printable

if TYPE_CHECKING:
    from cockpit.core.guardrail import WindowState
    from cockpit.core.session import ReleaseSession

HERE = "this cockpit"
"""The sampler named when this cockpit's own watcher holds the environment's watch lease."""
NOBODY = "nobody — start `cockpit watch`"

STATE_STYLE = {"passing": "bold green", "failing": "bold red", "inconclusive": "bold yellow", "pending": "dim"}
CLOSED_TEXT = {"clean": ("passed clean", "bold green"), "stopped": ("stopped", "dim"),
               "overridden": ("overridden", "bold yellow"), "breached": ("breached", "bold white on red")}


def _n(v: float | None) -> str:
    return "no data" if v is None else show_number(v)


def spark_data(samples: list[float | None]) -> list[float]:
    """Textual's Sparkline draws a bar for every bucket and has no gaps: a sample without data (None) is
    drawn as 0, the floor; the row's state says when the samples were inconclusive."""
    return [0.0 if v is None else float(v) for v in samples]


def window_lines(w: WindowState, now: datetime, sampler: str) -> Text:
    """Three lines: what it watches and how it stands; the last value against its limit; the baseline and
    who samples it."""
    t = Text()
    t.append(printable(f"{w.stage}/{w.check}", one_line=True), style="bold")
    t.append("  ")
    if w.breached_at is not None:
        t.append(" BREACHED ", style="bold white on red")
        t.append(f"  {w.failures}/{w.failure_limit} failed")
        done = ("kill switch hit" if w.on_breach == "kill" else "alert raised") if w.acted else \
            f"{w.on_breach} pending"
        who, style = f"breached {w.breached_at:%H:%M:%S}, {done}", "bold red"
    elif w.closed is not None:
        text, closed_style = CLOSED_TEXT.get(w.closed, (w.closed, "dim"))
        t.append(text, style=closed_style)
        t.append(f"  {w.failures}/{w.failure_limit} failed")
        who, style = "window over", "dim"
    else:
        t.append(w.state, style=STATE_STYLE.get(w.state, ""))
        t.append(f"  {w.failures}/{w.failure_limit} failed  ")
        t.append(f"{countdown(w.left(now))} left", style="bold")
        who, style = f"sampled by {printable(sampler or NOBODY, one_line=True)}", "dim" if sampler else "yellow"
    t.append("\nlast ")
    t.append(_n(w.last_value), style="bold")
    t.append(" against ")
    t.append(printable(w.limit_text or "its check", one_line=True))
    t.append(f"\nbaseline {_n(w.baseline)} · ", style="dim")
    t.append(who, style=style)
    return t


class WindowText(Widget):
    """A window's three lines; a line longer than its pane ends in an ellipsis (the sparkline keeps its place)."""

    DEFAULT_CSS = "WindowText { height: 3; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._shown: tuple[WindowState, datetime, str] | None = None

    def show(self, w: WindowState, now: datetime, sampler: str) -> None:
        self._shown = (w, now, sampler)
        self.refresh(layout=True)

    def render(self) -> Text:
        if self._shown is None:
            return Text()
        return window_lines(*self._shown)


class WindowRow(Horizontal):
    DEFAULT_CSS = """
    WindowRow { height: auto; }
    WindowRow Sparkline { width: 30; max-width: 30; height: 3; margin-left: 1; }
    WindowRow.-failing Sparkline > .sparkline--max-color { color: $error; }
    WindowRow.-failing Sparkline > .sparkline--min-color { color: $warning 50%; }
    """

    def __init__(self, w: WindowState, now: datetime, sampler: str, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._shown = (w, now, sampler)

    def compose(self) -> ComposeResult:
        yield WindowText()
        yield Sparkline([])

    def on_mount(self) -> None:
        self._draw()

    def show(self, w: WindowState, now: datetime, sampler: str) -> None:
        self._shown = (w, now, sampler)
        if self.children:  # else drawn once mounted
            self._draw()

    def _draw(self) -> None:
        w, now, sampler = self._shown
        self.query_one(WindowText).show(w, now, sampler)
        spark = self.query_one(Sparkline)
        data = spark_data(w.samples)
        if list(spark.data or []) != data:
            spark.data = data
            spark.styles.width = max(len(data), 8)  # a bar a sample until max-width, then a bar per bucket
        self.set_class(w.state == "failing" or w.breached_at is not None, "-failing")


class WindowsPanel(VerticalScroll):
    """Every window of the release, in the runbook's order; hidden while it has none."""

    DEFAULT_CSS = """
    WindowsPanel { height: auto; max-height: 12; padding: 0 1; border-top: solid $primary-darken-2;
                   scrollbar-size-vertical: 1; }
    """

    def show(self, windows: list[WindowState], now: datetime, sampler: str) -> None:
        self.display = bool(windows)
        if not self.is_attached:  # the app is closing: nothing to mount rows into
            return
        rows = {r.id: r for r in self.query(WindowRow)}
        wanted = [_row_id(w) for w in windows]
        for rid, row in rows.items():
            if rid not in wanted:
                row.remove()
        for w, rid in zip(windows, wanted):
            row = rows.get(rid)
            if row is None:
                self.mount(WindowRow(w, now, sampler, id=rid))
            else:
                row.show(w, now, sampler)


def _row_id(w: WindowState) -> str:
    return "window-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in w.key)


# -- the breach banner --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Breach:
    window: WindowState
    text: Text
    reason: str
    """What the rollback wizard is given as its reason."""
    offers_rollback: bool


def breaches(session: ReleaseSession) -> list[Breach]:
    """The release's breaches not yet answered by a rollback, each said as the banner says it."""
    rb = session.state.rollback
    last = {f.flag: f for f in session.state.flips}
    out = []
    for w in session.windows():
        if w.breached_at is None or (rb is not None and rb.started_at >= w.breached_at and rb.covers(w.stage)):
            continue
        flags = session.runbook.stage(w.stage).flags
        still_on = [f for f in flags if (flip := last.get(f)) is not None and flip.after]
        reason = f"guardrail {w.check} on {w.stage} breached: {w.breach_detail}"
        t = Text()
        t.append(" BREACH ", style="bold white on red")
        t.append(printable(f" guardrail {w.check} breached on {w.stage}: {w.breach_detail}", one_line=True))
        if w.on_breach == "kill" and not w.acted:
            t.append(" — turning its flags off now…", style="bold")
            offer = False
        elif w.on_breach == "kill" and not still_on:
            t.append(" — its flags went off by themselves: " + (", ".join(flags) or "none"), style="bold")
            offer = False
        elif w.on_breach == "kill":
            t.append(f" — its flags did NOT all go off ({', '.join(still_on)} still on)", style="bold")
            offer = True
        else:
            t.append(" — alert: nothing was turned off", style="bold")
            offer = True
        if offer:
            t.append("\n ctrl+r (or click here) opens the rollback with this breach as its reason",
                     style="bold yellow")
        out.append(Breach(w, t, printable(reason, one_line=True), offer))
    return out


def rollback_reason(session: ReleaseSession) -> str | None:
    """The reason the rollback wizard opens with: the latest breach that offers it, or None."""
    offered = [b for b in breaches(session) if b.offers_rollback]
    return offered[-1].reason if offered else None


class BreachBanner(Static):
    """Shown while a breach of this release is not answered by a rollback; a click opens the rollback."""

    DEFAULT_CSS = """
    BreachBanner { height: auto; max-height: 6; padding: 0 1; background: $error 25%; }
    """

    def show(self, found: list[Breach]) -> None:
        self.display = bool(found)
        t = Text()
        for i, b in enumerate(found[-3:]):
            if i:
                t.append("\n")
            t.append_text(b.text)
        self.update(t)

    async def on_click(self) -> None:
        await self.app.run_action("rollback")
